"""Each rewrite of srgan/engine/fastnet.py on and off, at a 128x128 input on the CPU (figures, not a test).

    .venv/bin/python benchmarks/fastnet_ablation.py

Prints, as docs/benchmarks.md quotes them (medians of interleaved calls, so both sides see the same machine):
1. `SubPixelTail` row bands: the last upsampling block + tail for several band sizes, and unbanded (bands
   are there to bound memory with large tiles; this says what they cost in speed);
2. the whole prepared network in fresh processes with glibc's default allocator, and with `keep_freed_memory`;
3. a 256x256 image in 192-pixel tiles (the old CPU default) against the tile the free memory allows;
4. Winograd F(4x4, 3x3) (Lavin & Gray 2016) for one 3x3 convolution: oneDNN's direct convolution, the
   algorithm written with PyTorch ops (the transforms cost memory passes), and srgan/engine/kernels/winograd.c;
   and the sub-pixel tail (5x5, 256 -> 12) direct against `winograd.Conv5x5`;
5. the whole prepared network in fresh processes with the Winograd kernel off (SRGAN_WINOGRAD=0) and on.

Two rewrites tried in this round are not in fastnet.py because this script found them neutral: the tail padded
from 12 to 16 output channels (16.3 against 16.2 ms per band) and oneDNN's fused conv + skip addition for the
residual blocks (190.3 against 189.6 ms).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from srgan.engine import fastnet
from srgan.engine.inference import Upscaler
from srgan.engine.winograd import A_T, B_T, Conv3x3, Conv5x5, winograd_weight
from srgan.models import Generator

CL = torch.channels_last


def medians(fns: dict, n: int = 7) -> dict[str, float]:
    """Milliseconds per call, median of n rounds in which every function runs once (interleaved)."""
    for f in fns.values():
        f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(n):
        for k, f in fns.items():
            start = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - start)
    return {k: round(sorted(v)[n // 2] * 1e3, 1) for k, v in times.items()}


def band_sizes(fast: Generator) -> dict[str, float]:
    tail, x = fast.upsample[-1], torch.rand(1, 64, 256, 256).contiguous(memory_format=CL)

    def run(mib: float) -> None:
        fastnet._BAND_BYTES = int(mib * 2**20)
        tail(x)

    default = fastnet._BAND_BYTES
    try:
        return medians({f"{m} MB bands" if m < 1e3 else "unbanded": (lambda m=m: run(m)) for m in (4, 16, 32, 64, 1e6)})
    finally:
        fastnet._BAND_BYTES = default


# One fresh process: the prepared network at 128², the median of 5 calls after a warm-up, in ms; argv[1] says
# whether glibc keeps freed memory.
NETWORK_MS = (
    "import sys, time, torch; from srgan.engine import fastnet; from srgan.models import Generator\n"
    "if sys.argv[1] == 'keep': fastnet.keep_freed_memory()\n"
    "torch.manual_seed(0); f = fastnet.prepare_for_inference(Generator().eval()).to(memory_format=torch.channels_last)\n"
    "x = torch.rand(1, 3, 128, 128).contiguous(memory_format=torch.channels_last); ts = []\n"
    "with torch.inference_mode():\n"
    "    for _ in range(6): t = time.perf_counter(); f(x); ts.append(time.perf_counter() - t)\n"
    "print(sorted(ts[1:])[2] * 1e3)"
)


def fresh_processes(variants: dict[str, tuple[str, dict[str, str]]], rounds: int = 3) -> dict[str, float]:
    """NETWORK_MS for each variant, name -> (allocator "keep" or "default", environment), alternating; medians."""
    root = Path(__file__).resolve().parent.parent
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (allocator, env) in variants.items():
            result = subprocess.run(
                [sys.executable, "-c", NETWORK_MS, allocator],
                cwd=root,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=True,
            )
            times[name].append(float(result.stdout))
    return {name: round(sorted(v)[len(v) // 2], 1) for name, v in times.items()}


def tiles(model: Generator) -> dict[str, float]:
    image = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    old, new = Upscaler(model, device="cpu", tile_size=192), Upscaler(model, device="cpu")
    return medians({"192-pixel tiles": lambda: old(image), f"{new.tile_size}-pixel tiles": lambda: new(image)}, n=3)


def winograd_conv3x3(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """3x3 "same" convolution of a channels_last (1, C, H, W) input; u = G g G^T as (36, C, O)."""
    _, c, h, w = x.shape
    th, tw = -(-h // 4), -(-w // 4)
    padded = x.new_zeros(4 * th + 2, 4 * tw + 2, c)
    padded[1 : h + 1, 1 : w + 1] = x[0].permute(1, 2, 0)  # (H, W, C), zero border
    d = padded.unfold(0, 6, 4).unfold(1, 6, 4).permute(3, 4, 0, 1, 2).reshape(36, -1)  # (36, tiles·C)
    v = (torch.kron(B_T, B_T).float() @ d).view(36, th * tw, c)  # input transform
    m = torch.bmm(v, u)  # (36, tiles, O): the 36 element-wise products, summed over C, as one batched GEMM
    y = (torch.kron(A_T, A_T).float() @ m.view(36, -1)).view(4, 4, th, tw, -1)  # output transform
    out = y.permute(2, 0, 3, 1, 4).reshape(4 * th, 4 * tw, -1)[:h, :w] + bias  # (H, W, O)
    return out.permute(2, 0, 1)[None]


def winograd() -> dict[str, float]:
    torch.manual_seed(0)
    x = torch.randn(1, 64, 128, 128).contiguous(memory_format=CL)
    weight, bias = torch.randn(64, 64, 3, 3) * 0.05, torch.randn(64)
    u = winograd_weight(weight)  # (36, C, O)
    direct = weight.contiguous(memory_format=CL)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1)
    conv.weight.data, conv.bias.data = weight.clone(), bias.clone()
    kernel = Conv3x3(conv)
    reference = F.conv2d(x, direct, bias, padding=1)
    errors = {
        "PyTorch ops": (winograd_conv3x3(x, u, bias) - reference).abs().max().item(),
        "C kernel": (kernel(x) - reference).abs().max().item(),
    }
    # Each timed on its own, not interleaved: right after a oneDNN call PyTorch's OpenMP threads keep spinning
    # for a while and take a core from the next call (3.9 ms for the kernel when interleaved), and the PyTorch-ops
    # version's large temporaries disturb whatever runs next.
    result = medians({"oneDNN direct": lambda: F.conv2d(x, direct, bias, padding=1)})
    result |= medians({"Winograd F(4x4,3x3), C kernel": lambda: kernel(x)})
    result |= medians({"Winograd F(4x4,3x3), PyTorch ops": lambda: winograd_conv3x3(x, u, bias)})
    tail = torch.nn.Conv2d(256, 12, 5, padding=2)
    x_tail = torch.randn(1, 256, 256, 256).contiguous(memory_format=CL)
    split = Conv5x5(tail)
    result |= medians({"tail 5x5 256->12 at 256², oneDNN direct": lambda: tail(x_tail)}, n=5)
    result |= medians({"tail as four Winograd 3x3s (Conv5x5)": lambda: split(x_tail)}, n=5)
    return {**result, **{f"max abs error, {k}": float(f"{v:.2g}") for k, v in errors.items()}}


def main() -> int:
    torch.manual_seed(0)
    model = Generator().eval()
    fast = fastnet.prepare_for_inference(model).to(memory_format=CL)
    fastnet.keep_freed_memory()  # as `Upscaler` runs; section 4 compares both allocators in fresh processes
    sections = {
        "1. last upsampling block + tail, 128² input (ms)": band_sizes,
        "2. the prepared network at 128², fresh processes (ms)": lambda _: fresh_processes(
            {"glibc default": ("default", {}), "keep_freed_memory": ("keep", {})}
        ),
        "3. 256² image, whole Upscaler (ms)": lambda _: tiles(model),
        "4. one 3x3 64->64 convolution at 128², and the tail (ms)": lambda _: winograd(),
        "5. the prepared network at 128², fresh processes (ms)": lambda _: fresh_processes(
            {"SRGAN_WINOGRAD=0 (oneDNN)": ("keep", {"SRGAN_WINOGRAD": "0"}), "Winograd kernel": ("keep", {})}
        ),
    }
    with torch.inference_mode():
        for title, fn in sections.items():
            print(title, fn(fast), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
