"""`Upscaler` (all of srgan/engine/fastnet.py's rewrites, the Winograd kernel included) against the plain model, on photos.

    .venv/bin/python benchmarks/exactness_check.py [--crop 160]

For the bundled SRResNet and SRGAN and each held-out example photo (a crop from its top-left corner), prints the
largest difference between the two 8-bit outputs and the share of values that differ at all. Figures, not a
test: tests/test_inference.py and tests/test_winograd.py check the same on small random networks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srgan.checkpoints import load_pretrained
from srgan.engine.inference import Upscaler
from srgan.engine.winograd import kernel_status
from ui.compare import example_paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crop", type=int, default=160, help="side of the top-left crop in LR pixels")
    args = ap.parse_args()
    print(kernel_status())
    for name in ("srresnet", "srgan"):
        model = load_pretrained(name).eval()
        upscaler = Upscaler(model, device="cpu")
        for path in example_paths():
            image = Image.open(path).convert("RGB")
            image = image.crop((0, 0, min(image.width, args.crop), min(image.height, args.crop)))
            x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255  # (1, 3, h, w)
            with torch.no_grad():
                plain = model(x)[0].clamp(-1, 1).add(1).mul(127.5).round().permute(1, 2, 0).numpy()
            diff = np.abs(np.asarray(upscaler(image)).astype(np.float64) - plain)
            print(
                f"{name:9} {Path(path).name:18} {image.size[0]}x{image.size[1]}: max difference "
                f"{diff.max():.0f} level(s), {(diff > 0).mean():.4%} of values differ"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
