"""Does the bundled discriminator still tell HR from SR on photos it never saw? (figures, not a test)

    .venv/bin/python benchmarks/discriminator_check.py              # held-out photos
    .venv/bin/python benchmarks/discriminator_check.py --split train  # the photos D was trained on

For every non-overlapping 96x96 patch of the held-out photos (the discriminator's training size), D(I) for
the HR patch and for the same patch from bicubic, SRResNet and SRGAN (x4 from the bicubic downsample).
Accuracy = the share of (HR, SR) patch pairs where D scores HR higher than SR; 0.5 is chance.
"""

from __future__ import annotations

import json


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["heldout", "train"], default="heldout")
    ap.add_argument("--max-side", type=int, default=480, help="centre-crop larger photos to this side (speed)")
    ap.add_argument("--weights", default="srgan_discriminator", help="discriminator checkpoint (default: bundled)")
    args = ap.parse_args()
    from srgan.checkpoints import load_pretrained_discriminator
    from srgan.evaluate import discriminator_pair_accuracy

    discriminator = load_pretrained_discriminator(args.weights)
    report = {"split": args.split, **discriminator_pair_accuracy(discriminator, args.split, max_side=args.max_side)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
