"""Load and soak of a launched app, as a classroom uses it; prints its figures (recorded in docs/reliability.md).

    python benchmarks/load_soak.py                 # starts `python app.py` on a free port (SRGAN_OFFLINE=1)
    python benchmarks/load_soak.py --soak 50       # a shorter soak

Three phases, each through gradio_client (one client per simulated student):
1. load: 16 `/upscale` requests at once, every result checked to be exactly 4x;
2. fine-tune + load: a 4-step `/finetune` run while 8 `/upscale` requests arrive;
3. soak: N sequential requests, a mix of valid images and tests/reliability_samples.py's broken files
   (a broken file answered with a clear error counts as expected, not as a failure); the server's RSS
   is sampled every few requests, and its growth from request 20 to the end is reported.

The functions are also used by tests/test_reliability_load.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from PIL import Image

SCALE = 4


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    requests: int = 0
    failures: int = 0  # wrong size, unexpected error, or no error where one was due
    refused: int = 0  # broken inputs answered with a clear error, as they should be
    latencies: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        p50, p95 = percentile(self.latencies, 50), percentile(self.latencies, 95)
        return (
            f"| {self.name} | {self.requests} | {self.failures} | {self.refused} | {p50:.2f} | {p95:.2f} | "
            f"{self.peak_rss_mb:.0f} |"
        )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def rss_sampler(pid: int, every_s: float = 0.2) -> Iterator[list[float]]:
    """Sample the RSS of `pid` in a thread while the block runs; yields the list of samples (MB)."""
    samples: list[float] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pid))
            stop.wait(every_s)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def timed_upscale(client, path: Path) -> tuple[float, tuple[int, int], Image.Image]:
    """One `/upscale`: (seconds, input size, the SRGAN column's result)."""
    from gradio_client import handle_file

    start = time.perf_counter()
    out = client.predict(handle_file(str(path)), api_name="/upscale")
    from srgan.images import open_image

    return time.perf_counter() - start, open_image(path).size, Image.open(out[2])  # the size after EXIF rotation


def small_images(folder: Path, n: int) -> list[Path]:
    """`n` small PNGs of different sizes (8..23 x 6..10 pixels), cut from a real photo."""
    from srgan.data import builtin_image_paths, load_rgb

    folder.mkdir(parents=True, exist_ok=True)
    photo = load_rgb(builtin_image_paths()["astronaut"])
    paths = []
    for k in range(n):
        path = folder / f"student{k:02d}.png"
        photo.crop((40 * k, 100, 40 * k + 64, 148)).resize((8 + k, 6 + k % 5)).save(path)
        paths.append(path)
    return paths


def concurrent_upscales(url: str, images: list[Path], *, pid: int | None = None, name: str = "load") -> Phase:
    """Every image upscaled at once, one client (session) each; checks each result is exactly 4x."""
    phase = Phase(name)
    clients = [_client(url) for _ in images]  # connected first: the requests then really arrive together

    def one(k: int) -> bool:
        seconds, (w, h), result = timed_upscale(clients[k], images[k])
        phase.latencies.append(seconds)
        return result.size == (SCALE * w, SCALE * h)

    with rss_sampler(pid) if pid else _nothing() as samples, ThreadPoolExecutor(len(images)) as pool:
        futures = [pool.submit(one, k) for k in range(len(images))]
        for future in futures:
            phase.requests += 1
            try:
                phase.failures += not future.result()
            except Exception as e:
                phase.failures += 1
                phase.notes.append(f"{type(e).__name__}: {e}")
    phase.peak_rss_mb = max(samples, default=0.0)
    return phase


@contextmanager
def _nothing() -> Iterator[list[float]]:
    yield []


def finetune_with_upscales(url: str, images: list[Path], *, pid: int | None = None, steps: int = 4) -> Phase:
    """A short fine-tuning run (MSE, built-in photos) while every image is upscaled concurrently."""
    phase = Phase("fine-tune + upscales")
    trainer = _client(url)
    job = trainer.submit(
        "srresnet", "builtin", None, "mse", steps, 1e-4, 2, 48, 0, "load-test", "en", api_name="/finetune"
    )
    with rss_sampler(pid) if pid else _nothing() as samples:
        load = concurrent_upscales(url, images)
        start = time.perf_counter()
        updates = list(job)
        phase.latencies = load.latencies
    phase.requests, phase.failures, phase.notes = load.requests + 1, load.failures, load.notes
    final = str(updates[-1][4]) if updates else ""
    if not final.startswith("Done"):
        phase.failures += 1
        phase.notes.append(f"fine-tune did not finish: {final[:200]!r}")
    phase.notes.append(f"the fine-tune ended {time.perf_counter() - start:.1f} s after the last upscale")
    phase.peak_rss_mb = max(samples, default=0.0)
    return phase


def soak(
    url: str, pid: int, n: int, folder: Path, *, every: int = 5, progress: Callable | None = None
) -> tuple[Phase, list[tuple[int, float]]]:
    """`n` sequential requests cycling through valid images and broken files.

    Returns:
        The phase and the RSS samples [(request number, MB)], taken every `every` requests.
    """
    from gradio_client.exceptions import AppError
    from reliability_samples import make_samples

    samples = make_samples(folder / "samples")
    broken = [s for s in samples.values() if not s.valid]
    valid = [
        *small_images(folder / "valid", 6),
        samples["rgba.png"].path,
        samples["gray16.png"].path,
        samples["exif_rotated.jpg"].path,
    ]
    mix = [(p, True) for p in valid] + [(s.path, False) for s in broken]  # 9 valid, 5 broken
    phase, rss = Phase("soak, mixed inputs"), []
    client = _client(url)
    for k in range(1, n + 1):
        path, ok = mix[(k - 1) % len(mix)]
        start = time.perf_counter()
        try:
            _, (w, h), result = timed_upscale(client, path)
            good = ok and result.size == (SCALE * w, SCALE * h)
            if not good:
                phase.notes.append(f"request {k} ({path.name}): {'answered a broken file' if not ok else result.size}")
        except AppError as e:  # a clear error: expected for broken files only
            good = not ok and "Traceback" not in str(e)
            phase.refused += not ok
        except Exception as e:
            good = False
            phase.notes.append(f"request {k} ({path.name}): {type(e).__name__}: {e}")
        phase.latencies.append(time.perf_counter() - start)
        phase.requests += 1
        phase.failures += not good
        if k % every == 0 or k == 1:
            rss.append((k, rss_mb(pid)))
            if progress:
                progress(k, rss[-1][1])
    phase.peak_rss_mb = max(mb for _, mb in rss)
    return phase, rss


def growth_percent(rss: list[tuple[int, float]], start: int = 20) -> float:
    """RSS growth from the sample at request `start` (or the last, in a shorter soak) to the last one, in percent."""
    base = baseline_sample(rss, start)[1]
    return 100 * (rss[-1][1] - base) / base


def baseline_sample(rss: list[tuple[int, float]], start: int = 20) -> tuple[int, float]:
    """The first (request, MB) sample at or after request `start`, or the last one (a soak shorter than that)."""
    return next(((k, mb) for k, mb in rss if k >= start), rss[-1])


@contextmanager
def launched_app(*flags: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py` on a free port with a temporary runs folder; yields (URL, process)."""
    from ui.launch import app_subprocess

    runs = tempfile.mkdtemp(prefix="srgan-soak-runs-")
    try:
        with app_subprocess(*flags, runs_dir=runs, log_path=Path(runs) / "app.log") as server:
            yield server
    finally:
        shutil.rmtree(runs, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--soak", type=int, default=200, help="sequential requests in the soak (default 200)")
    p.add_argument("--concurrent", type=int, default=16)
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="srgan-soak-"))
    with launched_app() as (url, proc):
        print(
            f"app pid {proc.pid} at {url}; RSS after start {rss_mb(proc.pid):.0f} MB; {os.cpu_count()} CPU cores",
            flush=True,
        )
        images = small_images(folder / "load", args.concurrent)
        phases = [concurrent_upscales(url, images, pid=proc.pid, name=f"{args.concurrent} concurrent /upscale")]
        phases.append(finetune_with_upscales(url, images[:8], pid=proc.pid))
        soaked, rss = soak(
            url,
            proc.pid,
            args.soak,
            folder,
            progress=lambda k, mb: print(f"  soak request {k}: RSS {mb:.0f} MB", flush=True) if k % 50 == 0 else None,
        )
        phases.append(soaked)
        peak = max(rss_mb(proc.pid), *(ph.peak_rss_mb for ph in phases))
    print("\n| phase | requests | failures | refused (expected) | p50 s | p95 s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for phase in phases:
        print(phase.row())
    first, base = baseline_sample(rss)
    print(
        f"\nsoak RSS: request {first} {base:.0f} MB -> request {rss[-1][0]} "
        f"{rss[-1][1]:.0f} MB: growth {growth_percent(rss):+.1f} %; peak RSS over the whole run {peak:.0f} MB"
    )
    for phase in phases:
        for note in phase.notes:
            print(f"note ({phase.name}): {note}")
    return 1 if any(ph.failures for ph in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
