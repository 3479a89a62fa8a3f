"""The images a fine-tuning run trains on: the built-in photos, or a user's upload (image files and zips).

Uploads are read into memory, never extracted to disk, within the limits below; a zip member that is
not an image, hidden, unsafe ("../", absolute, a link), encrypted or too large is skipped with a note.
"""

from __future__ import annotations

import functools
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image

from ..data import IMAGE_SUFFIXES, load_training_images
from ..images import ImageError, open_image, to_rgb8

MAX_IMAGES = 100
MAX_ZIP_MEMBERS = 500
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_ZIP_BYTES = 256 * 1024 * 1024  # uncompressed, all members together
MAX_TOTAL_PIXELS = 100_000_000  # the dataset keeps every image in memory (~3 bytes per pixel, twice)


@dataclass
class TrainingData:
    """HR training images and where they came from."""

    images: list[Image.Image]  # RGB
    names: list[str]
    label: str  # recorded in the checkpoint: "builtin" or "upload: 3 images"
    notes: list[str] = field(default_factory=list)  # what was skipped, and why


@functools.lru_cache(maxsize=1)
def builtin_data() -> TrainingData:
    """The built-in training photos (the held-out ones stay out); loaded once per process, never modified."""
    images, names = load_training_images("builtin")
    return TrainingData(images, names, "builtin")


def uploaded_data(paths: list[str | Path] | None) -> TrainingData:
    """Images uploaded by a user: image files and zip files of images.

    A zip is read member by member in memory (nothing is written to disk, so a "../" name can do
    no harm; it is skipped all the same). Members that are not images, hidden, unsafe, encrypted or
    too large are skipped with a note; an image file uploaded directly that cannot be read is an error.

    Raises:
        ValueError: nothing usable, too many images or pixels (the message says which and why).
        ImageError: an uploaded image file that cannot be read.
    """
    paths = [Path(p) for p in (paths or []) if p]
    if not paths:
        raise ValueError("no images: upload a few photos (or a zip of them), or choose the built-in images")
    images: list[Image.Image] = []
    names: list[str] = []
    notes: list[str] = []
    for path in paths:
        if path.suffix.lower() == ".zip":
            _read_zip(path, images, names, notes)
        else:
            images.append(to_rgb8(open_image(path)))
            names.append(path.name)
        if len(images) > MAX_IMAGES:
            raise ValueError(f"more than {MAX_IMAGES} images: a fine-tune needs a few, use fewer")
    if not images:
        raise ValueError("no usable images in the upload" + (": " + "; ".join(notes) if notes else ""))
    pixels = sum(im.width * im.height for im in images)
    if pixels > MAX_TOTAL_PIXELS:
        raise ValueError(
            f"the images hold {pixels / 1e6:.0f} megapixels in all, more than "
            f"{MAX_TOTAL_PIXELS / 1e6:.0f}; use fewer or smaller images"
        )
    return TrainingData(images, names, f"upload: {len(images)} image{'s' * (len(images) != 1)}", notes)


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is skipped (None: read it). Hidden files and folders are skipped silently ("")."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
        return "unsafe path"
    if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return ""
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
        return "not an image"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"larger than {MAX_MEMBER_BYTES // 2**20} MB"
    return None


def _read_zip(path: Path, images: list, names: list, notes: list) -> None:
    """Append the images of a zip to `images`/`names`, and a note for every member skipped."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path.name} is not a readable zip file ({e})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ValueError(f"{path.name} holds {len(members)} files, more than {MAX_ZIP_MEMBERS}")
        budget = MAX_ZIP_BYTES
        for info in members:
            problem = _zip_member_problem(info)
            if problem is None and info.file_size > budget:
                problem = f"over the {MAX_ZIP_BYTES // 2**20} MB limit for a whole zip"
            if problem is not None:
                if problem:
                    notes.append(f"{info.filename} skipped ({problem})")
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(MAX_MEMBER_BYTES + 1)  # never trust the declared size alone
                if len(data) > MAX_MEMBER_BYTES:
                    raise ImageError(f"larger than {MAX_MEMBER_BYTES // 2**20} MB")
                budget -= len(data)
                images.append(to_rgb8(open_image(data)))
                names.append(PurePosixPath(info.filename).name)
            except (ImageError, zipfile.BadZipFile, OSError, RuntimeError, ValueError) as e:
                notes.append(f"{info.filename} skipped ({str(e).replace('the upload', 'it')})")
