"""Noise where a photo is flat, on smoother photos: the flat/busy figures on softened held-out photos (figures, not a test).

    .venv/bin/python benchmarks/soft_heldout.py --hr-dir DIR --models bicubic srresnet srgan --blurs 0 1 2

Each HR photo of DIR is also blurred whole (Gaussian, σ in HR pixels) and becomes the HR image of its own
test: downsampled x4 with PIL bicubic, upscaled by each model, scored as `python -m srgan evaluate` scores
(Y channel, 4-pixel border; `srgan.metrics.detail_by_region`). A blurred photo has less fine detail in its
flat parts than any sharp photo, so a generator that adds speckle there shows it as a much larger "flat"
ratio: the held-out photos of issue #16 behaved like this (SRGAN round 2: 1.05 on our sharp held-out photos,
3.78 on the issue's). σ = 0 is the photos as they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import ImageFilter


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hr-dir", type=Path, required=True)
    ap.add_argument("--models", nargs="+", default=["bicubic", "srresnet", "srgan"])
    ap.add_argument("--blurs", type=float, nargs="+", default=[0.0, 1.0, 2.0])
    args = ap.parse_args()
    from srgan.data import folder_image_paths, load_rgb
    from srgan.evaluate import evaluate_models

    photos = {p.stem: load_rgb(p) for p in folder_image_paths(args.hr_dir)}
    print(f"{len(photos)} photos from {args.hr_dir}, x4; flat/busy: SR's finest detail / HR's (1.0 ideal)")
    print(f"{'blur σ':>7}  {'model':<32}{'PSNR-Y':>8}{'flat':>7}{'busy':>7}")
    for sigma in args.blurs:
        blurred = {name: photo.filter(ImageFilter.GaussianBlur(sigma)) if sigma else photo for name, photo in photos.items()}
        report = evaluate_models(args.models, images=blurred)
        for model, m in report["models"].items():
            print(f"{sigma:>7.1f}  {Path(model).name:<32}{m['psnr_y']:>8.2f}{m['detail_flat']:>7.2f}{m['detail_busy']:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
