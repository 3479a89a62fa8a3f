"""Image-quality figures: PSNR (as the course defines it), SSIM, and an offline perceptual figure.

Lesson: [content loss and PSNR](../lessons/en/03_content_loss_psnr.md).

PSNR, from the course slides:

    MSE  = 1/(mn) Σ_i Σ_j [I(i, j) − K(i, j)]²
    PSNR = 10 · log10(MAX_I² / MSE) = 20 · log10(MAX_I) − 10 · log10(MSE)   [dB]

The paper's protocol (§3.1): PSNR and SSIM on the luminance Y (BT.601, as MATLAB's `rgb2ycbcr`) of
images cropped by `scale` pixels at every border.

SSIM: torchmetrics' implementation (Gaussian window 11, σ = 1.5, K1 = 0.01, K2 = 0.03, the settings of
Wang et al. 2004), tested against scikit-image's `structural_similarity`.

Perceptual figure (`gradient_ratio`): PSNR rewards the blurry average of the plausible images (Fig. 3)
and cannot tell blur from detail, and the paper's MOS needs people. `gradient_ratio` =
E[|∇SR|²] / E[|∇HR|²] on Y, the share of the HR image's edge-and-texture energy that the result has:
bicubic and MSE results sit well below 1 (over-smooth), a sharp result is close to 1, and noise
or artefacts push it above 1. It needs no network, so it works offline. It is not LPIPS (whose
AlexNet weights cannot be had offline, so LPIPS is not computed here): it says how much detail there
is, not whether it is the right detail; the app shows it beside PSNR.

Checkerboard figure (`grid_artifact_score`): a sub-pixel convolution followed by PixelShuffle(r)
fills each r x r block from r² different filters; when they disagree the image carries a pattern of
period r, which the Fourier transform shows as sharp peaks at the frequencies (k/r, l/r). The score is
how far those peaks stand above the spectrum around them (log10 of the ratio, averaged over the
peaks): about 0 to 0.3 for a photo, 1 when the peaks are ten times their surroundings.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image


def _as_float_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    return np.asarray(image, dtype=np.float64)


def mse(image: Image.Image | np.ndarray, reference: Image.Image | np.ndarray) -> float:
    """MSE = 1/(mn) Σ [I − K]² over every pixel (and channel), in the images' own units."""
    a, b = _as_float_array(image), _as_float_array(reference)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    return float(np.mean((a - b) ** 2))


def psnr(image: Image.Image | np.ndarray, reference: Image.Image | np.ndarray, *, max_value: float = 255.0) -> float:
    """PSNR = 10 · log10(MAX_I² / MSE) in dB; +inf for identical images.

    Args:
        image, reference: same shape; PIL images or arrays in [0, max_value].
        max_value: MAX_I, the largest possible pixel value (255 for 8-bit images).
    """
    error = mse(image, reference)
    return math.inf if error == 0 else 10 * math.log10(max_value**2 / error)


def rgb_to_y(image: Image.Image | np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in [16, 235] from RGB in [0, 255], as MATLAB's `rgb2ycbcr` (Y channel)."""
    rgb = _as_float_array(image) / 255.0
    return 16.0 + rgb @ np.array([65.481, 128.553, 24.966])


def shave(array: np.ndarray, border: int) -> np.ndarray:
    """Drop `border` pixels at every edge (the paper's protocol crops `scale` pixels)."""
    return array[border:-border, border:-border] if border > 0 else array


def psnr_y(sr_image: Image.Image | np.ndarray, hr_image: Image.Image | np.ndarray, *, border: int = 4) -> float:
    """PSNR on the Y channel with `border` pixels shaved: the paper's protocol (§3.1)."""
    return psnr(shave(rgb_to_y(sr_image), border), shave(rgb_to_y(hr_image), border), max_value=255.0)


def ssim(image: np.ndarray, reference: np.ndarray, *, data_range: float = 255.0) -> float:
    """SSIM of two single-channel arrays (torchmetrics; Gaussian 11x11, σ = 1.5)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    a = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64))[None, None]  # (1, 1, H, W)
    b = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float64))[None, None]
    return float(structural_similarity_index_measure(a, b, data_range=data_range, gaussian_kernel=True,
                                                     sigma=1.5, kernel_size=11))  # fmt: skip


def ssim_y(sr_image: Image.Image | np.ndarray, hr_image: Image.Image | np.ndarray, *, border: int = 4) -> float:
    """SSIM on Y with `border` pixels shaved (the paper's protocol)."""
    return ssim(shave(rgb_to_y(sr_image), border), shave(rgb_to_y(hr_image), border))


def gradient_energy(y: np.ndarray) -> float:
    """E[|∇y|²] with forward differences (the mean squared edge strength)."""
    gx, gy = np.diff(y, axis=1), np.diff(y, axis=0)
    return float((gx**2).mean() + (gy**2).mean())


def gradient_ratio(sr_image: Image.Image | np.ndarray, hr_image: Image.Image | np.ndarray, *, border: int = 4) -> float:
    """The offline perceptual figure: E[|∇SR|²] / E[|∇HR|²] on Y. 1.0 = as much detail as HR; < 1 = blur."""
    hr_energy = gradient_energy(shave(rgb_to_y(hr_image), border))
    return gradient_energy(shave(rgb_to_y(sr_image), border)) / max(hr_energy, 1e-12)


def evaluate_pair(sr_image: Image.Image, hr_image: Image.Image, *, scale: int = 4) -> dict[str, float]:
    """Every figure of one SR result against its HR image, with the paper's protocol."""
    return {
        "psnr_y": psnr_y(sr_image, hr_image, border=scale),
        "ssim_y": ssim_y(sr_image, hr_image, border=scale),
        "psnr_rgb": psnr(np.asarray(sr_image.convert("RGB")), np.asarray(hr_image.convert("RGB"))),
        "gradient_ratio": gradient_ratio(sr_image, hr_image, border=scale),
    }


def radial_power_spectrum(y: np.ndarray, *, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Power of the 2-D Fourier transform of `y`, averaged over rings of equal spatial frequency.

    A Hann window first removes the edge discontinuity that would otherwise leak power into every
    frequency. Returns (frequencies in cycles/pixel in (0, 0.5], mean power per ring).
    """
    h, w = y.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fftshift(np.fft.fft2((y - y.mean()) * window))) ** 2  # (H, W)
    fy = np.fft.fftshift(np.fft.fftfreq(h))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(w))[None, :]
    radius = np.sqrt(fx**2 + fy**2)  # (H, W) cycles/pixel
    edges = np.linspace(0, 0.5, bins + 1)
    index = np.digitize(radius.ravel(), edges) - 1
    valid = (index >= 0) & (index < bins)
    total = np.bincount(index[valid], weights=power.ravel()[valid], minlength=bins)
    count = np.bincount(index[valid], minlength=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    keep = count > 0
    return centres[keep][1:], (total[keep] / count[keep])[1:] / (h * w)  # drop the DC ring


def grid_artifact_score(image: Image.Image | np.ndarray, *, period: int = 4) -> float:
    """How strongly `image` carries a pattern of `period` pixels (a checkerboard), on Y.

    For each frequency (k/period, l/period) other than (0, 0), the mean power of the 3 x 3 bins around
    it is divided by the median power of the 7 x 7 neighbourhood outside them; the score is the mean
    log10 of these ratios. Natural images score about 0-0.3; a visible grid scores 1 or more.

    Args:
        image: RGB image (PIL or (H, W, 3) array), at least 8 * period pixels on each side.
        period: the pattern's period in pixels (the upscaling factor r of one PixelShuffle stage, or
            the total factor: a x4 generator made of two x2 stages can leave both).

    Returns:
        the score (dimensionless, log10).
    """
    y = rgb_to_y(image)
    h, w = (y.shape[0] // period) * period, (y.shape[1] // period) * period
    if min(h, w) < 8 * period:
        raise ValueError(f"image too small for the grid score: need {8 * period} pixels per side")
    y = y[:h, :w]
    if np.ptp(y) == 0:  # a flat image has no spectrum at all, so no peaks either
        return 0.0
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((y - y.mean()) * window)) ** 2  # (H, W), DC at [0, 0]
    inner = np.zeros((7, 7), dtype=bool)
    inner[2:5, 2:5] = True
    logs = []
    for ky in range(period):
        for kx in range(period):
            if ky == kx == 0:
                continue
            cy, cx = ky * h // period, kx * w // period
            patch = np.roll(power, (3 - cy, 3 - cx), axis=(0, 1))[:7, :7]  # 7 x 7 around the peak
            peak, around = float(patch[inner].mean()), float(np.median(patch[~inner]))
            logs.append(math.log10(max(peak, 1e-20) / max(around, 1e-20)))
    return float(np.mean(logs))
