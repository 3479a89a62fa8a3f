"""One call of a lent GPU: check the package on CUDA, benchmark it, and train the demo weights there.

Usage (on the GPU machine, from the repository root; `$OUT` is the folder whose files come back):

    python3 tools/gpu_session.py --out "$OUT" --stage1-seconds 150 --stage2-seconds 170

What it does, in order, each step bounded in time so that the results always come back:
1. `python -m srgan bench --device cuda` (issue #8): plain fp32 vs `Upscaler` in half precision, 64²-512².
2. The CUDA-relevant tests (`tests/test_inference.py`, `test_models.py`, `test_train.py`), in the background.
3. Stage 1 (SRResNet-MSE), two runs side by side on the one GPU: "scratch" (ICNR init, Adam 2e-4) and
   "continued" (from the bundled CPU-trained SRResNet, Adam 1e-4). A 40-step probe of each measures the
   step rate, and the step counts are chosen to fill the time budget, so the schedule (x0.5 at 75 %)
   is known before the run starts. The exact commands are printed and saved (`commands.txt`).
4. Stage 2 (SRGAN-MSE, Eq. 3), from whichever stage-1 run scores the higher held-out PSNR-Y: batch 16,
   96² patches, Adam 1e-4 then 1e-5 from half-way (the paper's two phases), sized the same way.
5. Packs generators and the discriminator in fp16 with their logs into `results.tar`, cut into
   15 MB parts (the tool returns at most 16 MB per file).

Locally (no GPU) `--device cpu --stage1-seconds 20 --stage2-seconds 20` runs the same steps, tiny.

`--bench-only` (issue #8 on a session that does not train): steps 1 and 2 and `benchmarks/gpu_profile.py`, then
stops; the figures land in `$OUT` as text.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def train_command(
    run: Path,
    *,
    preset: str,
    steps: int,
    learning_rate: float,
    milestone: int,
    gamma: float,
    init_from: str | None,
    device: str,
    every: int,
) -> list[str]:
    cmd = [
        PY,
        "-m",
        "srgan",
        "train",
        "--preset",
        preset,
        "--data",
        "builtin",
        "--steps",
        str(steps),
        "--batch-size",
        "16",
        "--hr-patch",
        "96",
        "--learning-rate",
        str(learning_rate),
        "--lr-milestones",
        str(milestone),
        "--lr-gamma",
        str(gamma),
        "--content-loss",
        "mse",
        "--checkpoint-every",
        str(every),
        "--eval-every",
        str(every),
        "--device",
        device,
        "--out",
        str(run),
        "--resume",
    ]
    if init_from:
        cmd += ["--init-from", init_from]
    return cmd


def start(cmd: list[str], logfile: Path) -> subprocess.Popen:
    env = os.environ | {"SRGAN_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logfile.open("w"), stderr=subprocess.STDOUT)


def wait_all(procs: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.terminate()  # the last checkpoint stays; the log says how far it got
            p.wait()


def read_log(run: Path) -> list[dict]:
    path = run / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def probe_rate(specs: dict[str, dict], work: Path, device: str) -> dict[str, float]:
    """Steps per second of each run when they all train at once (40 steps, discarded)."""
    procs = []
    for name, spec in specs.items():
        run = work / f"probe_{name}"
        cmd = train_command(
            run,
            steps=40,
            milestone=10**9,
            every=10**9,
            device=device,
            **{k: v for k, v in spec.items() if k != "milestone"},
        )
        procs.append(start(cmd, work / f"probe_{name}.txt"))
    wait_all(procs, 240)
    rates = {}
    for name in specs:
        entries = read_log(work / f"probe_{name}")
        # from step 10 on: the first steps include cuDNN's autotuning
        if len(entries) >= 40:
            t10 = 10 / entries[9]["steps_per_second"]
            t40 = 40 / entries[39]["steps_per_second"]
            rates[name] = 30 / max(t40 - t10, 1e-6)
        else:
            rates[name] = 0.0
            log(f"probe {name} failed:\n" + (work / f"probe_{name}.txt").read_text()[-2000:])
    return rates


def stage(specs: dict[str, dict], seconds: float, work: Path, device: str, commands: list[str]) -> None:
    rates = probe_rate(specs, work, device)
    log(f"probe rates (steps/s, all at once): { {k: round(v, 1) for k, v in rates.items()} }")
    procs = []
    for name, spec in specs.items():
        steps = max(50, int(rates[name] * seconds * 0.9) // 50 * 50)
        every = max(50, steps // 20 // 50 * 50)
        milestone = int(steps * spec["milestone"])
        args = {k: v for k, v in spec.items() if k != "milestone"}
        cmd = train_command(work / name, steps=steps, milestone=milestone, every=every, device=device, **args)
        commands.append(f"# {name}: {rates[name]:.1f} steps/s measured\n" + " ".join(cmd[1:]))
        log(f"{name}: {steps} steps")
        procs.append(start(cmd, work / f"{name}.txt"))
    wait_all(procs, seconds + 90)
    for name in specs:
        entries = read_log(work / name)
        evals = [e for e in entries if "eval_psnr_y" in e]
        last = evals[-1] if evals else {}
        log(
            f"{name}: {len(entries)} steps logged; last held-out PSNR-Y {last.get('eval_psnr_y')}, "
            f"grid {last.get('eval_grid')}"
        )


def final_psnr(run: Path) -> float:
    evals = [e["eval_psnr_y"] for e in read_log(run) if "eval_psnr_y" in e]
    return evals[-1] if evals else float("-inf")


def pack(work: Path, out: Path, runs: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from srgan.checkpoints import load_discriminator, load_generator, save_checkpoint

    pack_dir = work / "pack"
    pack_dir.mkdir(exist_ok=True)
    for name in runs:
        run = work / name
        if not (run / "generator.safetensors").is_file():
            continue
        generator, meta = load_generator(run / "generator.safetensors")
        save_checkpoint(
            generator,
            pack_dir / f"{name}_generator.safetensors",
            recipe=meta["recipe"],
            metrics=meta.get("metrics", {}),
            half=True,
        )
        if (run / "discriminator.safetensors").is_file():
            discriminator, dmeta = load_discriminator(run / "discriminator.safetensors")
            save_checkpoint(
                discriminator, pack_dir / f"{name}_discriminator.safetensors", recipe=dmeta["recipe"], half=True
            )
        (pack_dir / f"{name}_log.jsonl").write_bytes((run / "log.jsonl").read_bytes())
    for extra in work.glob("*.txt"):
        (pack_dir / extra.name).write_bytes(extra.read_bytes())
    tar_path = work / "results.tar.gz"
    with tarfile.open(tar_path, "w:gz", compresslevel=1) as tar:
        tar.add(pack_dir, arcname="results")
    data, part = tar_path.read_bytes(), 15 * 2**20
    for k in range(0, len(data), part):
        (out / f"results.tar.gz.part{k // part}").write_bytes(data[k : k + part])
    log(f"packed {len(data) / 2**20:.1f} MB into {(len(data) + part - 1) // part} parts")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--stage1-seconds", type=float, default=150)
    ap.add_argument("--stage2-seconds", type=float, default=170)
    ap.add_argument("--work", type=Path, default=Path("/tmp/srgan_gpu"))
    ap.add_argument(
        "--stage2-from",
        default=None,
        help="skip the benchmark, tests and stage 1: run stage 2 from this generator (a second call)",
    )
    ap.add_argument("--bench-only", action="store_true", help="benchmark, profile and CUDA tests only; no training")
    args = ap.parse_args()
    out, work = args.out, args.work
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"SRGAN_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}

    if args.stage2_from:
        log("profile")
        profile = subprocess.run(
            [PY, "benchmarks/gpu_profile.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        (work / "profile.txt").write_text(profile.stdout + profile.stderr)
        print(profile.stdout[-6000:] or profile.stderr[-3000:], flush=True)
        commands: list[str] = []
        stage2 = {
            "srgan": {
                "preset": "srgan",
                "learning_rate": 1e-4,
                "milestone": 0.5,
                "gamma": 0.1,
                "init_from": args.stage2_from,
            }
        }
        stage(stage2, args.stage2_seconds, work, args.device, commands)
        (work / "commands.txt").write_text("\n\n".join(commands) + "\n")
        pack(work, out, ["srgan"])
        return 0

    sizes = ["64", "128", "256", "512"] if args.device == "cuda" else ["32"]
    log("benchmark")
    bench = subprocess.run(
        [
            PY,
            "-m",
            "srgan",
            "bench",
            "--device",
            args.device,
            "--sizes",
            *sizes,
            "--repeats",
            "10" if args.device == "cuda" else "1",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    (work / "bench.txt").write_text(bench.stdout + bench.stderr)
    if bench.returncode == 0:
        print(json.loads(bench.stdout)["table"], flush=True)
    else:
        log("bench failed:\n" + bench.stderr[-3000:])

    tests = subprocess.Popen(
        [
            PY,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_inference.py",
            "tests/test_fastnet.py",
            "tests/test_models.py",
            "tests/test_train.py",
        ],
        cwd=ROOT,
        env=env | {"SRGAN_DEVICE": args.device},
        stdout=(work / "pytest.txt").open("w"),
        stderr=subprocess.STDOUT,
    )

    if args.bench_only:
        log("profile")
        profile = subprocess.run(
            [PY, "benchmarks/gpu_profile.py"],
            cwd=ROOT,
            env=env | {"PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        print(profile.stdout[-6000:] or profile.stderr[-3000:], flush=True)
        tests.wait(timeout=300)
        print((work / "pytest.txt").read_text()[-3000:], flush=True)
        for name, text in (
            ("bench.txt", bench.stdout + bench.stderr),
            ("profile.txt", profile.stdout + profile.stderr),
            ("pytest.txt", (work / "pytest.txt").read_text()),
        ):
            (out / name).write_text(text)
        return 0

    commands: list[str] = []
    bundled = str(ROOT / "assets/weights/srresnet_x4.safetensors")
    stage1 = {
        "srresnet_scratch": dict(preset="srresnet", learning_rate=2e-4, milestone=0.75, gamma=0.5, init_from=None),
        "srresnet_continued": dict(preset="srresnet", learning_rate=1e-4, milestone=0.75, gamma=0.5, init_from=bundled),
    }
    log("stage 1")
    stage(stage1, args.stage1_seconds, work, args.device, commands)
    best = max(stage1, key=lambda name: final_psnr(work / name))
    log(f"stage 2 starts from {best} ({final_psnr(work / best):.2f} dB)")
    init = str(work / best / "generator.safetensors")
    if final_psnr(work / best) == float("-inf"):  # neither stage-1 run got to a checkpoint
        init = bundled
    stage2 = {"srgan": dict(preset="srgan", learning_rate=1e-4, milestone=0.5, gamma=0.1, init_from=init)}
    stage(stage2, args.stage2_seconds, work, args.device, commands)
    (work / "commands.txt").write_text("\n\n".join(commands) + "\n")

    try:
        tests.wait(timeout=30)
    except subprocess.TimeoutExpired:
        tests.terminate()
    print((work / "pytest.txt").read_text()[-1500:], flush=True)
    pack(work, out, [*stage1, "srgan"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
