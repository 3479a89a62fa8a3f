"""Reading whatever a user uploads, safely, and turning it into the RGB the networks expect.

Every failure becomes an `ImageError` with a sentence a student understands; the CLI prints it on one
line (exit 2) and the app shows it as a `gr.Error`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Decoding a 40000x40000 "bomb" would take 4.8 GB; refuse anything above this many pixels on open.
MAX_DECODE_PIXELS = 64_000_000


class ImageError(ValueError):
    """An input that is not a usable image (the message is meant for the user)."""


@dataclass
class SplitImage:
    """An image separated into what the network sees (RGB) and what it does not (alpha, mode)."""

    rgb: Image.Image  # 8-bit RGB
    alpha: Image.Image | None  # 8-bit L, or None
    mode: str  # "RGB", "L" or "RGBA": the mode of the result we hand back
    note: str = ""  # something the user should know ("first frame of an animated GIF")


def open_image(source: str | Path | bytes, *, max_pixels: int = MAX_DECODE_PIXELS) -> Image.Image:
    """Open and fully decode an image file, applying its EXIF orientation.

    Raises:
        ImageError: empty, not an image, truncated, or larger than `max_pixels`.
    """
    name = "the upload" if isinstance(source, bytes) else Path(source).name
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{name}: file not found")
        if path.stat().st_size == 0:
            raise ImageError(f"{name} is an empty file")
        data: bytes | Path = path
    else:
        if not source:
            raise ImageError("the upload is an empty file")
        data = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
            w, h = image.size
            if w * h > max_pixels:
                raise ImageError(
                    f"{name} declares {w}x{h} pixels, more than the {max_pixels:,} allowed; resize it first"
                )
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # PIL refuses before we can read the size: far more pixels than any photo (a "decompression bomb")
        raise ImageError(
            f"{name} declares more than the {max_pixels:,} pixels allowed (it may be a "
            "'decompression bomb': a small file that would fill the memory); resize it first"
        ) from None
    except UnidentifiedImageError as e:
        raise ImageError(
            f"{name} is not an image this app can read (PNG, JPEG, GIF, WebP, BMP or TIFF; {type(e).__name__})"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name} is damaged or truncated ({e})") from None
    frames = getattr(image, "n_frames", 1)
    image = ImageOps.exif_transpose(image)  # a plain copy: it no longer knows it was animated
    image.info["n_frames"] = frames  # so split_image can still say "first frame only"
    return image


def split_image(image: Image.Image | np.ndarray) -> SplitImage:
    """Normalise any PIL mode or numpy array into 8-bit RGB (+ optional alpha).

    Handles: RGB, RGBA/LA (alpha kept), L/1/P (palette, with transparency), I;16/I/F (16-bit and
    float greyscale, rescaled to 8 bits), CMYK, YCbCr, animated images (first frame, with a note),
    and numpy arrays of shape (H, W), (H, W, 1|3|4) in uint8, uint16 or float in [0, 1].
    """
    note = ""
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image)
    if not isinstance(image, Image.Image):
        raise ImageError(f"expected an image, got {type(image).__name__}")
    if getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        note = "animated image: only the first frame was used"
    elif int(image.info.get("n_frames", 1)) > 1:  # opened by open_image: already the first frame
        note = "animated image: only the first frame was used"
    if image.width < 1 or image.height < 1:
        raise ImageError("the image has no pixels")
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _high_depth_to_l(image)
        mode = "L"
    if mode in ("1", "L"):
        return SplitImage(image.convert("RGB"), None, "L", note)
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        return SplitImage(rgba.convert("RGB"), rgba.getchannel("A"), "RGBA", note)
    return SplitImage(image.convert("RGB"), None, "RGB", note)


def to_rgb8(image: Image.Image | np.ndarray) -> Image.Image:
    """Any image -> 8-bit RGB (alpha dropped)."""
    return split_image(image).rgb


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    array = np.asarray(image).astype(np.float64)
    top = 65535.0 if image.mode.startswith("I") and array.max(initial=0) > 255 else 255.0
    if image.mode == "F":
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
    return Image.fromarray(np.clip(array / top * 255 + 0.5, 0, 255).astype(np.uint8))


def _array_to_pil(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.size == 0:
        raise ImageError("the image has no pixels")
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.uint16:
        array = (array.astype(np.float64) / 65535 * 255 + 0.5).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        array = (np.clip(np.nan_to_num(array), 0, 1) * 255 + 0.5).astype(np.uint8)
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    else:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))  # (H, W) -> L, (H, W, 3) -> RGB, (H, W, 4) -> RGBA
