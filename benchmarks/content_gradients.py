"""Why the bundled SRGAN uses an L1 content loss: each term's pull on G, where HR is flat and where it is busy.

    .venv/bin/python benchmarks/content_gradients.py --generator FILE [--discriminator FILE] [--split train|val]

One mini-batch (16 HR patches of 64 px, seed 1) of the corpus photos at 800 px (the training split by default). For G's output it
prints the mean absolute gradient per pixel of the MSE (Eq. 4), of L1 (`losses.l1_content_loss`) and of
10⁻³ · the adversarial loss (Eq. 6; the bundled discriminator unless named), over HR's flattest and busiest 30 % of pixels
(`srgan.metrics.busyness`), and each term's gradient norm over G's parameters. The figures of the model card's
round 4 were measured with the generator of the MSE variant (train_runs/srgan_corpus2/generator.safetensors)
and round 2's discriminator, the bundled one at the time (`git show ac4757b:assets/weights/srgan_x4_discriminator.safetensors`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generator", required=True, help="a bundled name or a generator checkpoint")
    ap.add_argument("--discriminator", default="srgan_discriminator", help="a bundled name or a checkpoint")
    ap.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    ap.add_argument("--split", choices=["train", "val"], default="train")
    args = ap.parse_args()
    import numpy as np
    import torch

    from srgan import losses
    from srgan.checkpoints import load_discriminator, load_generator, resolve
    from srgan.data import PairedPatchDataset, load_corpus
    from srgan.metrics import busyness

    images, _ = load_corpus(args.corpus, split=args.split, sides=(800,))
    lr, hr = PairedPatchDataset(images, hr_patch=64, seed=1).batch(0, 16)  # (16, 3, 16, 16), (16, 3, 64, 64)
    generator, _ = load_generator(resolve(args.generator))
    discriminator, _ = load_discriminator(resolve(args.discriminator))
    sr = generator.train()(lr)  # (16, 3, 64, 64) in [-1, 1]
    busy_map = np.stack([busyness(((h.mean(0) + 1) * 127.5).numpy()) for h in hr])  # (16, 64, 64)
    flat = torch.from_numpy(busy_map <= np.quantile(busy_map, 0.3))
    busy = torch.from_numpy(busy_map >= np.quantile(busy_map, 0.7))
    terms = {
        "MSE (Eq. 4)": losses.mse_content_loss(sr, hr),
        "L1": losses.l1_content_loss(sr, hr),
        "1e-3 x adversarial": 1e-3 * losses.adversarial_loss(discriminator(sr)),
    }
    params = list(generator.parameters())
    print(f"{'term':<20}{'per pixel, flat':>17}{'per pixel, busy':>17}{'norm over G':>13}")
    for name, loss in terms.items():
        pixel = torch.autograd.grad(loss, sr, retain_graph=True)[0].abs().mean(1)  # (16, 64, 64)
        weights = torch.autograd.grad(loss, params, retain_graph=True)
        norm = torch.sqrt(sum((g**2).sum() for g in weights)).item()
        print(f"{name:<20}{pixel[flat].mean().item():>17.2e}{pixel[busy].mean().item():>17.2e}{norm:>13.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
