"""`python -m srgan bench`: the plain eager generator vs `Upscaler`, measured in one run.

Figures, not tests: times are medians of `repeats` runs after a warm-up; GFLOP counts every
convolution's multiply-adds (x2); the fp32 matmul peak is measured in the same run, so the fraction of
peak compares like with like on whatever machine runs it.
"""

from __future__ import annotations

import copy
import platform
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from .engine.inference import Upscaler, cpu_has_fast_bf16
from .engine.winograd import kernel_enabled, kernel_status
from .models import Generator
from .peers import peer_lines, peer_row, peer_runners


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


def matmul_peak_gflops(
    n: int = 2048, repeats: int = 3, *, device: torch.device = torch.device("cpu"), dtype: torch.dtype = torch.float32
) -> float:
    """GFLOP/s of an n x n matmul: the ceiling for a direct convolution in that precision on that device."""
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.rand(n, n, generator=g).to(device, dtype)  # random data: zeros run faster than real data
    b = torch.rand(n, n, generator=g).to(device, dtype)
    return 2 * n**3 / _median_seconds(lambda: a @ b, repeats, device) / 1e9


def run_bench(
    *, sizes: list[int], repeats: int = 3, model: Generator | None = None, device: str = "cpu", peers: bool = False
) -> dict:
    """Time the plain eager forward and `Upscaler` for square LR inputs of each size.

    With `peers` (CPU only), the same network on the same inputs through ONNX Runtime and OpenVINO too, where
    installed (`srgan.peers`), timed the same way in the same run.

    The plain forward runs first, before `Upscaler` changes process-wide settings (the allocator, see
    `fastnet.keep_freed_memory`), and once more after them ("same allocator"), so both ratios are reported.

    On CUDA the plain forward is fp32 (TF32 off, as PyTorch ships for matmuls) and `Upscaler` runs in
    half precision; the table then also gives the largest difference from the plain output in 8-bit
    levels and the fraction of the measured bf16 tensor-core matmul peak.
    """
    dev = torch.device(device)
    model = _bench_model(model)
    # Every conv is stride-1 "same", so the cost grows with H x W: count it once at 16x16.
    flop_per_pixel = conv_flops(model, torch.zeros(1, 3, 16, 16)) / 256
    model = model.to(dev)
    cuda = dev.type == "cuda"
    peak = matmul_peak_gflops(8192 if cuda else 2048, device=dev)
    plain = [_plain_forward(model, size, repeats, dev) for size in sizes]  # before Upscaler: a user's script's state
    # Upscaler changes process-wide settings (glibc keeps freed memory: `fastnet.keep_freed_memory`), which
    # also speed up the plain model; timing that again afterwards says how much of the gap they make.
    upscaler = Upscaler(model, device=str(dev))
    half_peak = matmul_peak_gflops(8192, repeats=10, device=dev, dtype=upscaler.dtype) if cuda else None
    rows = [_bench_row(model, upscaler, p, flop_per_pixel, half_peak or peak, repeats, dev) for p in plain]
    missing = _add_peers(model, plain, rows, repeats) if peers and not cuda else []
    name = torch.cuda.get_device_name(dev) if cuda else (platform.processor() or platform.machine())
    precision = str(upscaler.dtype).replace("torch.", "")
    head = f"machine: {name}, torch {torch.__version__}; fp32 matmul peak {peak:.0f} GFLOP/s" + (
        f", {precision} matmul peak {half_peak:.0f} GFLOP/s; Upscaler in {precision}"
        if cuda
        else f", {torch.get_num_threads()} threads; {kernel_status()}"
    )
    return {
        "device": name,
        "torch": torch.__version__,
        "matmul_peak_gflops": round(peak, 1),
        "half_matmul_peak_gflops": round(half_peak, 1) if half_peak else None,
        "threads": torch.get_num_threads(),
        "rows": rows,
        "table": _bench_table(head, rows, winograd_note=not cuda and kernel_enabled())
        + ("\n" + "\n".join(peer_lines(rows, missing)) if peers else ""),
    }


def _add_peers(model: Generator, plain: list[_PlainRun], rows: list[dict], repeats: int) -> list[str]:
    """Time each installed peer runtime on each size's input (rows gain "peers"); returns the missing ones' lines."""
    runners, missing = peer_runners(model, threads=torch.get_num_threads())

    def timer(fn) -> float:
        return _median_seconds(fn, repeats)

    for p, row in zip(plain, rows):
        row["peers"] = [
            peer_row(name, run, p.x, p.reference, timer, p.ms / 1e3, row["upscaler_ms"] / 1e3)
            for name, run in runners.items()
        ]
    return missing


def _bench_model(model: Generator | None) -> Generator:
    """The model to time: the one given, else the bundled SRGAN (its activations, not random ones, decide the
    rounding differences), else a random `Generator` of the same cost."""
    if model is not None:
        return model
    from .checkpoints import CheckpointError, load_pretrained

    try:
        return copy.deepcopy(load_pretrained("srgan")).eval()
    except (CheckpointError, FileNotFoundError):
        torch.manual_seed(0)
        return Generator().eval()  # same cost


@dataclass
class _PlainRun:
    """One size's input and the plain eager forward on it, measured before `Upscaler` exists."""

    size: int
    image: Image.Image  # the random LR input, 8-bit
    x: torch.Tensor  # the same, as the model's input
    ms: float  # median time of the plain forward
    reference: np.ndarray  # its output in 8-bit levels (H, W, 3), what `Upscaler` is compared with


def _plain_forward(model: Generator, size: int, repeats: int, dev: torch.device) -> _PlainRun:
    """Time the plain forward on a random `size` x `size` input, and keep its 8-bit output."""
    g = torch.Generator(device="cpu").manual_seed(size)
    x = torch.rand(1, 3, size, size, generator=g)
    image = Image.fromarray((x[0].permute(1, 2, 0).numpy() * 255).astype("uint8"))
    x = (torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255).to(dev)

    def plain() -> torch.Tensor:
        with torch.no_grad():
            return model(x)

    ms = _median_seconds(plain, repeats, dev) * 1e3
    reference = plain()[0].clamp(-1, 1).add(1).mul(127.5).round().permute(1, 2, 0).cpu().numpy()
    return _PlainRun(size, image, x, ms, reference)


def _bench_row(
    model: Generator,
    upscaler: Upscaler,
    p: _PlainRun,
    flop_per_pixel: float,
    peak: float,
    repeats: int,
    dev: torch.device,
) -> dict:
    """One size's row: `Upscaler` against the plain forward (before and after `Upscaler`'s settings), bf16 too."""
    cuda = dev.type == "cuda"
    t_plain = p.ms / 1e3
    t_fast = _median_seconds(lambda: upscaler(p.image), max(repeats, 10) if cuda else repeats, dev)
    with torch.no_grad():
        t_plain_after = _median_seconds(lambda: model(p.x), repeats, dev)
    diff = np.abs(np.asarray(upscaler(p.image)).astype(np.float64) - p.reference)
    gflop = flop_per_pixel * p.size * p.size / 1e9
    bf16 = {}
    if not cuda and cpu_has_fast_bf16():  # the opt-in: faster, but not within one level everywhere
        upscaler_bf16 = Upscaler(model, device="cpu", dtype=torch.bfloat16)
        t_bf16 = _median_seconds(lambda: upscaler_bf16(p.image), repeats)
        diff_bf16 = np.abs(np.asarray(upscaler_bf16(p.image)).astype(np.float64) - p.reference)
        bf16 = {
            "bf16_ms": round(t_bf16 * 1e3, 2),
            "bf16_speedup": round(t_plain / t_bf16, 2),
            "bf16_max_diff_levels": float(diff_bf16.max()),
            "bf16_pixels_off_by_more_than_1": float((diff_bf16 > 1).mean()),
        }
    return {
        "size": p.size,
        "gflop": round(gflop, 2),
        "plain_ms": round(t_plain * 1e3, 2),
        "upscaler_ms": round(t_fast * 1e3, 2),
        "speedup": round(t_plain / t_fast, 2),
        "plain_ms_same_allocator": round(t_plain_after * 1e3, 2),
        "speedup_same_allocator": round(t_plain_after / t_fast, 2),
        "upscaler_gflops": round(gflop / t_fast, 1),
        "fraction_of_matmul_peak": round(gflop / t_fast / peak, 3),
        "max_diff_levels": float(diff.max()),
        "pixels_off_by_more_than_1": float((diff > 1).mean()),
        **bf16,
    }


def _bench_table(head: str, rows: list[dict], *, winograd_note: bool) -> str:
    """The rows as the text table `python -m srgan bench` prints (a second table for the opt-in bf16)."""
    lines = [
        head,
        f"{'LR size':>8}{'GFLOP':>8}{'plain ms':>10}{'Upscaler ms':>13}{'speed-up':>10}{'GFLOP/s':>10}"
        f"{'of peak':>9}{'max diff':>10}{'plain ms, same allocator':>26}{'speed-up':>10}",
    ]
    for r in rows:
        lines.append(
            f"{r['size']:>8}{r['gflop']:>8}{r['plain_ms']:>10}{r['upscaler_ms']:>13}{r['speedup']:>10}"
            f"{r['upscaler_gflops']:>10}{r['fraction_of_matmul_peak']:>9.0%}{r['max_diff_levels']:>10.0f}"
            f"{r['plain_ms_same_allocator']:>26}{r['speedup_same_allocator']:>10}"
        )
    if winograd_note:
        lines.append(
            "GFLOP/s is nominal (the plain model's multiply-adds x 2): the Winograd 3x3 convolutions multiply "
            "4x less, so it can pass the matmul peak"
        )
    if any("bf16_ms" in r for r in rows):
        lines += [
            "opt-in bf16 on this CPU (Upscaler(dtype=torch.bfloat16)):",
            f"{'LR size':>8}{'bf16 ms':>10}{'speed-up':>10}{'max diff':>10}{'pixels > 1 level':>18}",
        ]
        lines += [
            f"{r['size']:>8}{r['bf16_ms']:>10}{r['bf16_speedup']:>10}{r['bf16_max_diff_levels']:>10.0f}"
            f"{r['bf16_pixels_off_by_more_than_1']:>18.4%}"
            for r in rows
            if "bf16_ms" in r
        ]
    return "\n".join(lines)


def peak_rss_of_upscale(side: int, *, model: str = "srgan") -> dict:
    """Peak resident memory (RSS) of one process that upscales a random `side` x `side` image on the CPU.

    Runs in a fresh Python process so that the figure is that upscale's alone (interpreter, torch and
    the weights included), read from the kernel's high-water mark (`ru_maxrss`).
    """
    import json
    import subprocess
    import sys

    code = (
        "import json, resource, time, numpy as np; from PIL import Image\n"
        "from srgan.engine.inference import upscaler_for\n"
        f"up = upscaler_for({model!r}, device='cpu')\n"
        f"image = Image.fromarray(np.random.default_rng(0).integers(0, 256, ({side}, {side}, 3), dtype=np.uint8))\n"
        "t = time.perf_counter(); out = up(image); seconds = time.perf_counter() - t\n"
        "print(json.dumps({'output': list(out.size), 'seconds': seconds, "
        "'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"input": [side, side], **json.loads(result.stdout.strip().splitlines()[-1])}


def layer_profile(model: Generator, size: int, repeats: int = 3) -> list[dict]:
    """Time spent in each part of the generator as `Upscaler` runs it (CPU, channels_last) at `size`², and its GFLOP/s.

    Returns rows for the head (9x9 conv), the residual blocks, the body's last conv, the first upsampling
    block (conv to 4C channels + PixelShuffle + PReLU), and the two parts of `SubPixelTail`: the last upsampling
    conv (+ PReLU) and the tail moved before the PixelShuffle. GFLOP is nominal for the Winograd 3x3
    convolutions (see `conv_flops`) and real for the others (the sub-pixel tail does 24 % more than the 9x9 one).
    """
    from .engine.inference import prepare_for_inference

    fast = prepare_for_inference(model).to(memory_format=torch.channels_last)
    last = fast.upsample[1]  # SubPixelTail: its two convolutions, timed apart (one band at this size)
    parts = {
        "head (9x9, 3->64)": fast.head,
        "16 residual blocks (3x3, 64->64)": fast.residual_blocks,
        "body tail (3x3)": fast.body_tail,
        "upsample 1 (3x3, 64->256, x2)": fast.upsample[0],
        "upsample 2 (3x3, 64->256)": last.conv,
        "tail (5x5 sub-pixel, 256->12, x2)": nn.Sequential(last.tail, last.shuffle),
    }
    x = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        inputs, y = {}, x
        head_out = None
        for name, part in parts.items():  # record each part's input once
            inputs[name] = y
            y = part(y)
            if name.startswith("head"):
                head_out = y
            if name.startswith("body"):
                y = y + head_out  # the long skip connection (Fig. 4)
        rows = []
        for name, part in parts.items():
            gflop = conv_flops(part, inputs[name]) / 1e9
            seconds = _median_seconds(lambda part=part, name=name: part(inputs[name]), repeats)
            ms, gflops = round(seconds * 1e3, 1), round(gflop / seconds, 1)
            rows.append({"part": name, "ms": ms, "gflop": round(gflop, 2), "gflops": gflops})
    return rows


def conv_flops(module: nn.Module, x: torch.Tensor) -> float:
    """Floating-point operations (2 x multiply-adds) of the convolutions `module` runs on the input `x`.

    Counted by PyTorch's `FlopCounterMode` on every aten convolution call, so the row bands of
    `fastnet.SubPixelTail` count with their rows of context. A `winograd.Conv3x3` that runs the C kernel
    or a `winograd.Conv5x5` counts as the direct convolution it replaces (nominal FLOPs: the kernel itself
    multiplies 4x, and 2.8x, less).
    """
    from torch.utils.flop_counter import FlopCounterMode

    from .engine.winograd import Conv3x3, Conv5x5

    kernel_flops = [0.0]

    def count(conv: Conv3x3 | Conv5x5, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        if conv._use_kernel(args[0], kwargs.get("skip")):  # the aten counter does not see the C kernel
            kernel_flops[0] += conv.direct_flops(out)

    nested = {id(m.blocks) for m in module.modules() if isinstance(m, Conv5x5)}  # counted as their 5x5
    hooks = [
        m.register_forward_hook(count, with_kwargs=True)
        for m in module.modules()
        if isinstance(m, (Conv3x3, Conv5x5)) and id(m) not in nested
    ]
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.no_grad():
            module(x)
    finally:
        for hook in hooks:
            hook.remove()
    return float(counter.get_total_flops()) + kernel_flops[0]


def training_samples_per_second(
    *, steps: int = 6, batch_size: int = 16, hr_patch: int = 96, preset: str = "srresnet"
) -> float:
    """HR patches per second of the training loop on the CPU (random built-in crops, after one warm-up step)."""
    import tempfile

    from .config import TrainConfig
    from .data import load_training_images
    from .training import train

    images, names = load_training_images("builtin", min_size=hr_patch)
    make = TrainConfig.preset_srresnet if preset == "srresnet" else TrainConfig.preset_srgan
    times: list[float] = []
    last = [time.perf_counter()]

    def tick(_entry) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    with tempfile.TemporaryDirectory() as out:
        config = make(
            steps=steps,
            batch_size=batch_size,
            hr_patch=hr_patch,
            content_loss="mse",
            checkpoint_every=10**6,
            eval_every=10**6,
        )
        train(config, images=images, image_names=names, out_dir=out, progress=False, device="cpu", callback=tick)
    return batch_size / (sum(times[1:]) / len(times[1:]))
