"""`Upscaler`: any image in, the generator's x`scale` image out, on the best device, in bounded memory.

What it does to be fast without changing the result (outputs stay within 1/255 of the plain model):

- It runs `fastnet.prepare_for_inference(model)`: the same function with BatchNorm folded and the tail
  convolution moved before the last PixelShuffle, in row bands on the CPU; and on the CPU glibc keeps freed
  memory for reuse, and the 3x3 convolutions (and the tail's 5x5 one) run Winograd's algorithm, with 4x
  fewer multiplies (see `srgan/engine/fastnet.py` and `srgan/engine/winograd.py`).
- channels_last memory format (the CPU and cuDNN convolution kernels prefer NHWC) and
  `torch.inference_mode()`; fp16 on CUDA. fp16 rather than bf16: with the bundled weights fp16 stays
  within one level of fp32 where bf16 (3 fewer mantissa bits) is off by up to 6 (docs/benchmarks.md);
  a tile whose activations overflow fp16's range is recomputed in fp32.
- Tiling: the image is cut into tiles with `tile_overlap` pixels of context on each side; each tile
  is upscaled and only its centre is kept, written straight into a uint8 output. The context covers
  what the convolutions near the tile's centre can see, so no seams show, and memory is bounded by
  the tile size, not the image size.

Alpha channels are upscaled separately with bicubic interpolation (the network only knows RGB);
greyscale images come back greyscale.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from ..cache import LRUCache
from ..data import bicubic_upscale  # noqa: F401 (srgan.bicubic_upscale's old home)
from ..device import pick_device
from ..images import SplitImage, split_image
from ..models import Generator
from .fastnet import (  # noqa: F401 (re-exported: srgan.engine.inference was their home)
    SubPixelTail,
    fold_batchnorm,
    keep_freed_memory,
    prepare_for_inference,
    subpixel_conv_weight,
)

ProgressFn = Callable[[float, str], None]


class Upscaler:
    """Callable that super-resolves images with a `Generator`.

    Args:
        model: the generator (it is copied and prepared once; the original is not modified).
        device: "cuda", "mps", "cpu" or None for automatic (cuda > mps > cpu).
        tile_size: side of the LR tiles in pixels (memory grows with its square); None picks it from the
            device: the largest whose activations fit in a quarter of the free memory, at most 384 on
            the CPU and 1024 on CUDA (`auto_tile_size`).
        tile_overlap: context in LR pixels around each tile (hides the seams).
        fast: fold BN and use channels_last / half precision; False runs the plain model.
        dtype: on CUDA, the half type (default fp16; bf16 is faster nowhere here and less exact). On the CPU the default is
            fp32 (with the Winograd kernel where it runs), within 1/255 of the plain model; `torch.bfloat16` is
            an opt-in for CPUs with bf16 dot-product instructions (AVX512-BF16, AMX) that runs oneDNN's direct
            convolutions in bf16; some pixels then differ by a few levels (docs/benchmarks.md measures both).

    Call:
        upscaler(image, progress=None) -> PIL.Image at exactly scale x the input size.
        `image` is a PIL image in any mode or a numpy array (uint8, uint16 or float in [0, 1]).
    """

    def __init__(
        self,
        model: Generator,
        *,
        device: str | torch.device | None = None,
        tile_size: int | None = None,
        tile_overlap: int = 24,
        fast: bool = True,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.device = pick_device(str(device)) if device is not None else pick_device()
        self.scale = model.scale
        self.dtype = torch.float32
        if fast and self.device.type == "cuda":
            self.dtype = dtype or torch.float16
            torch.backends.cudnn.benchmark = True
        elif fast and dtype is not None:
            if dtype == torch.bfloat16 and not cpu_has_fast_bf16():
                raise ValueError("this CPU has no bf16 dot-product instructions (AVX512-BF16 or AMX): use fp32")
            self.dtype = dtype
        if tile_size is None:
            tile_size = auto_tile_size(self.device, model.scale, torch.finfo(self.dtype).bits // 8)
        if tile_size < 8 or tile_overlap < 0:
            raise ValueError("tile_size must be at least 8 and tile_overlap non-negative")
        self.tile_size, self.tile_overlap = tile_size, tile_overlap
        if fast and self.device.type == "cpu":
            keep_freed_memory()
        prepared = prepare_for_inference(model) if fast else copy.deepcopy(model).eval()
        self.memory_format = torch.channels_last if fast else torch.contiguous_format
        # An fp32 copy (moved to the device only if ever needed) for tiles whose activations overflow fp16.
        self._fp32_fallback = copy.deepcopy(prepared).requires_grad_(False) if self.dtype != torch.float32 else None
        self.model = prepared.to(self.device, dtype=self.dtype, memory_format=self.memory_format).requires_grad_(False)

    def __call__(self, image: Image.Image | np.ndarray, *, progress: ProgressFn | None = None) -> Image.Image:
        split = split_image(image)
        rgb = self.upscale_rgb(split.rgb, progress=progress)
        return _merge(rgb, split, self.scale)

    @torch.inference_mode()
    def upscale_rgb(self, lr_image: Image.Image, *, progress: ProgressFn | None = None) -> Image.Image:
        """8-bit RGB in, 8-bit RGB out (scale x), tile by tile."""
        lr = np.asarray(lr_image.convert("RGB"))  # (H, W, 3) uint8
        h, w, _ = lr.shape
        r, o = self.scale, self.tile_overlap
        out = np.empty((h * r, w * r, 3), dtype=np.uint8)  # the only full-size buffer, uint8
        # As few tiles as tile_size allows, all of about the same size (not one full tile and a sliver).
        th, tw = math.ceil(h / math.ceil(h / self.tile_size)), math.ceil(w / math.ceil(w / self.tile_size))
        tiles = [(y, x) for y in range(0, h, th) for x in range(0, w, tw)]
        for k, (y, x) in enumerate(tiles):
            y0, x0 = max(y - o, 0), max(x - o, 0)  # the tile plus its context
            y1, x1 = min(y + th + o, h), min(x + tw + o, w)
            sr = self._forward(lr[y0:y1, x0:x1])  # ((y1-y0)r, (x1-x0)r, 3) uint8
            ty, tx = min(th, h - y), min(tw, w - x)  # the part of the tile we keep
            out[y * r : (y + ty) * r, x * r : (x + tx) * r] = sr[(y - y0) * r : (y - y0 + ty) * r,
                                                                  (x - x0) * r : (x - x0 + tx) * r]  # fmt: skip
            if progress is not None:
                progress((k + 1) / len(tiles), f"tile {k + 1}/{len(tiles)}")
        return Image.fromarray(out)

    def _forward(self, lr_tile: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.array(lr_tile)).to(self.device)  # a writable copy of the tile
        x = x.permute(2, 0, 1)[None].to(self.dtype).div_(255)  # (1, 3, h, w) in [0, 1]
        x = x.contiguous(memory_format=self.memory_format)
        y = self.model(x)  # (1, 3, rh, rw) in [-1, 1]
        if self._fp32_fallback is not None and not torch.isfinite(y).all():  # fp16 overflowed: redo in fp32
            fallback = self._fp32_fallback.to(self.device, memory_format=self.memory_format)
            y = fallback(x.float())
        y = y.float().clamp_(-1, 1).add_(1).mul_(127.5).round_().to(torch.uint8)  # -> [0, 255]
        y = y[0].permute(1, 2, 0).contiguous()  # (rh, rw, 3)
        if y.is_cuda:  # copy into page-locked memory: pageable copies cost a quarter of the time (docs/benchmarks.md)
            host = torch.empty(y.shape, dtype=torch.uint8, pin_memory=True)  # from PyTorch's pinned-block cache
            return host.copy_(y).numpy()
        return y.cpu().numpy()


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 convolutions natively on this CPU (AVX512-BF16 or AMX), not by emulation."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def auto_tile_size(device: torch.device, scale: int, bytes_per_value: int) -> int:
    """The LR tile side for `device`: the largest whose activations fit in a quarter of the free memory.

    At most 1024 on CUDA, and 384 on the CPU and MPS, where the speed per pixel stops growing long before
    (256x256 in one tile: 1.59 s; in four 192-pixel tiles with their context: 2.36 s, docs/benchmarks.md).
    The largest live tensors of a x4 generator are the sub-pixel convolution's output (256 channels at
    2H x 2W: 1024 values per LR pixel) next to its input: about 1536 values per LR pixel. A quarter of
    the free memory leaves room for cuDNN's workspaces, the output image and other requests.
    """
    if device.type == "cuda":
        free, cap = torch.cuda.mem_get_info(device)[0], 1024
    else:
        free, cap = available_host_memory(), 384
        if free is None:
            return 256
    values_per_lr_pixel = 1536 * (scale / 4) ** 2
    side = int(math.sqrt(free / 4 / (values_per_lr_pixel * bytes_per_value)))
    return max(64, min(cap, side // 8 * 8))


def available_host_memory() -> int | None:
    """Bytes of RAM available to new allocations (Linux's MemAvailable; free pages elsewhere), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class BicubicUpscaler:
    """The baseline with the same interface as `Upscaler`: PIL bicubic interpolation."""

    def __init__(self, scale: int = 4) -> None:
        self.scale = scale

    def __call__(self, image: Image.Image | np.ndarray, *, progress: ProgressFn | None = None) -> Image.Image:
        split = split_image(image)
        return _merge(bicubic_upscale(split.rgb, self.scale), split, self.scale)


def _merge(rgb: Image.Image, split: SplitImage, scale: int) -> Image.Image:
    """Put back what the network did not see: greyscale mode, alpha upscaled with bicubic."""
    if split.mode == "L":
        return rgb.convert("L")
    if split.mode == "RGBA" and split.alpha is not None:
        result = rgb.convert("RGBA")
        result.putalpha(bicubic_upscale(split.alpha, scale))
        return result
    return rgb


def tiles_needed(width: int, height: int, tile_size: int) -> int:
    """How many tiles an image of this size is cut into."""
    return math.ceil(width / tile_size) * math.ceil(height / tile_size)


_upscalers: LRUCache[Upscaler] = LRUCache(16)  # per model file version, device and dtype


def upscaler_for(model: str, *, device: str | None = None, bf16: bool = False) -> Upscaler | BicubicUpscaler:
    """The (cached) upscaler for "bicubic", a bundled model name or a checkpoint path.

    `bf16=True` asks for bf16 on the CPU (see `Upscaler`'s `dtype`); on CUDA half precision is the default.
    """
    from ..checkpoints import load_pretrained, resolve

    if model == "bicubic":
        return BicubicUpscaler()
    path = resolve(model)
    key = (f"{path.resolve()}@{path.stat().st_mtime}", str(device), bf16)
    dtype = torch.bfloat16 if bf16 else None
    return _upscalers.get_or_create(key, lambda: Upscaler(load_pretrained(path), device=device, dtype=dtype))
