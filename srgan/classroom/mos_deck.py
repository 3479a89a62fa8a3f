"""The MOS test's deck: blind crops of the held-out photos, each region in the four versions rated.

`make_deck` picks textured regions of the held-out built-in photos (`_pick_region`), makes each region's
versions (`region_versions`: bicubic, SRResNet, SRGAN, HR) and saves them as PNG files numbered in shuffled
order, so a crop's number says nothing about its method. `MosStore.open_session` (srgan.classroom.mos)
records the deck in its database.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import SCALE
from ..data import bicubic_downsample, builtin_image_paths, load_rgb, mod_crop

METHODS: tuple[str, ...] = ("bicubic", "srresnet", "srgan", "hr")
CROP_SIZE = 128  # HR pixels: big enough to judge texture, small enough for a phone screen (32 px LR)
REGIONS = 6  # regions per session: 6 x 4 methods = 24 ratings per student, about three minutes
CONTEXT = 8  # LR pixels of context around a region when upscaling, so no method is judged on border effects

Upscale = Callable[[Image.Image], Image.Image]


@dataclass(frozen=True)
class Crop:
    crop_id: str  # "01".."24", numbered after shuffling: says nothing about the method
    method: str
    path: Path
    source: str  # the held-out photo
    box: tuple[int, int, int, int]  # its HR region (left, top, right, bottom)


def _default_upscalers() -> dict[str, Upscale]:
    from ..engine.inference import upscaler_for

    return {m: upscaler_for(m) for m in ("bicubic", "srresnet", "srgan")}


def _pick_region(image: Image.Image, rng: random.Random, tries: int = 8) -> tuple[int, int, int, int]:
    """A CROP_SIZE box on the LR grid, the most textured of a few random ones.

    Flat sky or background looks the same in every version, and ratings of it say nothing about the methods.
    """
    best, best_score = None, -1.0
    for _ in range(tries):
        x = rng.randrange(0, (image.width - CROP_SIZE) // SCALE + 1) * SCALE
        y = rng.randrange(0, (image.height - CROP_SIZE) // SCALE + 1) * SCALE
        box = (x, y, x + CROP_SIZE, y + CROP_SIZE)
        grey = np.asarray(image.crop(box).convert("L"), dtype=np.float32)
        score = float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())
        if score > best_score:
            best, best_score = box, score
    return best


def region_versions(
    hr: Image.Image, box: tuple[int, int, int, int], upscalers: dict[str, Upscale]
) -> dict[str, Image.Image]:
    """The four versions of one HR region: HR itself, and each method's x4 of the bicubic-downsampled photo.

    Each method upscales the LR region with `CONTEXT` pixels around it and the centre is kept, as if the
    whole photo had been upscaled. The window keeps one size (shifted inward at the photo's edges), which
    also lets the CPU convolution kernels reuse their setup from one region to the next.
    """
    lr = bicubic_downsample(hr, SCALE)
    x0, y0, x1, y1 = (v // SCALE for v in box)
    wx0 = min(max(0, x0 - CONTEXT), max(0, lr.width - (x1 - x0) - 2 * CONTEXT))
    wy0 = min(max(0, y0 - CONTEXT), max(0, lr.height - (y1 - y0) - 2 * CONTEXT))
    wx1, wy1 = min(lr.width, x1 - x0 + wx0 + 2 * CONTEXT), min(lr.height, y1 - y0 + wy0 + 2 * CONTEXT)
    window = lr.crop((wx0, wy0, wx1, wy1))
    inner = ((x0 - wx0) * SCALE, (y0 - wy0) * SCALE, (x1 - wx0) * SCALE, (y1 - wy0) * SCALE)
    versions = {m: upscalers[m](window).convert("RGB").crop(inner) for m in METHODS if m != "hr"}
    versions["hr"] = hr.crop(box)
    return versions


def make_deck(
    folder: Path,
    *,
    regions: int = REGIONS,
    rng: random.Random | None = None,
    upscalers: dict[str, Upscale] | None = None,
) -> list[Crop]:
    """Make a session's crops: `regions` regions of the held-out photos x the four methods, as PNG files.

    Args:
        folder: where the PNGs go (created).
        regions: number of regions, spread over the held-out photos in turn.
        rng: picks the regions and the shuffled numbering.
        upscalers: see `MosStore.open_session`.

    Returns:
        The crops, numbered "01".. in shuffled order (the number says nothing about the method).
    """
    rng = rng or random.Random()
    photos = builtin_image_paths(split="heldout")
    if not photos:
        raise ValueError("no held-out built-in photo for the MOS crops: install scikit-image or matplotlib")
    upscalers = upscalers or _default_upscalers()
    names = list(photos)
    rng.shuffle(names)
    hr_images = {n: mod_crop(load_rgb(photos[n]), SCALE) for n in names[:regions]}
    pieces = []
    for k in range(regions):
        name = names[k % len(names)]
        box = _pick_region(hr_images[name], rng)
        for method, image in region_versions(hr_images[name], box, upscalers).items():
            pieces.append((method, image, name, box))
    rng.shuffle(pieces)
    folder.mkdir(parents=True, exist_ok=True)
    deck = []
    for k, (method, image, name, box) in enumerate(pieces, start=1):
        crop_id = f"{k:02d}"
        path = folder / f"{crop_id}.png"
        image.save(path, format="PNG")
        deck.append(Crop(crop_id, method, path, name, box))
    return deck
