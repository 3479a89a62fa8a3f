"""Does the bundled discriminator still tell HR from SR on photos it never saw? (figures, not a test)

    .venv/bin/python benchmarks/discriminator_check.py              # held-out photos
    .venv/bin/python benchmarks/discriminator_check.py --split train  # the photos D was trained on

For every non-overlapping 96x96 patch of the held-out photos (the discriminator's training size), D(I) for
the HR patch and for the same patch from bicubic, SRResNet and SRGAN (x4 from the bicubic downsample).
Accuracy = the share of (HR, SR) patch pairs where D scores HR higher than SR; 0.5 is chance.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["heldout", "train"], default="heldout")
    ap.add_argument("--max-side", type=int, default=480, help="centre-crop larger photos to this side (speed)")
    ap.add_argument("--weights", default="srgan_discriminator", help="discriminator checkpoint (default: bundled)")
    args = ap.parse_args()
    from srgan.checkpoints import load_pretrained_discriminator
    from srgan.data import bicubic_downsample, builtin_image_paths, load_rgb, mod_crop, pil_to_tensor
    from srgan.inference import upscaler_for

    discriminator = load_pretrained_discriminator(args.weights)
    scores: dict[str, list[torch.Tensor]] = {"hr": [], "bicubic": [], "srresnet": [], "srgan": []}
    for path in builtin_image_paths(split=args.split).values():
        hr = load_rgb(path)
        w, h = hr.size
        side_w, side_h = min(w, args.max_side), min(h, args.max_side)
        hr = mod_crop(hr.crop(((w - side_w) // 2, (h - side_h) // 2, (w + side_w) // 2, (h + side_h) // 2)), 96)
        lr = bicubic_downsample(hr, 4)
        images = {"hr": hr, **{m: upscaler_for(m)(lr) for m in ("bicubic", "srresnet", "srgan")}}
        for name, image in images.items():
            x = pil_to_tensor(image)[None] * 2 - 1  # (1, 3, H, W) in [-1, 1]
            patches = x.unfold(2, 96, 96).unfold(3, 96, 96)  # (1, 3, h, w, 96, 96)
            patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 96, 96)  # (N, 3, 96, 96)
            with torch.inference_mode():
                scores[name].append(torch.sigmoid(discriminator(patches)))
    d = {k: torch.cat(v) for k, v in scores.items()}
    report = {"split": args.split, "patches": int(d["hr"].numel()), "mean_D": {k: round(float(v.mean()), 3) for k, v in d.items()}}
    report["accuracy_hr_vs"] = {k: round(float((d["hr"] > d[k]).float().mean()), 3) for k in ("bicubic", "srresnet", "srgan")}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
