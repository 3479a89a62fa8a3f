"""`python -m srgan evaluate`: compare models on HR images with the paper's protocol (§3.1).

Each HR image is mod-cropped to a multiple of the scale, downsampled x4 with PIL bicubic, upscaled
by each model, and scored on Y (BT.601) with `scale` pixels shaved at the border: PSNR-Y, SSIM-Y, and
the offline perceptual figure `gradient_ratio` (1.0 = as much detail as HR), and the checkerboard
figure `grid_score` (`srgan.metrics.grid_artifact_score`; the HR images' own score is reported beside it).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image

from .config import SCALE
from .data import (
    bicubic_downsample,
    builtin_image_paths,
    centre_crop,
    folder_image_paths,
    load_rgb,
    mod_crop,
    pil_to_tensor,
)
from .engine.inference import upscaler_for
from .metrics import evaluate_pair, grid_artifact_score


def evaluate_models(
    models: list[str],
    *,
    hr_dir: Path | None = None,
    heldout: bool = False,
    images: dict[str, Image.Image] | None = None,
    max_side: int = 0,
) -> dict:
    """Score each model on every HR image; return the JSON-ready report.

    Args:
        models: "bicubic", "srresnet", "srgan" or checkpoint paths.
        hr_dir: a folder of HR images; or `heldout=True` for the built-in held-out photos; or `images`, HR images
            already in memory by name (e.g. photos blurred on the fly, `benchmarks/soft_heldout.py`).
        max_side: centre-crop each HR image to at most this side first (0: whole image).

    Returns:
        {"protocol": {...}, "images": N, "image_names": [...], "models": {name: {"psnr_y", "ssim_y",
        "gradient_ratio", "psnr_rgb", "grid_score"}}, "hr_grid_score": ...} with the figures averaged over
        the images, and "per_image": {name: {image name: {psnr_y, ssim_y, detail_flat, detail_busy}}}.
    """
    if images is not None:
        names, originals = list(images), [image.convert("RGB") for image in images.values()]
    else:
        if heldout:
            found = builtin_image_paths(split="heldout")
            paths, names = list(found.values()), list(found)
        else:
            paths = folder_image_paths(hr_dir)  # type: ignore[arg-type]
            names = [p.stem for p in paths]
        originals = [load_rgb(p) for p in paths]
    if not originals:
        raise ValueError(f"no HR images found in {hr_dir}" if hr_dir else "no HR images given or installed")
    hr_images = [mod_crop(centre_crop(image, max_side), SCALE) for image in originals]
    upscalers = {name: upscaler_for(name) for name in models}
    totals: dict[str, dict[str, float]] = {name: {} for name in models}
    per_image: dict[str, dict[str, dict[str, float]]] = {name: {} for name in models}
    grid_ok = all(min(hr.size) >= 8 * SCALE for hr in hr_images)  # the grid score needs 32 px per side
    hr_grid = sum(grid_artifact_score(hr, period=SCALE) for hr in hr_images) / len(hr_images) if grid_ok else None
    for image_name, hr in zip(names, hr_images):
        lr = bicubic_downsample(hr, SCALE)
        for name, upscaler in upscalers.items():
            sr = upscaler(lr)
            figures = evaluate_pair(sr, hr, scale=SCALE)
            per_image[name][image_name] = {k: round(figures[k], 4) for k in PER_IMAGE if k in figures}
            if grid_ok:
                figures["grid_score"] = grid_artifact_score(sr, period=SCALE)
            for key, value in figures.items():  # means over the images; ratios (detail_*) geometric
                term = math.log(max(value, 1e-12)) if key.startswith("detail_") else value
                totals[name][key] = totals[name].get(key, 0.0) + term / len(hr_images)
    for t in totals.values():
        t.update({k: math.exp(v) for k, v in t.items() if k.startswith("detail_")})
    return {
        "protocol": {
            "scale": SCALE,
            "degradation": "PIL bicubic (antialiased, a=-0.5) after mod-crop",
            "channel": "Y (ITU-R BT.601)",
            "border_crop": SCALE,
            "ssim": "Wang et al. 2004 as MATLAB ssim_index.m: Gaussian 11x11, sigma 1.5, valid window",
            "perceptual": "gradient_ratio = E|grad SR|^2 / E|grad HR|^2 on Y (1.0 = as detailed as HR)",
            "detail": "detail_flat / detail_busy = mean |Laplacian Y| of SR / of HR over HR's 30 % flattest / busiest "
            "pixels (blurred gradient magnitude); geometric mean over the images; 1.0 ideal",
            "checkerboard": "grid_score = log10 of the period-4 spectral peaks over their surroundings, on Y",
            "max_side": max_side,
        },
        "images": len(hr_images),
        "image_names": names,
        "hr_grid_score": round(hr_grid, 4) if hr_grid is not None else None,
        "models": {name: {k: round(v, 4) for k, v in t.items()} for name, t in totals.items()},
        "per_image": per_image,
    }


PER_IMAGE = ("psnr_y", "ssim_y", "detail_flat", "detail_busy")  # the figures `--per-image` shows for each photo


def format_table(report: dict, *, per_image: bool = False) -> str:
    """A plain-text table of an `evaluate_models` report (then one row per image and model with `per_image`)."""
    lines = [
        f"{report['images']} images, x{report['protocol']['scale']}, Y channel, border {report['protocol']['border_crop']}",
        f"{'model':<28}{'PSNR-Y':>9}{'SSIM-Y':>9}{'grad ratio':>12}{'flat':>7}{'busy':>7}{'grid':>7}",
    ]
    for name, m in report["models"].items():
        grid = f"{m['grid_score']:>7.2f}" if "grid_score" in m else f"{'-':>7}"
        lines.append(
            f"{Path(name).name[:27]:<28}{m['psnr_y']:>9.2f}{m['ssim_y']:>9.4f}{m['gradient_ratio']:>12.3f}"
            f"{m['detail_flat']:>7.2f}{m['detail_busy']:>7.2f}{grid}"
        )
    if report.get("hr_grid_score") is not None:
        lines.append(
            f"{'(HR itself)':<28}{'':>9}{'':>9}{1.0:>12.3f}{1.0:>7.2f}{1.0:>7.2f}{report['hr_grid_score']:>7.2f}"
        )
    lines.append(
        "flat/busy: SR's finest detail / HR's, in HR's flattest and busiest 30 % (1.0 ideal; flat > 1 is noise)"
    )
    if per_image:
        lines += ["", f"{'image':<24}{'model':<28}{'PSNR-Y':>9}{'SSIM-Y':>9}{'flat':>7}{'busy':>7}"]
        for image in report["image_names"]:
            for name, rows in report["per_image"].items():
                m = rows[image]
                lines.append(
                    f"{image[:23]:<24}{Path(name).name[:27]:<28}{m['psnr_y']:>9.2f}{m['ssim_y']:>9.4f}"
                    f"{m['detail_flat']:>7.2f}{m['detail_busy']:>7.2f}"
                )
    return "\n".join(lines)


def patches(image: torch.Tensor, patch: int) -> torch.Tensor:
    """(3, H, W) -> (N, 3, patch, patch): the non-overlapping patches, row by row."""
    p = image.unfold(1, patch, patch).unfold(2, patch, patch)  # (3, h, w, p, p)
    return p.permute(1, 2, 0, 3, 4).reshape(-1, 3, patch, patch)


@torch.inference_mode()
def discriminator_pair_accuracy(discriminator: torch.nn.Module, split: str, *, max_side: int = 480) -> dict:
    """Does D tell HR from SR? For every 96x96 patch of the built-in photos of `split` (centre-cropped to
    `max_side`), D(I) of the HR patch and of the same patch from bicubic, SRResNet and SRGAN (x4 from the
    bicubic downsample). Accuracy = the share of (HR, SR) pairs where D scores HR higher; 0.5 is chance.

    Args:
        discriminator: in eval mode, returning logits (`models.Discriminator`).
        split: "heldout" or "train".
        max_side: centre-crop side of each photo (speed).

    Returns:
        {"patches", "mean_D": {"hr", "bicubic", "srresnet", "srgan"}, "accuracy_hr_vs": {"bicubic", "srresnet", "srgan"}}.
    """
    scores: dict[str, list[torch.Tensor]] = {"hr": [], "bicubic": [], "srresnet": [], "srgan": []}
    for path in builtin_image_paths(split=split).values():
        hr = mod_crop(centre_crop(load_rgb(path), max_side), 96)
        lr = bicubic_downsample(hr, SCALE)
        images = {"hr": hr, **{m: upscaler_for(m)(lr) for m in ("bicubic", "srresnet", "srgan")}}
        for name, image in images.items():
            x = patches(pil_to_tensor(image) * 2 - 1, 96)  # (N, 3, 96, 96) in [-1, 1]
            scores[name].append(torch.sigmoid(discriminator(x)))
    d = {k: torch.cat(v) for k, v in scores.items()}
    return {
        "patches": int(d["hr"].numel()),
        "mean_D": {k: round(float(v.mean()), 3) for k, v in d.items()},
        "accuracy_hr_vs": {
            k: round(float((d["hr"] > d[k]).float().mean()), 3) for k in ("bicubic", "srresnet", "srgan")
        },
    }
