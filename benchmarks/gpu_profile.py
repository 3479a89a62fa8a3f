"""Where `Upscaler`'s time goes on a GPU at 512x512 -> 2048x2048 (issue #8). Prints figures; not a test.

    python3 benchmarks/gpu_profile.py            # on a CUDA machine

1. The whole call (PIL in, PIL out) in bf16 and fp16, and the network alone on a device tensor, so the
   host-side share (upload, uint8 conversion, download, PIL) is the difference.
2. torch.profiler's table of the CUDA kernels, by total GPU time, for one fp16 call.
3. Two candidate next steps, measured on their own (fp16, the network alone; neither is in `Upscaler` yet):
   the sub-pixel tail with 16 output channels instead of 12 (4 of zeros: tensor-core kernels want multiples
   of 8), and the whole network replayed as one CUDA graph (no per-kernel launch cost).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image

from srgan.engine.inference import Upscaler
from srgan.models import Generator


def median_ms(fn, repeats: int = 20) -> float:
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("gpu_profile.py profiles the CUDA path: this machine has no CUDA device")
    torch.manual_seed(0)
    model = Generator().eval()
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8))
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    for dtype in (torch.bfloat16, torch.float16):
        up = Upscaler(model, device="cuda", dtype=dtype)
        x = torch.rand(1, 3, 512, 512, device="cuda", dtype=dtype).contiguous(memory_format=torch.channels_last)

        def net_only(up=up, x=x) -> None:
            with torch.inference_mode():
                up.model(x)

        whole, net = median_ms(lambda up=up: up(image)), median_ms(net_only)
        print(
            f"{str(dtype):>15}: tile {up.tile_size}, whole call {whole:.2f} ms, network alone {net:.2f} ms, "
            f"host side {whole - net:.2f} ms"
        )
    up = Upscaler(model, device="cuda")  # fp16, as the app runs it
    up(image)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        up(image)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=70))
    for name, candidate in (("tail 12 vs 16 output channels", tail_channels), ("CUDA graph", cuda_graph)):
        try:
            print(f"{name}: {candidate(up)}")
        except Exception as e:  # noqa: BLE001 (a figure not obtained is reported, the others still print)
            print(f"{name}: not measured ({type(e).__name__}: {e})")


def tail_channels(up: Upscaler) -> str:
    """The 5x5 sub-pixel tail (256 -> 12 channels at 1024x1024) as shipped, and padded to 16 output channels."""
    conv = up.model.upsample[-1].tail  # SubPixelTail's winograd.Conv5x5: on CUDA one cuDNN 5x5 convolution
    weight, bias = conv.weight, conv.bias  # (12, 256, 5, 5), (12,)
    padded_w = torch.cat([weight, weight.new_zeros(4, *weight.shape[1:])])
    padded_b = torch.cat([bias, bias.new_zeros(4)])
    x = torch.rand(1, weight.shape[1], 1024, 1024, device="cuda", dtype=weight.dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        t12 = median_ms(lambda: torch.nn.functional.conv2d(x, weight, bias, padding=2))
        t16 = median_ms(lambda: torch.nn.functional.conv2d(x, padded_w, padded_b, padding=2)[:, :12])
    return f"{t12:.2f} ms with 12, {t16:.2f} ms with 16 (then sliced to 12)"


def cuda_graph(up: Upscaler) -> str:
    """The network on a 512x512 fp16 input, eager and replayed from a captured CUDA graph."""
    x = torch.rand(1, 3, 512, 512, device="cuda", dtype=up.dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        eager = median_ms(lambda: up.model(x))
        side = torch.cuda.Stream()  # warm-up on a side stream before capture, as torch.cuda.graphs asks
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                up.model(x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            y = up.model(x)
        graph.replay()
        torch.cuda.synchronize()
        same = torch.equal(y, up.model(x))
        replay = median_ms(graph.replay)
    return f"eager {eager:.2f} ms, graph replay {replay:.2f} ms (same output: {same})"


if __name__ == "__main__":
    main()
