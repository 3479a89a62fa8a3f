"""The plain eager generator, `Upscaler` with each Winograd variant this CPU runs, and the peer runtimes, interleaved.

    .venv/bin/python benchmarks/winograd_variants.py [--size 128] [--rounds 5] [--calls 5] [--variants avx512 avx2]
    .venv/bin/python benchmarks/winograd_variants.py --as-avx2     # the whole process as on an AVX2-only CPU

One process, the bundled SRGAN, one random input: each round times every contender `calls` times in turn, and
the table gives each one's minimum over all rounds (on a shared machine the minimum is the figure least disturbed
by other processes; interleaving gives every contender the same machine state). The variant is switched between
rounds as SRGAN_WINOGRAD=<variant> would (`srgan.engine.winograd.kernel_variant`). ONNX Runtime and OpenVINO run the same
network exported to ONNX, when installed (`pip install -e ".[peers]"`, `srgan.peers`). Max diff is
the largest difference from the plain model's output in 8-bit levels. Figures, not a test.

`--as-avx2` measures, on an AVX-512 CPU, what an AVX2-only laptop runs: PyTorch's own kernels are limited to AVX2
too (ATen's `ATEN_CPU_CAPABILITY=avx2` and oneDNN's `ONEDNN_MAX_CPU_ISA=AVX2`, both read before torch is imported),
so the plain model, and the layers of `Upscaler` that are not the Winograd kernel, run the AVX2 code such a CPU
would; the kernel runs its avx2 variant. ONNX Runtime and OpenVINO have no such switch and keep AVX-512, so the
ratio to the faster peer errs against `Upscaler`.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

AS_AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}  # read once, when torch loads
if "--as-avx2" in sys.argv:
    os.environ.update(AS_AVX2)

import numpy as np  # noqa: E402 (after the environment above)
import torch  # noqa: E402
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srgan.checkpoints import load_pretrained
from srgan.engine import winograd
from srgan.engine.inference import Upscaler
from srgan.peers import peer_runners


def use_variant(variant: str) -> None:
    """Switch the process to one variant of the kernel, as SRGAN_WINOGRAD=<variant> at start would."""
    os.environ["SRGAN_WINOGRAD"] = variant
    winograd.kernel_variant.cache_clear()
    if winograd.kernel_variant() != variant:
        raise SystemExit(winograd.kernel_status())


def levels(y: np.ndarray) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) 8-bit levels, as `Upscaler` rounds them."""
    return np.round((np.clip(y, -1, 1) + 1) * 127.5).transpose(1, 2, 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="side of the square LR input")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=5, help="timed calls per contender and round")
    ap.add_argument("--variants", nargs="*", default=None, help="default: every variant this CPU runs")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--as-avx2", action="store_true", help="PyTorch limited to AVX2 too, as on an AVX2-only CPU")
    args = ap.parse_args()
    if args.as_avx2 and torch.backends.cpu.get_cpu_capability() != "AVX2":
        raise SystemExit(f"--as-avx2: PyTorch runs {torch.backends.cpu.get_cpu_capability()}, not AVX2")
    variants = (["avx2"] if args.as_avx2 else winograd.cpu_variants()) if args.variants is None else args.variants

    model = copy.deepcopy(load_pretrained("srgan")).eval()
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(args.size))
    image = Image.fromarray((x[0].permute(1, 2, 0).numpy() * 255).astype("uint8"))
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255  # exactly the image's values
    with torch.no_grad():
        reference = levels(model(x)[0].numpy())
    peers, missing = ({}, []) if args.no_peers else peer_runners(model, threads=torch.get_num_threads())
    upscaler = Upscaler(model, device="cpu")

    def plain() -> np.ndarray:
        with torch.no_grad():
            return levels(model(x)[0].numpy())

    contenders = {"eager": (None, plain)}
    contenders |= {f"Upscaler, {v}": (v, lambda: np.asarray(upscaler(image)).astype(np.float64)) for v in variants}
    contenders |= {name: (None, lambda run=run: levels(run(x)[0])) for name, run in peers.items()}
    best, diff = dict.fromkeys(contenders, float("inf")), {}
    for _ in range(args.rounds):
        for name, (variant, run) in contenders.items():
            if variant:
                use_variant(variant)
            diff[name] = float(np.abs(run() - reference).max())  # also the warm-up after a switch
            for _ in range(args.calls):
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
    print(
        f"{args.size}² LR input (x4), {torch.get_num_threads()} threads, {platform_name()}, "
        f"min of {args.rounds} rounds x {args.calls} calls, PyTorch's kernels: {torch.backends.cpu.get_cpu_capability()}"
        + (" (--as-avx2: " + " ".join(f"{k}={v}" for k, v in AS_AVX2.items()) + ")" if args.as_avx2 else "")
    )
    print(f"{'':<20}{'min ms':>10}{'vs eager':>10}{'max diff':>10}")
    for name in contenders:
        print(f"{name:<20}{best[name] * 1e3:>10.1f}{best['eager'] / best[name]:>9.2f}x{diff[name]:>10.0f}")
    fastest_peer = min((best[name] for name in peers), default=None)
    for v in variants if fastest_peer else []:
        print(f"Upscaler, {v}: {fastest_peer / best[f'Upscaler, {v}']:.2f}x the faster peer")
    for line in missing:
        print(line)
    return 0


def platform_name() -> str:
    import platform

    return platform.processor() or platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())
