"""Winograd F(4x4, 3x3): the generator's 3x3 convolutions with 4x fewer multiplies, on the CPU.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016, arXiv 1509.09308), applied to
the SRGAN generator (Ledig et al. 2017, Fig. 4): its 16 residual blocks, the convolution after them and the
two upsampling convolutions are all 3x3, stride 1, "same" padding: 88 % of its multiply-adds at x4.

A direct 3x3 convolution costs 9 multiplies per output value and input channel. Winograd's minimal filtering
computes a 4x4 tile of outputs from a 6x6 tile of inputs with 36 multiplies (2.25 per output):

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A

with g the 3x3 kernel, d the 6x6 input tile, ⊙ the elementwise product and the fixed matrices `B_T`, `G`,
`A_T` below (interpolation at the points 0, ±1, ±2 and ∞). Summed over the input channels, the 36
elementwise products become 36 matrix products (tiles x C_in) @ (C_in x C_out), which is where the time
goes. The transforms are additions and small multiples, cheap next to them. `winograd_conv3x3_reference`
spells the algorithm out in a few PyTorch lines; `srgan/engine/kernels/winograd.c` is the same algorithm in C,
tile by tile so that the transformed tiles stay in the cache, vectorised over channels, with what follows
each convolution in the generator (bias, PReLU, the skip addition, PixelShuffle) fused into its last step.

Exactness: the algorithm is exact in real arithmetic; in fp32 it rounds differently from a direct
convolution (about 5e-6 of the output's range, tests/engine/test_winograd.py), far below 1/255.

When it runs: `Conv3x3` (used by `fastnet.prepare_for_inference`) calls the C kernel for fp32 CPU tensors
with inference mode or no gradient, on CPUs with AVX-512, AVX2 + FMA or AArch64 (NEON). One library is built
per instruction set (`VARIANTS`: the C file with its -DISA_..., which sets the vector width and the register
blocking of the matrix products for that register file), and the best one the CPU reports is used; timings
per variant are in docs/benchmarks.md. Each is compiled with the system's C compiler on first use (about a
second) into a cache folder, then checked against `F.conv2d` before it is trusted. Everywhere else (CUDA, MPS,
bf16/fp16, no compiler, other CPUs, or `SRGAN_WINOGRAD=0` in the environment) `Conv3x3` runs the same function
with PyTorch's own convolution. `SRGAN_WINOGRAD=avx2` (or `avx512`, `neon`) asks for one variant, e.g. the AVX2
one on an AVX-512 CPU to test or time it; a variant the CPU does not report is never loaded.

Lesson: [the generator](../../lessons/en/02_generator_discriminator.md) ("Fewer multiplies: Winograd").
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# Lavin & Gray (2016), F(4x4, 3x3), points 0, ±1, ±2, ∞.
B_T = torch.tensor(
    [[4, 0, -5, 0, 1, 0],
     [0, -4, -4, 1, 1, 0],
     [0, 4, -4, -1, 1, 0],
     [0, -2, -1, 2, 1, 0],
     [0, 2, -1, -2, 1, 0],
     [0, 4, 0, -5, 0, 1]], dtype=torch.float64)  # fmt: skip
G = torch.tensor(
    [[1 / 4, 0, 0],
     [-1 / 6, -1 / 6, -1 / 6],
     [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6],
     [1 / 24, -1 / 12, 1 / 6],
     [0, 0, 1]], dtype=torch.float64)  # fmt: skip
A_T = torch.tensor(
    [[1, 1, 1, 1, 1, 0],
     [0, 1, -1, 2, -2, 0],
     [0, 1, 1, 4, 4, 0],
     [0, 1, -1, 8, -8, 1]], dtype=torch.float64)  # fmt: skip

_SOURCE = Path(__file__).parent / "kernels" / "winograd.c"
_FLAGS = ["-O3", "-mtune=generic", "-fPIC", "-shared", "-pthread"]


@dataclass(frozen=True)
class Variant:
    """One build of the kernel for one instruction set (the C file's -DISA_... and the matching -m flags).

    Args:
        name: what SRGAN_WINOGRAD calls it.
        machine: `platform.machine()` values it runs on.
        cpu_flags: /proc/cpuinfo flags the CPU must report (x86); none for AArch64, where NEON is baseline.
        flags: the compiler flags of this build, after `_FLAGS`.
    """

    name: str
    machine: tuple[str, ...]
    cpu_flags: tuple[str, ...]
    flags: tuple[str, ...]


# Best first: `SRGAN_WINOGRAD=auto` takes the first one the CPU runs. Explicit -m flags, not -march=native, so
# that each library holds only its own instruction set's code (the AVX2 one runs on any AVX2 CPU).
VARIANTS = (
    Variant("avx512", ("x86_64", "amd64"), ("avx512f", "avx512dq", "avx512bw", "avx512vl", "fma"),
            ("-DISA_AVX512", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma")),
    Variant("avx2", ("x86_64", "amd64"), ("avx2", "fma"), ("-DISA_AVX2", "-mavx2", "-mfma", "-mno-avx512f")),
    Variant("neon", ("aarch64", "arm64"), (), ("-DISA_NEON",)),
)  # fmt: skip
_VARIANTS = {v.name: v for v in VARIANTS}


def winograd_weight(weight: torch.Tensor, *, shuffle: bool = False) -> torch.Tensor:
    """U = G g Gᵀ for every (output, input) channel pair, laid out for the C kernel's matrix products.

    Args:
        weight: (C_out, C_in, 3, 3) convolution weights.
        shuffle: order the output channels sub-pixel first (column s·C + c for channel c·4 + s), so that
            the kernel can write PixelShuffle(2)'s output directly.

    Returns:
        (36, C_in, C_out) float32, contiguous: U[6·ξ + ν, ci, co].
    """
    c_out, c_in = weight.shape[:2]
    u = torch.einsum("xa,oiab,yb->xyio", G, weight.detach().double().cpu(), G)  # (6, 6, C_in, C_out)
    u = u.reshape(36, c_in, c_out)
    if shuffle:
        u = u.reshape(36, c_in, c_out // 4, 4).transpose(2, 3).reshape(36, c_in, c_out)
    return u.float().contiguous()


def winograd_conv3x3_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """The algorithm in PyTorch ops, for reading and testing (the C kernel is the fast one).

    Args:
        x: (B, C_in, H, W) image.
        weight: (C_out, C_in, 3, 3).
        bias: (C_out,) or None.

    Returns:
        (B, C_out, H, W): F.conv2d(x, weight, bias, padding=1) up to rounding.
    """
    b, _, h, w = x.shape
    th, tw = -(-h // 4), -(-w // 4)  # tiles of 4x4 outputs
    x = F.pad(x.double(), (1, 4 * tw - w + 1, 1, 4 * th - h + 1))  # (B, C_in, 4 th + 2, 4 tw + 2)
    d = x.unfold(2, 6, 4).unfold(3, 6, 4)  # (B, C_in, th, tw, 6, 6): overlapping input tiles
    v = B_T @ d @ B_T.T  # Bᵀ d B: (B, C_in, th, tw, 6, 6)
    u = G @ weight.double() @ G.T  # G g Gᵀ: (C_out, C_in, 6, 6)
    m = torch.einsum("bithxy,oixy->bothxy", v, u)  # the elementwise products, summed over C_in
    y = A_T @ m @ A_T.T  # Aᵀ m A: (B, C_out, th, tw, 4, 4)
    y = y.permute(0, 1, 2, 4, 3, 5).reshape(b, -1, 4 * th, 4 * tw)[:, :, :h, :w]  # tiles back to an image
    if bias is not None:
        y = y + bias.double()[:, None, None]
    return y.float()


class Conv3x3(nn.Module):
    """A 3x3 "same" convolution and what follows it in the generator, in one step.

    y = conv(x) + bias, then PixelShuffle(2) if `shuffle`, then PReLU if `prelu`, then + skip if given.
    On fp32 CPU tensors (a CPU with a kernel variant, no gradient) this is one call of the Winograd kernel; elsewhere the same
    function with PyTorch's ops.

    Args:
        conv: the nn.Conv2d (3x3, stride 1, padding 1) it replaces; its weights are copied.
        prelu: the PReLU that follows (after the PixelShuffle if `shuffle`), or None.
        shuffle: a PixelShuffle(2) follows the convolution (the upsampling blocks).
    """

    def __init__(self, conv: nn.Conv2d, *, prelu: nn.PReLU | None = None, shuffle: bool = False) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) or conv.groups != 1:
            raise ValueError("Conv3x3 replaces 3x3 convolutions with stride 1 and padding 1 only")
        self.in_channels, self.out_channels, self.shuffle = conv.in_channels, conv.out_channels, shuffle
        self.weight = nn.Parameter(conv.weight.detach().clone())  # (C_out, C_in, 3, 3)
        bias = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(conv.out_channels)
        self.bias = nn.Parameter(bias)
        self.slope = (
            None
            if prelu is None
            else nn.Parameter(per_channel_slopes(prelu, conv.out_channels // (4 if shuffle else 1)))
        )
        # The kernel's copies, made once (inference weights do not change): U = G g Gᵀ, and the bias in U's
        # column order (with shuffle, channel c·4 + s is column s·C + c).
        self.register_buffer("winograd_u", winograd_weight(self.weight, shuffle=shuffle), persistent=False)
        kernel_bias = bias.reshape(-1, 4).T.flatten() if shuffle else bias
        self.register_buffer("winograd_bias", kernel_bias.contiguous(), persistent=False)

    def forward(
        self, x: torch.Tensor, *, skip: torch.Tensor | None = None, padding: tuple[int, int, int, int] = (1, 1, 1, 1)
    ) -> torch.Tensor:
        """x: (B, C_in, H, W) -> (B, C_out, H', W'), or (B, C_out/4, 2H', 2W') with shuffle.

        `padding` is the zero padding (top, bottom, left, right), H' = H + top + bottom − 2 and likewise W'.
        "Same" is (1, 1, 1, 1); a row band of a larger image pads only at the image's own top or bottom
        (`fastnet.SubPixelTail`), and `Conv5x5` pads more.
        """
        if self._use_kernel(x, skip):
            return self._kernel_forward(x, skip, padding)
        top, bottom, left, right = padding
        if left == right == 1 and max(top, bottom) <= 1:  # rows of the "same" convolution: no padded copy of x
            y = _same_rows(F.conv2d(x, self.weight, self.bias, padding=1), 1, top, bottom)
        else:
            y = F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, self.bias)
        if self.shuffle:
            y = F.pixel_shuffle(y, 2)  # (B, 4C, H', W) -> (B, C, 2H', 2W)
        if self.slope is not None:
            y = F.prelu(y, self.slope)
        return y if skip is None else y + skip

    def _use_kernel(self, x: torch.Tensor, skip: torch.Tensor | None) -> bool:
        needs_grad = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
        return (
            x.device.type == "cpu"
            and x.dtype == self.weight.dtype == self.winograd_u.dtype == torch.float32
            and not needs_grad
            and (skip is None or skip.dtype == torch.float32)
            and self.in_channels % 16 == 0
            and self.out_channels % (64 if self.shuffle else 16) == 0
            and kernel_enabled()
        )

    def _kernel_forward(
        self, x: torch.Tensor, skip: torch.Tensor | None, padding: tuple[int, int, int, int]
    ) -> torch.Tensor:
        b, _, h, w = x.shape
        h_out, w_out = h + padding[0] + padding[1] - 2, w + padding[2] + padding[3] - 2
        x = x.contiguous(memory_format=torch.channels_last)
        if self.shuffle:
            out = torch.empty(b, 2 * h_out, 2 * w_out, self.out_channels // 4).permute(0, 3, 1, 2)
        else:
            out = torch.empty(b, h_out, w_out, self.out_channels).permute(0, 3, 1, 2)  # channels_last
        if skip is not None:
            skip = skip.contiguous(memory_format=torch.channels_last)
        slope = None if self.slope is None else self.slope.detach().contiguous()
        status = _library(kernel_variant()).winograd_conv3x3(
            x.data_ptr(), out.data_ptr(), self.winograd_u.data_ptr(), self.winograd_bias.data_ptr(),
            None if slope is None else slope.data_ptr(), None if skip is None else skip.data_ptr(),
            b, h, w, self.in_channels, self.out_channels, *padding, int(self.shuffle), torch.get_num_threads(),
        )  # fmt: skip
        if status != 0:
            raise MemoryError("the Winograd kernel could not allocate its buffers or start its threads")
        return out

    def direct_flops(self, out: torch.Tensor) -> float:
        """FLOPs (2 x multiply-adds) of the direct convolution that made `out` (what a FLOP counter would see)."""
        pixels = out.numel() / out.shape[1] / (4 if self.shuffle else 1)  # shuffled: 4x the pixels, 1/4 the channels
        return 2 * 9 * self.in_channels * self.out_channels * pixels

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, prelu={self.slope is not None}, shuffle={self.shuffle}"


class Conv5x5(nn.Module):
    """A 5x5 "same" convolution as four 3x3 ones, so that Winograd F(4x4, 3x3) can compute it too.

    Pad the 5x5 kernel w with a zero row and column to 6x6 and cut it into 2x2 blocks of 3x3, w_ab
    (a, b ∈ {0, 1}). Then

        conv5x5(x, w)(i, j) = Σ_ab z_ab(i + 3a, j + 3b),   z_ab = conv3x3(x, w_ab) with padding 2 above/left, 3 below/right

    One `Conv3x3` computes the four z_ab at once (their output channels stacked: 4 x 12 = 48 for the tail,
    padded to a multiple of 16 for the kernel's vectors if needed), then four shifted slices are added.
    4 x 9 = 36 weights per pair of channels instead of 25, but Winograd multiplies 4x less, so it does about
    2.8x fewer multiplies than the direct 5x5 convolution.
    Used for the generator's tail in sub-pixel form (`fastnet.SubPixelTail`, 256 -> 12 channels).

    Args:
        conv: the nn.Conv2d (5x5, stride 1, padding 2) it replaces; its weights are copied.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (5, 5) or conv.stride != (1, 1) or conv.padding != (2, 2) or conv.groups != 1:
            raise ValueError("Conv5x5 replaces 5x5 convolutions with stride 1 and padding 2 only")
        self.out_channels = conv.out_channels
        self.weight = nn.Parameter(conv.weight.detach().clone())  # (C_out, C_in, 5, 5)
        bias = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(conv.out_channels)
        self.bias = nn.Parameter(bias)
        w6 = F.pad(self.weight.detach(), (0, 1, 0, 1))  # (C_out, C_in, 6, 6)
        blocks = nn.Conv2d(conv.in_channels, -(-4 * self.out_channels // 16) * 16, 3, padding=1)  # 4 blocks
        with torch.no_grad():
            blocks.weight.zero_()
            blocks.bias.zero_()
            blocks.bias[: self.out_channels] = bias  # added once, with block (0, 0)
            for k, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):  # block k: channels k·o ... (k+1)·o − 1
                o = self.out_channels
                blocks.weight[k * o : (k + 1) * o] = w6[:, :, 3 * a : 3 * a + 3, 3 * b : 3 * b + 3]
        self.blocks = Conv3x3(blocks)

    def forward(self, x: torch.Tensor, *, pad_rows: tuple[int, int] = (2, 2)) -> torch.Tensor:
        """x: (B, C_in, H, W) -> (B, C_out, H + sum(pad_rows) − 4, W); `pad_rows` as in `Conv3x3` (2 for "same")."""
        if not self._use_kernel(x):
            return _same_rows(F.conv2d(x, self.weight, self.bias, padding=2), 2, *pad_rows)
        z = self.blocks(x, padding=(pad_rows[0], pad_rows[1] + 1, 2, 3))  # (B, 4 groups, H' + 3, W + 3)
        h, w, o = z.shape[2] - 3, z.shape[3] - 3, self.out_channels
        return (z[:, :o, :h, :w] + z[:, o : 2 * o, :h, 3:]  # blocks (0, 0) and (0, 1)
                + z[:, 2 * o : 3 * o, 3:, :w] + z[:, 3 * o : 4 * o, 3:, 3:])  # (1, 0) and (1, 1)  # fmt: skip

    def _use_kernel(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> bool:
        return self.blocks._use_kernel(x, skip)

    def direct_flops(self, out: torch.Tensor) -> float:
        """FLOPs (2 x multiply-adds) of the direct 5x5 convolution that made `out`."""
        return 2 * 25 * self.blocks.in_channels * self.out_channels * out.numel() / out.shape[1]

    def extra_repr(self) -> str:
        return f"{self.blocks.in_channels}, {self.out_channels}"


def _same_rows(same: torch.Tensor, k: int, top: int, bottom: int) -> torch.Tensor:
    """The rows of a "same" convolution (k rows of zero padding each side) that padding `top` above and `bottom`
    below would give: output row j sees input rows j − top ... j − top + 2k, i.e. row j + k − top of `same`."""
    return same[:, :, k - top : same.shape[2] + bottom - k]


def per_channel_slopes(prelu: nn.PReLU, channels: int) -> torch.Tensor:
    """A PReLU's slopes as one per channel (a PReLU may share one slope among all channels)."""
    slope = prelu.weight.detach().clone()
    return slope.expand(channels).clone() if slope.numel() == 1 else slope


@functools.cache
def kernel_variant() -> str | None:
    """The variant `Conv3x3` runs in this process ("avx512", "avx2", "neon"), or None for PyTorch's path.

    Chosen once from SRGAN_WINOGRAD (see `_setting`) and the CPU; a variant that cannot be built is said once in
    a warning (the images are the same, only slower).
    """
    setting = _setting()
    if setting == "off":
        return None
    variant = cpu_variants()[0] if setting == "auto" and cpu_variants() else setting
    if variant in _VARIANTS and variant in cpu_variants() and _library(variant) is not None:
        return variant
    logging.getLogger(__name__).warning("%s; PyTorch's convolutions instead, about 2x slower", kernel_status())
    return None


def kernel_enabled() -> bool:
    """Whether `Conv3x3` uses the C kernel in this process (see the module docstring for when)."""
    return kernel_variant() is not None


def kernel_status() -> str:
    """One line for benchmarks and bug reports: is the kernel used, which variant, and if not, why."""
    setting, runnable = _setting(), cpu_variants()
    if setting == "off":
        return f"Winograd kernel off (SRGAN_WINOGRAD={os.environ['SRGAN_WINOGRAD']})"
    if setting == "auto" and not runnable:
        return f"Winograd kernel off (this CPU runs none of {', '.join(_VARIANTS)})"
    variant = runnable[0] if setting == "auto" else setting
    if variant not in _VARIANTS:
        return f"Winograd kernel off (SRGAN_WINOGRAD={variant!r}: expected off, auto or one of {', '.join(_VARIANTS)})"
    if variant not in runnable:
        return (
            f"Winograd kernel off (this CPU cannot run the {variant} variant; it runs {', '.join(runnable) or 'none'})"
        )
    if _library(variant) is None:
        return f"Winograd kernel unavailable: {_errors[-1] if _errors else 'unknown reason'}"
    return f"Winograd kernel in use ({variant}, {_library_path(variant)})"


def _setting() -> str:
    """SRGAN_WINOGRAD: "off" (0, off, false, no), "auto" (unset, auto, 1, on, true, yes: the best variant this
    CPU runs) or a variant's name (avx512, avx2, neon), e.g. to test the AVX2 build on an AVX-512 CPU."""
    value = os.environ.get("SRGAN_WINOGRAD", "auto").strip().lower()
    if value in {"0", "off", "false", "no"}:
        return "off"
    return "auto" if value in {"", "auto", "1", "on", "true", "yes"} else value


def cpu_variants() -> list[str]:
    """The variants this CPU can run, best first: from `platform.machine()` and, on x86, /proc/cpuinfo's flags."""
    machine = platform.machine().lower()
    flags = _cpu_flags()
    return [v.name for v in VARIANTS if machine in v.machine and all(f in flags for f in v.cpu_flags)]


def available_variants() -> list[str]:
    """The variants this CPU runs that build here and pass their check, best first (each built once, cached)."""
    return [variant for variant in cpu_variants() if _library(variant) is not None]


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            line = next((line for line in f if line.startswith("flags")), "")
    except OSError:  # not Linux: no x86 variant is trusted without the flags
        return set()
    return set(line.partition(":")[2].split())


_errors: list[str] = []  # why a variant could not be built or loaded, for kernel_status


def _cache_dir() -> Path:
    if os.environ.get("SRGAN_KERNEL_CACHE"):
        return Path(os.environ["SRGAN_KERNEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "srgan-studio"


def _library_path(variant: str) -> Path:
    """Where a variant's library lives: named by the variant and a hash of the source and flags, so a change
    rebuilds (the flags name the instruction set, so the library does not depend on the CPU that built it)."""
    flags = " ".join([*_FLAGS, *_VARIANTS[variant].flags, platform.machine()])
    key = hashlib.sha256(_SOURCE.read_bytes() + flags.encode())
    return _cache_dir() / f"winograd-{variant}-{key.hexdigest()[:16]}.so"


@functools.cache
def _library(variant: str) -> ctypes.CDLL | None:
    """A variant's compiled kernel, built on first use and checked against F.conv2d; None (with a reason) if not.

    Args:
        variant: a name from `VARIANTS` that this CPU runs (`cpu_variants`); loading another could crash.

    Returns:
        The library, or None with the reason appended to `_errors`.
    """
    if sys.platform == "win32":
        _errors.append("not built on Windows")
        return None
    path = _library_path(variant)
    try:
        if not path.exists():
            _compile(path, _VARIANTS[variant].flags)
        lib = ctypes.CDLL(str(path))
    except (OSError, subprocess.SubprocessError) as error:
        _errors.append(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        return None
    fn = lib.winograd_conv3x3
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p] * 6 + [ctypes.c_int] * 11
    if not _self_check(fn):
        _errors.append(f"{path} disagrees with F.conv2d; not used")
        return None
    return lib


def compiler() -> str | None:
    """The C compiler the kernel is built with: $CC, else cc, gcc or clang on the PATH; None if none."""
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def _compile(path: Path, flags: tuple[str, ...]) -> None:
    cc = compiler()
    if cc is None:
        raise OSError("no C compiler found (cc, gcc or clang)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:  # build aside, then move: never a half-written file
        target = Path(tmp) / path.name
        result = subprocess.run([cc, *_FLAGS, *flags, str(_SOURCE), "-o", str(target)], capture_output=True,
                                text=True, timeout=120, check=False)  # fmt: skip
        if result.returncode != 0:  # the compiler's first error line says more than its exit status
            errors = [line for line in result.stderr.splitlines() if "error" in line] or result.stderr.splitlines()
            raise OSError(f"{cc} failed: {errors[0].strip() if errors else f'exit status {result.returncode}'}")
        os.replace(target, path)


def _self_check(fn: ctypes._CFuncPtr) -> bool:
    """A small convolution through the kernel against F.conv2d (guards against a miscompiled kernel)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 11, 13, 16, generator=gen)  # (B, H, W, C): channels last
    weight, bias = torch.randn(64, 16, 3, 3, generator=gen) * 0.1, torch.randn(64, generator=gen)
    out = torch.empty(1, 11, 13, 64)
    u = winograd_weight(weight)
    status = fn(
        x.data_ptr(), out.data_ptr(), u.data_ptr(), bias.data_ptr(), None, None, 1, 11, 13, 16, 64, 1, 1, 1, 1, 0, 1
    )
    expected = F.conv2d(x.permute(0, 3, 1, 2), weight, bias, padding=1).permute(0, 2, 3, 1)
    return status == 0 and torch.allclose(out, expected, atol=1e-4)
