"""The network `Upscaler` runs: the generator of Fig. 4 rewritten for inference, same function, less work.

SRGAN (Ledig et al. 2017, arXiv 1609.04802) trains one network, G_θG (Fig. 4, top; `models.Generator`).
For inference nothing about its *function* changes, but several of its layers can be computed more cheaply.
Each rewrite below is exact up to float rounding (tests/test_fastnet.py and tests/test_inference.py check each
one against the plain model, and `python -m srgan bench` reports the largest difference in 8-bit levels):

1. **BatchNorm folded** into the convolution before it (`fold_batchnorm`). In eval mode BN is the affine map
   y = γ·(x − μ)/σ + β, so conv-then-BN is one convolution with rescaled weights and bias.
2. **The 9x9 tail moved before the last PixelShuffle** (`SubPixelTail`, `subpixel_conv_weight`). At full
   resolution that convolution has only 3 output channels, which CPU kernels run at a fraction of their speed;
   on the r² sub-pixel planes it becomes a 5x5 convolution with r²·C inputs and r²·3 outputs at half
   resolution (24 % more multiply-adds, in a shape the CPU kernels run well).
3. **Row bands** (CPU). The last upsampling block makes 256 channels at 2H x 2W: 1024 values per LR pixel, the
   largest tensor of the network (764 MB for a 384-pixel tile with its context). `SubPixelTail` computes the
   convolution, the PReLU and the tail band by band (64 MB each, plus the 2 rows of context each band needs),
   so memory stays bounded whatever the tile. Bands are exact: each one reads the rows it needs, and zero
   padding applies only at the image's real top and bottom. At a 128x128 input the whole tensor is one band.
4. **Freed memory kept for reuse** (`keep_freed_memory`, CPU, glibc): every layer allocates its output
   (4 to 64 MB); by default glibc may hand such blocks back to the OS when they are freed, and the next layer
   then pays a page fault per 4 KB page to get them again, which is slow on virtual machines
   (`benchmarks/fastnet_ablation.py` measures it).
5. **Winograd convolutions, with what follows them fused** (`winograd.Conv3x3`, `FusedResidualBlock`,
   `winograd.Conv5x5`): every 3x3 convolution (the residual blocks, the body's last one, both upsampling ones)
   computed by Winograd's F(4x4, 3x3), 4x fewer multiplies, in one pass with its bias and PReLU, the residual
   block's skip addition, and the first upsampling block's PixelShuffle; the 5x5 tail as four such 3x3s
   (CPU, fp32; see `srgan/engine/winograd.py`).

Lessons: [PixelShuffle](../../lessons/en/07_pixel_shuffle.md) ("Backwards") explains rewrite 2,
[the generator](../../lessons/en/02_generator_discriminator.md) ("Fewer multiplies") rewrite 5;
docs/benchmarks.md has the measurements of each rewrite and the profile, layer by layer, per machine.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import functools
import itertools

import torch
from torch import nn

from ..models import Generator, ResidualBlock
from .winograd import Conv3x3, Conv5x5, per_channel_slopes

_BAND_BYTES = 64 * 2**20  # one band of the 4C-channel intermediate (smaller bands ran slower: fastnet_ablation.py)


def subpixel_conv_weight(weight: torch.Tensor, r: int) -> torch.Tensor:
    """The convolution `weight` (O, C, k, k) rewritten to act on PixelShuffle(r)'s input instead of its output.

    If z = PixelShuffle(r)(u), i.e. z[c, r·i + a, r·j + b] = u[c·r² + a·r + b, i, j], then for
    o = conv(z, weight, padding=k//2) and each output sub-pixel (s, t):

        o[k, r·p + s, r·q + t] = Σ_{c, a, b, m, n} W'[k·r² + s·r + t, c·r² + a·r + b, m, n] · u[c·r² + a·r + b, p + m, q + n]

    with W'[..] = weight[k, c, r·m + a − s + k//2, r·n + b − t + k//2] where that index is inside the kernel,
    else 0. So o = PixelShuffle(r)(conv(u, W', padding=M)), M = ceil((k//2) / r). Zero padding agrees too:
    z is outside the image exactly when u is.

    Args:
        weight: (O, C, k, k), k odd, the convolution after the PixelShuffle.
        r: the PixelShuffle factor.

    Returns:
        (O·r², C·r², 2M+1, 2M+1) weights for the convolution before it.
    """
    out_ch, in_ch, k, _ = weight.shape
    pad = k // 2
    m_max = -(-pad // r)  # ceil(pad / r)
    kk = 2 * m_max + 1
    new = weight.new_zeros(out_ch * r * r, in_ch * r * r, kk, kk)
    outs, ins = torch.arange(out_ch) * r * r, torch.arange(in_ch) * r * r
    for s_, t_, a, b in itertools.product(range(r), repeat=4):
        rows, cols = (outs + s_ * r + t_)[:, None], (ins + a * r + b)[None, :]
        for m, n in itertools.product(range(-m_max, m_max + 1), repeat=2):
            dy, dx = r * m + a - s_, r * n + b - t_
            if abs(dy) <= pad and abs(dx) <= pad:
                new[rows, cols, m + m_max, n + m_max] = weight[:, :, dy + pad, dx + pad]
    return new


class SubPixelTail(nn.Module):
    """The last upsampling block and the tail convolution, with the tail moved before the PixelShuffle.

    conv (C -> C·r²) -> PReLU (slopes repeated per sub-pixel) -> conv W' (C·r² -> 3·r², 5x5) -> PixelShuffle(r):
    the same function as UpsampleBlock followed by the 9x9 tail (see `subpixel_conv_weight`), but the
    expensive convolution runs at 1/r of the resolution with many channels, which CPU and GPU kernels prefer.
    On the CPU it runs in row bands (see the module docstring, point 3).
    """

    def __init__(self, block: nn.Module, tail: nn.Conv2d) -> None:
        super().__init__()
        r = block.shuffle.upscale_factor
        # PReLU after PixelShuffle on channel c == PReLU before it on channels c·r² ... c·r² + r² − 1.
        prelu = nn.PReLU(block.conv.out_channels)
        prelu.weight = nn.Parameter(per_channel_slopes(block.prelu, block.conv.out_channels // (r * r)).repeat_interleave(r * r))
        self.conv = Conv3x3(block.conv, prelu=prelu)  # (B, C, H, W) -> (B, C r², H, W), with the PReLU
        weight = subpixel_conv_weight(tail.weight.detach(), r)  # (3 r², C r², 5, 5)
        conv = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[-1], padding=weight.shape[-1] // 2)
        conv.weight = nn.Parameter(weight)
        conv.bias = nn.Parameter(tail.bias.detach().repeat_interleave(r * r))
        self.tail = Conv5x5(conv)  # 5x5 for the paper's 9x9 tail and r = 2: four Winograd 3x3s on the CPU
        self.shuffle = nn.PixelShuffle(r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu":
            y = self._banded(x)
        else:  # GPUs prefer one large launch, and their tiles are sized for it
            y = self.tail(self.conv(x))  # (B, C, H, W) -> (B, C r², H, W) -> (B, 3 r², H, W)
        return self.shuffle(y)  # (B, 3 r², H, W) -> (B, 3, rH, rW)

    def _banded(self, x: torch.Tensor) -> torch.Tensor:
        """conv -> PReLU -> tail, `band` rows at a time, each band reading only the rows of context it needs."""
        height, width = x.shape[-2:]
        band = max(8, _BAND_BYTES // (x.shape[0] * width * self.conv.out_channels * x.element_size()))
        if band >= height:
            return self.tail(self.conv(x))
        k_tail = 2  # rows of context the 5x5 tail needs
        bands = []
        for y0 in range(0, height, band):
            y1 = min(y0 + band, height)
            m0, m1 = max(y0 - k_tail, 0), min(y1 + k_tail, height)  # rows of the middle tensor the tail needs
            i0, i1 = max(m0 - 1, 0), min(m1 + 1, height)  # the input rows those see; pad only at the image's ends
            mid = self.conv(x[:, :, i0:i1], padding=(i0 - (m0 - 1), m1 + 1 - i1, 1, 1))  # (B, C r², m1 - m0, W)
            bands.append(self.tail(mid, pad_rows=(m0 - (y0 - k_tail), y1 + k_tail - m1)))  # (B, 3 r², y1 - y0, W)
        return torch.cat(bands, dim=2)  # (B, 3 r², H, W)


class FusedResidualBlock(nn.Module):
    """`models.ResidualBlock` after BN folding: conv + PReLU, then conv + the skip addition, two `Conv3x3` calls."""

    def __init__(self, block: ResidualBlock) -> None:
        super().__init__()
        self.conv1 = Conv3x3(block.conv1, prelu=block.prelu)
        self.conv2 = Conv3x3(block.conv2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x), skip=x)  # (B, C, H, W) -> (B, C, H, W)


def fold_batchnorm(generator: Generator) -> Generator:
    """A copy of `generator` (eval) with every conv→BN pair fused into one conv and BN removed."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(generator).eval()
    for block in folded.residual_blocks:
        block.conv1, block.bn1 = fuse_conv_bn_eval(block.conv1, block.bn1), nn.Identity()
        block.conv2, block.bn2 = fuse_conv_bn_eval(block.conv2, block.bn2), nn.Identity()
    folded.body_tail = nn.Sequential(fuse_conv_bn_eval(folded.body_tail[0], folded.body_tail[1]))
    return folded


def prepare_for_inference(generator: Generator) -> Generator:
    """A copy of `generator` for fast inference: rewrites 1, 2 and 5 of the module docstring (3 and 4 act per call).

    Args:
        generator: a trained `Generator`; it is not modified.

    Returns:
        A `Generator` in eval mode computing the same function.
    """
    fast = fold_batchnorm(generator)
    fast.residual_blocks = nn.Sequential(*[FusedResidualBlock(block) for block in fast.residual_blocks])
    fast.body_tail = nn.Sequential(Conv3x3(fast.body_tail[0]))
    *first, last = fast.upsample
    first = [Conv3x3(block.conv, prelu=block.prelu, shuffle=True) for block in first]
    fast.upsample = nn.Sequential(*first, SubPixelTail(last, fast.tail))
    fast.tail = nn.Identity()
    return fast


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks up to 128 MiB (and up to 256 MiB of free heap) for reuse (point 5).

    Process-wide and idempotent. Returns False where there is no glibc `mallopt` (macOS, Windows, musl).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    return bool(mallopt(m_mmap_threshold, 128 * 2**20)) and bool(mallopt(m_trim_threshold, 256 * 2**20))
