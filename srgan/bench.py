"""`python -m srgan bench`: the plain eager generator vs `Upscaler`, measured in one run.

Figures, not tests: times are medians of `repeats` runs after a warm-up; GFLOP counts every
convolution's multiply-adds (x2); the fp32 matmul peak is measured in the same run, so the fraction of
peak compares like with like on whatever machine runs it.
"""

from __future__ import annotations

import platform
import time

import numpy as np
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


def _median_seconds(fn, repeats: int, device: torch.device = torch.device("cpu")) -> float:
    def run() -> None:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # CUDA work is asynchronous: wait for it before reading the clock

    run()  # warm-up (allocations, oneDNN / cuDNN kernel selection)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def matmul_peak_gflops(n: int = 2048, repeats: int = 3, *, device: torch.device = torch.device("cpu"),
                       dtype: torch.dtype = torch.float32) -> float:  # fmt: skip
    """GFLOP/s of an n x n matmul: the ceiling for a direct convolution in that precision on that device."""
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.rand(n, n, generator=g).to(device, dtype)  # random data: zeros run faster than real data
    b = torch.rand(n, n, generator=g).to(device, dtype)
    return 2 * n**3 / _median_seconds(lambda: a @ b, repeats, device) / 1e9


def run_bench(*, sizes: list[int], repeats: int = 3, model: Generator | None = None, device: str = "cpu") -> dict:
    """Time the plain eager forward and `Upscaler` for square LR inputs of each size.

    On CUDA the plain forward is fp32 (TF32 off, as PyTorch ships for matmuls) and `Upscaler` runs in
    half precision; the table then also gives the largest difference from the plain output in 8-bit
    levels and the fraction of the measured bf16 tensor-core matmul peak.
    """
    dev = torch.device(device)
    if model is None:
        torch.manual_seed(0)
        model = Generator().eval()  # same cost as the trained weights
    flop_per_pixel = conv_flops(model, 16, 16) / 256  # every conv is stride-1 "same": cost grows with H x W
    model = model.to(dev)
    upscaler = Upscaler(model, device=str(dev))
    cuda = dev.type == "cuda"
    peak = matmul_peak_gflops(8192 if cuda else 2048, device=dev)
    half_peak = matmul_peak_gflops(8192, repeats=10, device=dev, dtype=upscaler.dtype) if cuda else None
    rows = []
    for size in sizes:
        g = torch.Generator(device="cpu").manual_seed(size)
        x = torch.rand(1, 3, size, size, generator=g)
        image = Image.fromarray((x[0].permute(1, 2, 0).numpy() * 255).astype("uint8"))
        x = (torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255).to(dev)

        def plain() -> torch.Tensor:
            with torch.no_grad():
                return model(x)

        t_plain = _median_seconds(plain, repeats, dev)
        t_fast = _median_seconds(lambda: upscaler(image), max(repeats, 10) if cuda else repeats, dev)
        reference = plain()[0].clamp(-1, 1).add(1).mul(127.5).round().permute(1, 2, 0).cpu().numpy()
        diff = np.abs(np.asarray(upscaler(image)).astype(np.float64) - reference)
        gflop = flop_per_pixel * size * size / 1e9
        row = {"size": size, "gflop": round(gflop, 2), "plain_ms": round(t_plain * 1e3, 2),
               "upscaler_ms": round(t_fast * 1e3, 2), "speedup": round(t_plain / t_fast, 2),
               "upscaler_gflops": round(gflop / t_fast, 1),
               "fraction_of_matmul_peak": round(gflop / t_fast / (half_peak or peak), 3),
               "max_diff_levels": float(diff.max()), "pixels_off_by_more_than_1": float((diff > 1).mean())}  # fmt: skip
        rows.append(row)
    name = torch.cuda.get_device_name(dev) if cuda else (platform.processor() or platform.machine())
    precision = str(upscaler.dtype).replace("torch.", "")
    head = (f"machine: {name}, torch {torch.__version__}; fp32 matmul peak {peak:.0f} GFLOP/s"
            + (f", {precision} matmul peak {half_peak:.0f} GFLOP/s; Upscaler in {precision}" if cuda
               else f", {torch.get_num_threads()} threads"))  # fmt: skip
    lines = [head, f"{'LR size':>8}{'GFLOP':>8}{'plain ms':>10}{'Upscaler ms':>13}{'speed-up':>10}{'GFLOP/s':>10}"
                   f"{'of peak':>9}{'max diff':>10}"]  # fmt: skip
    for r in rows:
        lines.append(f"{r['size']:>8}{r['gflop']:>8}{r['plain_ms']:>10}{r['upscaler_ms']:>13}{r['speedup']:>10}"
                     f"{r['upscaler_gflops']:>10}{r['fraction_of_matmul_peak']:>9.0%}{r['max_diff_levels']:>10.0f}")  # fmt: skip
    return {"device": name, "torch": torch.__version__, "matmul_peak_gflops": round(peak, 1),
            "half_matmul_peak_gflops": round(half_peak, 1) if half_peak else None,
            "threads": torch.get_num_threads(), "rows": rows, "table": "\n".join(lines)}  # fmt: skip
