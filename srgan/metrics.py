"""Image-quality figures: PSNR (as the course defines it), SSIM, and an offline perceptual figure.

Lessons: [content loss and PSNR](../lessons/en/03_content_loss_psnr.md); [the perception–distortion trade-off](../lessons/en/09_perception_distortion.md)
(the gradient ratio and detail by region).

PSNR, from the course slides:

    MSE  = 1/(mn) Σ_i Σ_j [I(i, j) − K(i, j)]²
    PSNR = 10 · log10(MAX_I² / MSE) = 20 · log10(MAX_I) − 10 · log10(MSE)   [dB]

The paper's protocol (§3.1): PSNR and SSIM on the luminance Y (BT.601, as MATLAB's `rgb2ycbcr`) of
images cropped by `scale` pixels at every border.

SSIM: Wang et al. (2004) as their MATLAB code `ssim_index.m` computes it, which is what SR papers report: an
11 x 11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, statistics over the window with population
(not sample) variance, and the mean of the SSIM map over the positions where the whole window fits ("valid").
BasicSR's `calculate_ssim` and scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)` compute the same; tests/test_metrics.py checks the latter to
1e-6 on textured photos. (torchmetrics pads the borders instead, which moved SSIM-Y by up to 0.016.)

Detail where it belongs (`detail_by_region`): the mean absolute Laplacian of Y, the finest detail an image
has, measured separately in HR's flattest 30 % of pixels (sky, skin, walls) and in its busiest 30 % (fur,
foliage, text), each as a ratio to HR's own. 1 is ideal in both: a blurry result is below 1 everywhere; a GAN
that invents noise is above 1 in the flat part while still below 1 where the texture is.

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


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """The normalised 1-D Gaussian of MATLAB's `fspecial('gaussian', size, sigma)` (the 2-D one is its outer product)."""
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(image: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Correlate with the separable window g ⊗ g where it fits entirely ("valid"): (H, W) -> (H-k+1, W-k+1)."""
    k = len(g)
    rows = sum(g[i] * image[i : image.shape[0] - k + 1 + i] for i in range(k))  # (H-k+1, W)
    return sum(g[j] * rows[:, j : rows.shape[1] - k + 1 + j] for j in range(k))  # (H-k+1, W-k+1)


def ssim(image: np.ndarray, reference: np.ndarray, *, data_range: float = 255.0) -> float:
    """SSIM of two single-channel arrays, as Wang et al.'s MATLAB code computes it (see the module docstring).

    SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)), averaged over the map.

    Args:
        image, reference: (H, W) arrays of the same shape, at least 11 x 11, in [0, data_range].
        data_range: L, with C1 = (0.01 L)², C2 = (0.03 L)².

    Returns:
        The mean SSIM, 1 for identical images.
    """
    x, y = np.asarray(image, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"SSIM needs two 2-D arrays of one shape, got {x.shape} and {y.shape}")
    g = gaussian_window()
    if min(x.shape) < len(g):
        raise ValueError(f"SSIM needs at least {len(g)}x{len(g)} pixels, got {x.shape[1]}x{x.shape[0]}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)  # local means
    var_x = _filter_valid(x * x, g) - mu_x**2  # local population variances and covariance
    var_y = _filter_valid(y * y, g) - mu_y**2
    cov = _filter_valid(x * y, g) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


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


FLAT_SHARE = BUSY_SHARE = 0.30  # the 30 % flattest and busiest pixels of HR


def laplacian_magnitude(y: np.ndarray) -> np.ndarray:
    """|Δy| with the 4-neighbour Laplacian, on the interior: (H, W) -> (H-2, W-2). The finest detail there is."""
    return np.abs(y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4 * y[1:-1, 1:-1])


def busyness(y: np.ndarray, *, sigma: float = 2.0) -> np.ndarray:
    """How much structure surrounds each pixel: the gradient magnitude, Gaussian-blurred (σ = 2 px), same shape."""
    gy, gx = np.gradient(y)
    g = gaussian_window(2 * int(3 * sigma) + 1, sigma)
    pad = len(g) // 2
    return _filter_valid(np.pad(np.hypot(gx, gy), pad, mode="reflect"), g)


def detail_by_region(
    sr_image: Image.Image | np.ndarray, hr_image: Image.Image | np.ndarray, *, border: int = 4
) -> dict[str, float]:
    """Detail where it belongs, noise where it does not: SR's fine detail relative to HR's, flat and busy parts apart.

    Args:
        sr_image, hr_image: RGB images of the same size.
        border: pixels shaved at each edge (the paper's protocol: the scale).

    Returns:
        "flat": mean |ΔY| of SR over HR's flattest 30 % of pixels divided by HR's own there (ideal 1; above 1 is
        invented detail, noise); "busy": the same over HR's busiest 30 % (ideal 1; below 1 is lost texture).
    """
    y_sr, y_hr = shave(rgb_to_y(sr_image), border), shave(rgb_to_y(hr_image), border)
    if y_sr.shape != y_hr.shape:
        raise ValueError(f"images differ in shape: {y_sr.shape} vs {y_hr.shape}")
    lap_sr, lap_hr = laplacian_magnitude(y_sr), laplacian_magnitude(y_hr)  # (H-2, W-2)
    busy = busyness(y_hr)[1:-1, 1:-1]  # aligned with the Laplacians
    low, high = np.quantile(busy, [FLAT_SHARE, 1 - BUSY_SHARE])
    out = {}
    for name, where in (("flat", busy <= low), ("busy", busy >= high)):
        out[name] = float(lap_sr[where].mean() / max(lap_hr[where].mean(), 1e-12))
    return out


def evaluate_pair(sr_image: Image.Image, hr_image: Image.Image, *, scale: int = 4) -> dict[str, float]:
    """Every figure of one SR result against its HR image, with the paper's protocol."""
    return {
        "psnr_y": psnr_y(sr_image, hr_image, border=scale),
        "ssim_y": ssim_y(sr_image, hr_image, border=scale),
        "psnr_rgb": psnr(np.asarray(sr_image.convert("RGB")), np.asarray(hr_image.convert("RGB"))),
        "gradient_ratio": gradient_ratio(sr_image, hr_image, border=scale),
        **{f"detail_{k}": v for k, v in detail_by_region(sr_image, hr_image, border=scale).items()},
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
