"""What thirty phones hold: the unusual and the broken image files of the reliability tests and benchmark.

`make_samples(folder)` writes every file and says, for each, whether it must be upscaled (and to what
size before the x4) or refused (and which words the message must contain). Used by
tests/test_reliability_*.py and benchmarks/load_soak.py.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Sample:
    """One file a student might upload."""

    path: Path
    valid: bool
    size: tuple[int, int] | None = None  # (w, h) the app must see (after EXIF rotation); None when invalid
    message: str = ""  # a regex the error (invalid) or the status note (valid) must match; "" for no check


def png_bomb(width: int = 40000, height: int = 40000) -> bytes:
    """A PNG of a few KB that declares `width` x `height` RGB pixels (4.8 GB once decoded, at 40000²)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * width) * 64, 9)  # 64 rows of black: decodes until the data ends
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _noise(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def exif_rotated_jpeg() -> bytes:
    """A 24x12 JPEG, red left half and blue right half, whose EXIF says "rotate 90° clockwise" (orientation 6).

    Shown right it is 12x24 with the red half on top.
    """
    array = np.zeros((12, 24, 3), np.uint8)
    array[:, :12] = (255, 0, 0)
    array[:, 12:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encoded(Image.fromarray(array), "JPEG", quality=95, exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (10, 8), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (9, 7), 1)
    image.paste(0, (0, 0, 4, 7))  # the left part is colour 0: transparent
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    return _encoded(image, "PNG", transparency=0)


def sample_bytes() -> dict[str, tuple[bytes, tuple[int, int] | None, str]]:
    """name -> (file content, size the app must see or None when it must be refused, message regex)."""
    png = _encoded(_noise(64, 64), "PNG")
    jpeg = _encoded(_noise(64, 64), "JPEG", quality=90)
    gray16 = Image.fromarray((np.arange(15 * 11, dtype=np.uint16).reshape(11, 15) * 397).astype(np.uint16))
    return {
        # refused, with a sentence that says why
        "not_an_image.png": (b"Dear diary, this is a text file renamed .png\n" * 20, None, "not an image"),
        "truncated.png": (png[: len(png) // 2], None, "damaged or truncated"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], None, "damaged or truncated"),
        "empty.png": (b"", None, "empty file"),
        "bomb.png": (png_bomb(), None, "decompression bomb"),
        # upscaled to exactly 4x what the app sees
        "one_pixel.png": (_encoded(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"), (1, 1), ""),
        "tall_1x4000.png": (_encoded(Image.new("RGB", (1, 4000), (10, 200, 10)), "PNG"), (1, 4000), ""),
        "gray16.png": (_encoded(gray16, "PNG"), (15, 11), ""),
        "gray.png": (_encoded(_noise(13, 9).convert("L"), "PNG"), (13, 9), ""),
        "palette.png": (_encoded(_noise(12, 10).convert("P"), "PNG"), (12, 10), ""),
        "palette_transparent.png": (_palette_with_transparency(), (9, 7), "alpha"),
        "rgba.png": (_encoded(Image.new("RGBA", (11, 6), (0, 128, 255, 90)), "PNG"), (11, 6), "alpha"),
        "cmyk.jpg": (_encoded(Image.new("CMYK", (16, 12), (0, 255, 255, 0)), "JPEG"), (16, 12), ""),
        "animated.gif": (animated_gif(), (10, 8), "first frame"),
        "exif_rotated.jpg": (exif_rotated_jpeg(), (12, 24), ""),
    }


def make_samples(folder: Path) -> dict[str, Sample]:
    """Write every sample into `folder`; returns name -> `Sample`."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = {}
    for name, (data, size, message) in sample_bytes().items():
        path = folder / name
        path.write_bytes(data)
        samples[name] = Sample(path, size is not None, size, message)
    return samples
