"""Small, exact computations behind the teaching tabs: PixelShuffle, ICNR, PReLU slopes and Fig. 3.

Papers:
- SRGAN: Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
  Adversarial Network", arXiv 1609.04802 (Fig. 3, Fig. 4, §2.1).
- PixelShuffle / sub-pixel convolution: Shi et al. 2016 (ESPCN), arXiv 1609.05158.
- ICNR initialisation: Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution", arXiv 1707.02937.
- Checkerboard artefacts of transposed convolutions: Odena et al. 2016, Distill.
- PReLU: He et al. 2015, "Delving Deep into Rectifiers", arXiv 1502.01852.

Lessons: [PixelShuffle](../lessons/en/07_pixel_shuffle.md), [PReLU](../lessons/en/08_prelu.md),
[SRGAN and Fig. 3](../lessons/en/01_srgan_fig3.md).

Everything here is a pure function (tensors, arrays and PIL images in and out, no app code), so the
tabs, the tests and a student's notebook all call the same thing.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .hooks import hooks_on_this_thread
from .models import Generator

# -----------------------------------------------------------------------------------------------
# PixelShuffle (lesson 07)


def pixel_shuffle_by_hand(x: torch.Tensor, r: int) -> torch.Tensor:
    """`nn.PixelShuffle(r)` written as reshape -> permute -> reshape (Shi et al. 2016).

    Every output value is copied from exactly one input value, no arithmetic:

        out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j, h, w]      for 0 <= i, j < r

    i.e. the r*r channels of output channel c, at one LR position (h, w), fill the r x r block
    whose top-left corner is (h*r, w*r), row by row.

    Args:
        x: (B, C*r*r, H, W).
        r: upscaling factor.

    Returns:
        (B, C, H*r, W*r), equal element by element to `nn.PixelShuffle(r)(x)`.
    """
    B, Crr, H, W = x.shape
    if Crr % (r * r):
        raise ValueError(f"the channels ({Crr}) must be a multiple of r*r = {r * r}")
    C = Crr // (r * r)
    x = x.reshape(B, C, r, r, H, W)  # (B, C*r*r, H, W) -> (B, C, r, r, H, W): channel c*r*r + i*r + j -> (c, i, j)
    x = x.permute(0, 1, 4, 2, 5, 3)  # (B, C, i, j, H, W) -> (B, C, H, i, W, j): i next to h, j next to w
    return x.reshape(B, C, H * r, W * r)  # merge (h, i) -> h*r + i and (w, j) -> w*r + j


def pixel_shuffle_source_map(C: int, r: int, H: int, W: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where every output value of PixelShuffle comes from, found by shuffling the values' own addresses.

    We fill an input tensor with each element's flat index, run it through `nn.PixelShuffle` (the real
    one, not our formula) and decode the indices that land in each output position.

    Args:
        C, r, H, W: the input is (C*r*r, H, W), the output (C, H*r, W*r).

    Returns:
        (channel, row, col): three int arrays of shape (C, H*r, W*r); output[c, y, x] is
        input[channel[c, y, x], row[c, y, x], col[c, y, x]].
    """
    index = torch.arange(C * r * r * H * W).reshape(1, C * r * r, H, W)  # (1, C*r*r, H, W), value = flat index
    flat = nn.PixelShuffle(r)(index)[0].numpy()  # (1, C*r*r, H, W) -> (C, H*r, W*r)
    return flat // (H * W), (flat // W) % H, flat % W


# -----------------------------------------------------------------------------------------------
# Checkerboard artefacts and ICNR (lesson 07)


def icnr_(
    weight: torch.Tensor, r: int, init: Callable[[torch.Tensor], torch.Tensor] = nn.init.kaiming_normal_
) -> torch.Tensor:
    """ICNR (Aitken et al. 2017): give the r*r sub-pixel filters of each output channel the same kernel.

    A convolution to C*r*r channels followed by PixelShuffle(r) fills each r x r block from r*r
    different filters; at random initialisation they differ, so the output has an r-periodic
    pattern (a checkerboard). ICNR initialises one kernel W0 per output channel and repeats it:

        weight[c*r*r + s] = W0[c]      for every sub-pixel s = i*r + j

    so the layer starts as "convolution, then nearest-neighbour upsampling": no checkerboard.
    The bias must also be equal within each group of r*r channels (zero is simplest).

    Args:
        weight: (C*r*r, C_in, k, k) convolution weight, overwritten in place.
        r: the PixelShuffle factor.
        init: initialiser for the (C, C_in, k, k) kernel W0.

    Returns:
        `weight`, for chaining.
    """
    out_channels, *rest = weight.shape
    if out_channels % (r * r):
        raise ValueError(f"the output channels ({out_channels}) must be a multiple of r*r = {r * r}")
    w0 = init(torch.empty(out_channels // (r * r), *rest, dtype=weight.dtype))  # (C, C_in, k, k)
    with torch.no_grad():
        # repeat_interleave keeps the channel order c*r*r + s that PixelShuffle expects
        weight.copy_(w0.repeat_interleave(r * r, dim=0))  # (C, C_in, k, k) -> (C*r*r, C_in, k, k)
    return weight


def checkerboard_demo(seed: int = 0, size: int = 16, channels: int = 8) -> dict[str, np.ndarray]:
    """Three x2 upsampling layers, freshly initialised, applied to a constant image.

    A constant input has no structure at all, so any pattern in the output is the layer's own:

    - "transposed": ConvTranspose2d(kernel 3, stride 2), random init. The kernel size is not a
      multiple of the stride, so odd output pixels receive two kernel taps per axis and even ones
      one: uneven overlap, a checkerboard (Odena et al. 2016).
    - "subpixel_random": Conv2d to 4 channels + PixelShuffle(2), random init. No overlap, but the four
      pixels of each 2x2 block come from four different filters: still a 2-periodic pattern.
    - "subpixel_icnr": the same layer with ICNR init (`icnr_`, zero bias): the four filters are equal,
      so the interior is exactly uniform; only the borders differ (zero padding).

    Computed in float64 so that "uniform" means uniform to ~1e-15, not to float32 noise.

    Args:
        seed: seed of the random initialisations (the global torch RNG is left untouched).
        size: side of the constant LR input; the outputs are 2*size on each side.
        channels: channels of the constant input.

    Returns:
        {"transposed", "subpixel_random", "subpixel_icnr"}: (2*size, 2*size) float64 arrays.
    """
    x = torch.ones(1, channels, size, size, dtype=torch.float64)  # (1, C_in, n, n), a constant image
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transposed = nn.ConvTranspose2d(channels, 1, 3, stride=2, padding=1, output_padding=1).double()
        subpixel = nn.Sequential(nn.Conv2d(channels, 4, 3, padding=1), nn.PixelShuffle(2)).double()
        icnr = copy.deepcopy(subpixel)
        icnr_(icnr[0].weight, 2)
        nn.init.zeros_(icnr[0].bias)
    with torch.no_grad():
        return {
            "transposed": transposed(x)[0, 0].numpy(),  # (1, C_in, n, n) -> (2n, 2n)
            "subpixel_random": subpixel(x)[0, 0].numpy(),  # (1, C_in, n, n) -> (1, 4, n, n) -> (2n, 2n)
            "subpixel_icnr": icnr(x)[0, 0].numpy(),
        }


def interior_spread(image: np.ndarray, margin: int = 2) -> float:
    """max - min of an image without `margin` pixels at each edge (where zero padding acts)."""
    inner = image[margin:-margin, margin:-margin] if margin > 0 else image
    return float(inner.max() - inner.min())


# -----------------------------------------------------------------------------------------------
# Real activations and PReLU slopes (lessons 07 and 08)


def first_upsample_activations(generator: Generator, lr_image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first upsampling block's convolution output and its PixelShuffle output, on a real image.

    Args:
        generator: a `Generator` (any size).
        lr_image: (1, 3, H, W) in [0, 1].

    Returns:
        (before, after): (4C, H, W) and (C, 2H, 2W); `after` is `before` rearranged by PixelShuffle(2).
    """
    block = generator.upsample[0]
    seen: dict[str, torch.Tensor] = {}
    hooks = [
        (block.conv, lambda m, i, o: seen.__setitem__("before", o.detach())),
        (block.shuffle, lambda m, i, o: seen.__setitem__("after", o.detach())),
    ]
    with hooks_on_this_thread(hooks), torch.no_grad():
        generator(lr_image)  # (1, 3, H, W) -> (1, 3, rH, rW); we only keep the hooked activations
    return seen["before"][0], seen["after"][0]  # (4C, H, W), (C, 2H, 2W)


def prelu_slopes(generator: Generator) -> list[tuple[str, np.ndarray]]:
    """The learned negative slopes a_i of every PReLU, in forward order (He et al. 2015).

    Args:
        generator: a `Generator`; the default one has 19 PReLUs (head, 16 residual blocks, 2 upsampling).

    Returns:
        [(module name, slopes (channels,) float array), ...] e.g. ("head.1", ...), ("residual_blocks.0.prelu", ...).
    """
    return [(name, m.weight.detach().cpu().numpy().astype(np.float64).copy()) for name, m in generator.prelus()]


def prelu_layer_group(name: str) -> str:
    """ "head", "residual" or "upsample" for a PReLU module name of `Generator`."""
    return "residual" if name.startswith("residual_blocks.") else "upsample" if name.startswith("upsample.") else "head"


PRELU_INIT = 0.25  # He et al. 2015 start every slope at 0.25, as nn.PReLU does


def prelu_summary(slopes: list[tuple[str, np.ndarray]]) -> dict[str, float | bool]:
    """Numbers to test the slide's claim (He et al. 2015) on our weights: are early slopes larger?

    He et al. found, in ImageNet classifiers, that the first layers learn more positive slopes
    (closer to linear) and deeper layers smaller ones. We compare three groups of a generator:
    the head, the residual blocks (in order) and the upsampling blocks (the deepest PReLUs).

    Args:
        slopes: the output of `prelu_slopes`.

    Returns:
        head, residual, upsample: mean slope of each group (over all its channels).
        residual_trend: least-squares change of the residual blocks' mean slope per block (< 0: decreasing).
        head_above_residual, residual_decreasing, upsample_below_residual: the three parts of the claim.
        moved: mean |a - 0.25| over all channels (how far training took the slopes from their init).
        min, max: extreme slopes; negative, above_one: how many channels have a < 0 or a > 1.
    """
    groups: dict[str, list[np.ndarray]] = {"head": [], "residual": [], "upsample": []}
    for name, a in slopes:
        groups[prelu_layer_group(name)].append(a)
    mean = {g: float(np.concatenate(v).mean()) if v else float("nan") for g, v in groups.items()}
    block_means = [float(a.mean()) for a in groups["residual"]]
    trend = float(np.polyfit(np.arange(len(block_means)), block_means, 1)[0]) if len(block_means) > 1 else 0.0
    every = np.concatenate([a for _, a in slopes])  # (channels of all layers,)
    return {
        **mean,
        "residual_trend": trend,
        "head_above_residual": mean["head"] > mean["residual"],
        "residual_decreasing": trend < 0,
        "upsample_below_residual": mean["upsample"] < mean["residual"],
        "moved": float(np.abs(every - PRELU_INIT).mean()),
        "min": float(every.min()),
        "max": float(every.max()),
        "negative": int((every < 0).sum()),
        "above_one": int((every > 1).sum()),
    }


# -----------------------------------------------------------------------------------------------
# Fig. 3 made live (lesson 01)

TEXTURES = ("brick", "grass", "gravel")  # built-in photos that are almost pure texture


def box_downsample(image: np.ndarray, scale: int) -> np.ndarray:
    """D: the mean of every scale x scale block. (S, S, 3) -> (S/scale, S/scale, 3)."""
    h, w, c = image.shape
    return image.reshape(h // scale, scale, w // scale, scale, c).mean(axis=(1, 3))


def nearest_upsample(image: np.ndarray, scale: int) -> np.ndarray:
    """U: repeat every pixel into a scale x scale block. (h, w, 3) -> (h*scale, w*scale, 3); D(U(x)) = x."""
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


def _high_frequency(image: np.ndarray, scale: int) -> np.ndarray:
    """image - U(D(image)): the detail that box downsampling throws away (every block mean is 0)."""
    return image - nearest_upsample(box_downsample(image, scale), scale)


@functools.lru_cache(maxsize=1)
def _builtin_textures() -> tuple[np.ndarray, ...]:
    """The built-in texture photos as float arrays (H, W, 3); empty when scikit-image is missing."""
    from .data import builtin_image_paths, load_rgb

    paths = builtin_image_paths()
    return tuple(np.asarray(load_rgb(paths[n]), dtype=np.float64) for n in TEXTURES if n in paths)


def _texture_crop(textures: list[np.ndarray], k: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """A random side x side crop (random rotation and flip too) of texture k mod len; grey noise if none fit."""
    usable = [t for t in textures if min(t.shape[:2]) >= side]
    if not usable:
        return np.repeat(rng.standard_normal((side, side, 1)), 3, axis=2)  # (side, side, 3) grey noise
    t = usable[k % len(usable)]
    y, x = rng.integers(0, t.shape[0] - side + 1), rng.integers(0, t.shape[1] - side + 1)
    crop = np.rot90(t[y : y + side, x : x + side], k=int(rng.integers(4)))  # (side, side, 3)
    return crop[:, ::-1] if rng.integers(2) else crop


def _fit_to_range(flat: np.ndarray, detail: np.ndarray, scale: int) -> np.ndarray:
    """flat + s_b * detail, with the largest s_b <= 1 per block that keeps every pixel in [0, 255].

    `flat` = U(lr) is constant on each block and in [0, 255], so s_b = 0 always works; one factor per
    block keeps the block means of `detail` (0), so D(result) = D(flat) = lr stays exact.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(detail > 0, (255 - flat) / detail, np.where(detail < 0, -flat / detail, np.inf))  # (S, S, 3)
    h, w, c = room.shape
    s = room.reshape(h // scale, scale, w // scale, scale, c).min(axis=(1, 3, 4)).clip(max=1.0)  # (S/r, S/r)
    return flat + nearest_upsample(s[:, :, None], scale) * detail  # (S/r, S/r, 1) -> (S, S, 1), broadcast


def _to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8))


def _consistent_base(lr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(base, flat): bicubic of `lr` corrected so that D(base) == lr exactly, and the nearest-upsampled `lr`."""
    lr_t = torch.from_numpy(lr).permute(2, 0, 1)[None]  # (1, 3, S/r, S/r)
    bicubic = F.interpolate(lr_t, scale_factor=scale, mode="bicubic", align_corners=False)  # (1, 3, S, S)
    bicubic = bicubic[0].permute(1, 2, 0).numpy()  # (S, S, 3)
    base = bicubic + nearest_upsample(lr - box_downsample(bicubic, scale), scale)  # now D(base) == lr
    flat = nearest_upsample(lr, scale)  # (S/r, S/r, 3) -> (S, S, 3), the blockiest image with D(flat) == lr
    return base, flat


def _candidates(
    base: np.ndarray,
    flat: np.ndarray,
    textures: list[np.ndarray],
    target_rms: float,
    *,
    count: int,
    side: int,
    scale: int,
    seed: int,
) -> list[np.ndarray]:
    """base + t_k for `count` zero-block-mean textures t_k at the HR patch's RMS detail, kept in [0, 255]."""
    rng = np.random.default_rng(seed)
    candidates = []
    for k in range(count):
        t = _high_frequency(_texture_crop(textures, k, side, rng), scale)  # (S, S, 3), every block mean 0
        t *= target_rms / max(float(np.sqrt(np.mean(t**2))), 1e-12)
        candidates.append(_fit_to_range(flat, base - flat + t, scale))  # base + t, kept in [0, 255]
    return candidates


def fig3_plausible_patches(
    hr_patch: Image.Image,
    *,
    count: int = 6,
    scale: int = 4,
    seed: int = 0,
    texture_images: list[Image.Image] | None = None,
) -> dict:
    """Several sharp HR patches with *exactly* the same LR image, and their blurry average (Fig. 3).

    Fig. 3 of the paper: many HR patches are consistent with one LR patch; the MSE-optimal answer
    is their pixel-wise average, which is overly smooth, while each of them is sharp. Here we build
    such a set explicitly.

    The degradation is D = scale x scale box averaging (not the bicubic of training), because then
    the HR images consistent with an LR image form an exact affine subspace: {base + t : D(t) = 0}.
    Any texture t whose every block has mean 0 can be added without changing the LR image at all,
    so "same LR" holds to floating-point precision, not approximately.

    - base: bicubic upsampling of D(hr), corrected so that D(base) == D(hr): we add U(D(hr) - D(bicubic)),
      the nearest-upsampled residual of the block means (U is nearest upsampling, and D(U(x)) = x).
    - t_k: high-frequency texture, a crop of a built-in texture photo (brick, grass, gravel; or of
      `texture_images`; random grey noise if none is available) minus its own block means, scaled to
      the RMS of the HR patch's own high frequencies (so each candidate is about as detailed as hr).
    - candidate_k = base + t_k: D(candidate_k) = D(base) + D(t_k) = D(hr) + 0.
    - average = mean_k candidate_k = base + mean_k t_k: the textures are independent, so they largely
      cancel: the average is blurry, like the MSE solution.

    Pixels must stay in [0, 255] to be shown, and clipping would change the block means. So wherever
    a candidate would leave that range, its detail (candidate - U(D(hr)), zero mean on every block)
    is scaled down by one factor per block, which keeps every block mean: the shown 8-bit images
    still box-downsample to the same LR, up to rounding (<= 0.5 grey level).

    Args:
        hr_patch: RGB PIL image, square, side a multiple of `scale`.
        count: number of candidates.
        scale: the downsampling factor r.
        seed: seed of the texture crops.
        texture_images: RGB PIL textures to crop from (default: the built-in texture photos).

    Returns:
        dict with "lr" (PIL, side/scale), "base" (PIL), "candidates" (list of PIL), "average" (PIL),
        "candidates_float" (list of (S, S, 3) float arrays in [0, 255], before rounding),
        "max_lr_difference" (max |D(candidate) - D(hr)| over all candidates, on the float arrays),
        "gradient_ratio" ({"candidates": [...], "average": float}: `metrics.gradient_ratio` of the shown
        images against hr, border 0; 1 = as much detail as hr, < 1 = blurrier).
    """
    from .metrics import gradient_ratio

    hr = np.asarray(hr_patch.convert("RGB"), dtype=np.float64)  # (S, S, 3) in [0, 255]
    side = hr.shape[0]
    if hr.shape[1] != side or side % scale:
        raise ValueError(f"the HR patch must be square with a side multiple of {scale}, got {hr.shape[1]}x{side}")
    if count < 1:
        raise ValueError("count must be at least 1")
    lr = box_downsample(hr, scale)  # (S, S, 3) -> (S/r, S/r, 3)

    base, flat = _consistent_base(lr, scale)
    # An RMS of 8 grey levels for a flat patch, which has no high frequencies of its own to match.
    target_rms = float(np.sqrt(np.mean(_high_frequency(hr, scale) ** 2))) or 8.0
    textures = (
        _builtin_textures()
        if texture_images is None
        else tuple(np.asarray(im.convert("RGB"), dtype=np.float64) for im in texture_images)
    )
    candidates = _candidates(base, flat, list(textures), target_rms, count=count, side=side, scale=scale, seed=seed)
    average = np.mean(candidates, axis=0)  # (count, S, S, 3) -> (S, S, 3)

    shown = [_to_pil(c) for c in candidates]
    shown_average = _to_pil(average)
    ratio = functools.partial(gradient_ratio, hr_image=hr_patch, border=0)
    return {
        "lr": _to_pil(lr),
        "base": _to_pil(_fit_to_range(flat, base - flat, scale)),
        "candidates": shown,
        "average": shown_average,
        "candidates_float": candidates,
        "max_lr_difference": max(float(np.abs(box_downsample(c, scale) - lr).max()) for c in candidates),
        "gradient_ratio": {"candidates": [ratio(c) for c in shown], "average": ratio(shown_average)},
    }
