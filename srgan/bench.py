"""`python -m srgan bench`: the plain eager generator vs `Upscaler`, measured in one run.

Figures, not tests: times are medians of `repeats` runs after a warm-up; GFLOP counts every
convolution's multiply-adds (x2); the fp32 matmul peak is measured in the same run, so the fraction of
peak compares like with like on whatever machine runs it.
"""

from __future__ import annotations

import platform
import time

import torch
from PIL import Image
from torch import nn

from .inference import Upscaler
from .models import Generator


def conv_flops(model: nn.Module, height: int, width: int) -> float:
    """Floating-point operations (2 x multiply-adds) of every Conv2d for one (1, 3, H, W) input."""
    total = 0.0

    def hook(module: nn.Conv2d, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += 2.0 * output.numel() * (module.in_channels // module.groups) * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.inference_mode():
        model(torch.zeros(1, 3, height, width))
    for h in handles:
        h.remove()
    return total


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, oneDNN kernel selection)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def matmul_peak_gflops(n: int = 2048, repeats: int = 3) -> float:
    """fp32 GFLOP/s of an n x n matmul on this CPU: the ceiling for a direct convolution."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    return 2 * n**3 / _median_seconds(lambda: a @ b, repeats) / 1e9


def run_bench(*, sizes: list[int], repeats: int = 3, model: Generator | None = None) -> dict:
    """Time the plain eager forward and `Upscaler` for square LR inputs of each size."""
    if model is None:
        torch.manual_seed(0)
        model = Generator().eval()  # same cost as the trained weights
    upscaler = Upscaler(model, device="cpu")
    peak = matmul_peak_gflops()
    rows = []
    for size in sizes:
        x = torch.rand(1, 3, size, size)
        image = Image.fromarray((x[0].permute(1, 2, 0).numpy() * 255).astype("uint8"))

        def plain() -> None:
            with torch.no_grad():
                model(x)

        t_plain = _median_seconds(plain, repeats)
        t_fast = _median_seconds(lambda: upscaler(image), repeats)
        gflop = conv_flops(model, size, size) / 1e9
        rows.append({"size": size, "gflop": round(gflop, 2), "plain_ms": round(t_plain * 1e3, 1),
                     "upscaler_ms": round(t_fast * 1e3, 1), "speedup": round(t_plain / t_fast, 2),
                     "upscaler_gflops": round(gflop / t_fast, 1),
                     "fraction_of_matmul_peak": round(gflop / t_fast / peak, 3)})  # fmt: skip
    lines = [f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
             f"torch {torch.__version__}; fp32 matmul peak {peak:.0f} GFLOP/s",
             f"{'LR size':>8}{'GFLOP':>8}{'plain ms':>10}{'Upscaler ms':>13}{'speed-up':>10}{'GFLOP/s':>9}{'of peak':>9}"]  # fmt: skip
    for r in rows:
        lines.append(f"{r['size']:>8}{r['gflop']:>8}{r['plain_ms']:>10}{r['upscaler_ms']:>13}{r['speedup']:>10}"
                     f"{r['upscaler_gflops']:>9}{r['fraction_of_matmul_peak']:>9.0%}")  # fmt: skip
    return {"matmul_peak_gflops": round(peak, 1), "threads": torch.get_num_threads(), "rows": rows,
            "table": "\n".join(lines)}  # fmt: skip
