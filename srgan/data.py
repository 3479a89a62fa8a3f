"""Images in, training pairs out: the degradation, the built-in photos and the paired-crop dataset.

Lesson: [SRGAN and Fig. 3](../lessons/en/01_srgan_fig3.md) (where LR images come from).

Degradation. The paper obtains I_LR "by applying a Gaussian filter to I_HR followed by a downsampling
operation with downsampling factor r" and in practice uses bicubic downsampling (§3.1). We use
**PIL's bicubic resize** (`Image.Resampling.BICUBIC`): a cubic kernel with a = -0.5 whose support is
widened by the scale factor when shrinking, i.e. antialiased like MATLAB's `imresize` (the kernel the
SR benchmarks use). It differs from MATLAB only in rounding (≤ 1 grey level on most pixels).

Built-in photos. Natural images that ship inside pip packages, so the project trains and tests
offline: scikit-image's `skimage/data`, scikit-learn's `datasets/images` and matplotlib's
`sample_data`. `HELD_OUT` names the ones kept out of training, for evaluation.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

# name -> (package, path inside the package). Colour photographs only: no drawings, no greyscale scans.
_BUILTIN_FILES: dict[str, tuple[str, str]] = {
    "astronaut": ("skimage", "data/astronaut.png"),
    "chelsea": ("skimage", "data/chelsea.png"),
    "coffee": ("skimage", "data/coffee.png"),
    "rocket": ("skimage", "data/rocket.jpg"),
    "motorcycle_left": ("skimage", "data/motorcycle_left.png"),
    "motorcycle_right": ("skimage", "data/motorcycle_right.png"),
    "brick": ("skimage", "data/brick.png"),
    "grass": ("skimage", "data/grass.png"),
    "gravel": ("skimage", "data/gravel.png"),
    "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg"),
    "immunohistochemistry": ("skimage", "data/ihc.png"),
    "retina": ("skimage", "data/retina.jpg"),
    "china": ("sklearn", "datasets/images/china.jpg"),
    "flower": ("sklearn", "datasets/images/flower.jpg"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
}

# Kept out of training so that `python -m srgan evaluate --heldout` measures generalisation.
HELD_OUT: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "grace_hopper")


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def builtin_image_paths(*, split: str = "all") -> dict[str, Path]:
    """Paths of the built-in photos that are installed.

    Args:
        split: "all", "train" (everything but `HELD_OUT`) or "heldout".

    Returns:
        An ordered mapping name -> file path; names whose package is missing are left out.
    """
    if split not in ("all", "train", "heldout"):
        raise ValueError(f"split must be 'all', 'train' or 'heldout', got {split!r}")
    found: dict[str, Path] = {}
    for name, (package, rel) in _BUILTIN_FILES.items():
        if split == "train" and name in HELD_OUT or split == "heldout" and name not in HELD_OUT:
            continue
        root = _package_dir(package)
        if root is not None and (root / rel).is_file():
            found[name] = root / rel
    return found


def load_rgb(path: str | Path) -> Image.Image:
    """Open an image file as 8-bit RGB, respecting its EXIF orientation."""
    from .images import open_image, to_rgb8

    return to_rgb8(open_image(path))


def folder_image_paths(folder: str | Path) -> list[Path]:
    """Every image file directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def centre_crop(image: Image.Image, side: int, *, square: bool = False, multiple: int = 1) -> Image.Image:
    """The centred crop of at most `side` x `side` pixels, the one crop every tab and script uses.

    Args:
        image: any PIL image.
        side: the largest side kept; 0 or less keeps the whole image.
        square: make it square (the shorter side decides).
        multiple: round both sides down to a multiple of this (the scale, so that LR and HR align).

    Returns:
        The crop (the image itself, same size, when nothing needs cutting).
    """
    w, h = image.size
    if side > 0:
        w, h = min(side, w), min(side, h)
    if square:
        w = h = min(w, h)
    w, h = w - w % multiple, h - h % multiple
    left, top = (image.width - w) // 2, (image.height - h) // 2
    return image.crop((left, top, left + w, top + h))


def mod_crop(image: Image.Image, scale: int) -> Image.Image:
    """Crop the right/bottom edge so both sides are multiples of `scale` (the benchmarks' "modcrop")."""
    w, h = image.size
    return image.crop((0, 0, w - w % scale, h - h % scale))


def bicubic_downsample(hr_image: Image.Image, scale: int) -> Image.Image:
    """I_HR -> I_LR: PIL bicubic (antialiased, a = -0.5) down by `scale`. The size must divide."""
    w, h = hr_image.size
    if w % scale or h % scale:
        raise ValueError(f"image size {w}x{h} is not a multiple of the scale {scale}; mod_crop it first")
    return hr_image.resize((w // scale, h // scale), Image.Resampling.BICUBIC)


def bicubic_upscale(lr_image: Image.Image, scale: int = 4) -> Image.Image:
    """The baseline every SR method is compared with: plain bicubic interpolation up by `scale`."""
    w, h = lr_image.size
    return lr_image.resize((w * scale, h * scale), Image.Resampling.BICUBIC)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(H, W, 3) uint8 PIL -> (3, H, W) float in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255)


def tensor_to_pil(image: torch.Tensor, *, value_range: tuple[float, float] = (0.0, 1.0)) -> Image.Image:
    """(3, H, W) float in `value_range` -> uint8 RGB PIL (clamped, rounded)."""
    lo, hi = value_range
    x = (image.detach().float().cpu() - lo) / (hi - lo)
    x = x.clamp(0, 1).mul(255).round().to(torch.uint8)  # (3, H, W)
    return Image.fromarray(x.permute(1, 2, 0).numpy())


@dataclass
class _Pair:
    hr: torch.Tensor  # (3, H, W) uint8
    lr: torch.Tensor  # (3, H/r, W/r) uint8


class PairedPatchDataset(torch.utils.data.Dataset):
    """Random aligned (LR, HR) crops from a list of HR images.

    Each image is mod-cropped and downsampled once, whole (so a crop's LR is exactly the LR image's
    crop, not a re-degraded crop with different borders). Item `i` is drawn from a generator seeded
    with (seed, i), so the stream of batches is a pure function of the step: training resumes
    exactly and each distributed rank can take its own indices without any sampler state.

    Args:
        images: HR images (RGB PIL), each at least `hr_patch` pixels on both sides.
        scale: downsampling factor r.
        hr_patch: side of the HR crop (96 in the paper); the LR crop is hr_patch / r.
        augment: random horizontal flip and 90° rotation (the dihedral group's 8 elements).
        seed: base seed.
        length: nominal length (the dataset is effectively infinite).
        soft_sigmas: beyond the paper: also a Gaussian-blurred copy of every image for each σ (HR pixels),
            blurred whole before its own downsampling, so the pair is a smoother photo and its exact LR.
        soft_share: the share of the items drawn from those copies (0 without them).

    Item: (lr_image (3, p/r, p/r) in [0, 1], hr_image (3, p, p) in [-1, 1]) — the paper's ranges (§3.2).

    Lesson: [adversarial loss, beyond the paper](../lessons/en/05_adversarial_loss.md) (the soft copies).
    """

    def __init__(
        self,
        images: list[Image.Image],
        *,
        scale: int = 4,
        hr_patch: int = 96,
        augment: bool = True,
        seed: int = 0,
        length: int = 10**9,
        soft_sigmas: tuple[float, ...] = (),
        soft_share: float = 0.0,
    ) -> None:
        if not images:
            raise ValueError("no training images")
        if hr_patch % scale:
            raise ValueError(f"hr_patch {hr_patch} must be a multiple of the scale {scale}")
        self.scale, self.hr_patch, self.augment, self.seed, self.length = scale, hr_patch, augment, seed, length
        for k, image in enumerate(images):
            if min(image.size) < hr_patch:
                raise ValueError(f"image {k} is {image.size[0]}x{image.size[1]}, smaller than the {hr_patch}px patch")
        hr_images = [mod_crop(image.convert("RGB"), scale) for image in images]
        self.pairs: list[_Pair] = [_pair(hr, scale) for hr in hr_images]
        sharp = len(self.pairs)
        for sigma in soft_sigmas:  # blurred whole, then downsampled: a smooth photo and its own LR
            self.pairs += [_pair(hr.filter(ImageFilter.GaussianBlur(sigma)), scale) for hr in hr_images]
        # Every image equally likely (not by area): one large, mostly dark photo must not dominate. The soft
        # copies share `soft_share` of the draws between them.
        share = soft_share if soft_sigmas else 0.0
        self.weights = torch.full((len(self.pairs),), (1 - share) / sharp, dtype=torch.float64)
        self.weights[sharp:] = share / max(len(self.pairs) - sharp, 1)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
        pair = self.pairs[int(torch.multinomial(self.weights, 1, generator=g))]
        p, r = self.hr_patch // self.scale, self.scale
        _, h, w = pair.lr.shape
        y = int(torch.randint(0, h - p + 1, (1,), generator=g))
        x = int(torch.randint(0, w - p + 1, (1,), generator=g))
        lr = pair.lr[:, y : y + p, x : x + p]  # (3, p, p)
        hr = pair.hr[:, y * r : (y + p) * r, x * r : (x + p) * r]  # (3, rp, rp)
        if self.augment:
            k, flip = int(torch.randint(0, 4, (1,), generator=g)), bool(torch.randint(0, 2, (1,), generator=g))
            lr, hr = lr.rot90(k, (1, 2)), hr.rot90(k, (1, 2))
            if flip:
                lr, hr = lr.flip(2), hr.flip(2)
        return lr.float() / 255, hr.float() / 127.5 - 1

    def batch(
        self, step: int, batch_size: int, *, rank: int = 0, world_size: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The mini-batch of a given step (deterministic). Ranks take disjoint indices."""
        start = (step * world_size + rank) * batch_size
        items = [self[start + i] for i in range(batch_size)]
        lr = torch.stack([a for a, _ in items])  # (B, 3, p/r, p/r)
        hr = torch.stack([b for _, b in items])  # (B, 3, p, p)
        return lr, hr


def _pair(hr: Image.Image, scale: int) -> _Pair:
    return _Pair(_to_uint8_tensor(hr), _to_uint8_tensor(bicubic_downsample(hr, scale)))


def _to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


CORPUS_SIDES = (1600, 1100, 800)  # long side of each photo's copies: several scales of detail per pixel


def load_corpus(
    folder: str | Path, *, split: str = "train", sides: tuple[int, ...] = CORPUS_SIDES
) -> tuple[list[Image.Image], list[str]]:
    """The photo corpus that `tools/build_corpus.py` assembles (corpus.json + train/ + val/), at several scales.

    Each photo is cut to its sharp region when the manifest gives one (macro shots with bokeh), then downscaled
    with an antialiased filter to each long side in `sides` that is smaller than its own: the large wallpapers
    then give crops with as much detail per pixel as an ordinary photo, and random crops of three scales
    multiply what 40 photos give. Photos smaller than every side (the scikit-image and scikit-learn ones the
    manifest lists) are used at their own size.

    Args:
        folder: the corpus folder.
        split: "train" or "val" (the manifest's split).
        sides: long sides of the scaled copies.

    Returns:
        (images, names): names like "mate_aqua@1100".
    """
    import json

    folder = Path(folder)
    manifest = folder / "corpus.json"
    if not manifest.is_file():
        raise ValueError(f"no corpus.json in {folder}: build it with `python tools/build_corpus.py --out {folder}`")
    images, names = [], []
    for entry in json.loads(manifest.read_text())["photos"]:
        if entry["split"] != split or not entry.get("file"):
            continue
        photo = load_rgb(folder / entry["file"])
        if entry.get("crop"):
            photo = photo.crop(tuple(entry["crop"]))
        smaller = [side for side in sides if side < max(photo.size)]
        for side in smaller:
            factor = side / max(photo.size)
            size = (round(photo.width * factor), round(photo.height * factor))
            images.append(photo.resize(size, Image.Resampling.LANCZOS))
            names.append(f"{entry['name']}@{side}")
        if not smaller:
            images.append(photo)
            names.append(entry["name"])
    if not images:
        raise ValueError(f"no {split} photos in {manifest}")
    return images, names


def load_training_images(source: str, *, min_size: int = 0) -> tuple[list[Image.Image], list[str]]:
    """Load training images from "builtin" (the built-in photos minus HELD_OUT), "corpus:FOLDER" or a folder.

    Returns:
        (images, names). Raises ValueError with a readable message when nothing usable is found.
    """
    if source.startswith("corpus:"):
        images, names = load_corpus(source.removeprefix("corpus:"))
        small = [n for n, im in zip(names, images) if min(im.size) < min_size]
        if small:
            raise ValueError(f"{small[0]} is smaller than the {min_size}px patch")
        return images, names
    if source == "builtin":
        paths = list(builtin_image_paths(split="train").items())
        if not paths:
            raise ValueError("no built-in images found: install scikit-image, scikit-learn or matplotlib")
    else:
        paths = [(p.name, p) for p in folder_image_paths(source)]
        if not paths:
            raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {source}")
    images, names = [], []
    for name, path in paths:
        image = load_rgb(path)
        if min(image.size) < min_size:
            raise ValueError(f"{name} is {image.size[0]}x{image.size[1]}, smaller than the {min_size}px patch")
        images.append(image)
        names.append(name)
    return images, names


def images_fingerprint(names: list[str], images: list[Image.Image]) -> str:
    """A short hash of the training images, recorded in checkpoints' metadata."""
    h = hashlib.sha256()
    for name, image in zip(names, images):
        h.update(name.encode())
        h.update(image.tobytes())
    return h.hexdigest()[:16]
