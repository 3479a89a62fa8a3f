"""Where `Upscaler`'s time goes on a GPU at 512x512 -> 2048x2048 (issue #8). Prints figures; not a test.

    python3 benchmarks/gpu_profile.py            # on a CUDA machine

1. The whole call (PIL in, PIL out) in bf16 and fp16, and the network alone on a device tensor, so the
   host-side share (upload, uint8 conversion, download, PIL) is the difference.
2. torch.profiler's table of the CUDA kernels, by total GPU time, for one bf16 call.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image

from srgan.inference import Upscaler
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
        print(f"{str(dtype):>15}: tile {up.tile_size}, whole call {whole:.2f} ms, network alone {net:.2f} ms, "
              f"host side {whole - net:.2f} ms")  # fmt: skip
    up = Upscaler(model, device="cuda")
    up(image)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        up(image)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=70))


if __name__ == "__main__":
    main()
