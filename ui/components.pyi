"""Gradio components with the behaviour a classroom needs (imported only by the tabs' build())."""

from __future__ import annotations

from typing import Any

import gradio as gr

from srgan.images import ImageError, open_image

class UploadImage(gr.Image):
    """`gr.Image` whose uploads are opened by `srgan.images.open_image`.

    Gradio's own preprocessing fails on a non-image, a truncated file or a decompression bomb with a
    technical message naming internal classes; this one answers with a sentence a student understands
    (in both languages, since the upload happens before we know the handler's language), and hands the
    handler an already validated, EXIF-rotated PIL image. Create it with `upload_image(...)`.
    """

    is_template = True  # rendered by Gradio's own image frontend (see gradio/templates.py)

    def preprocess(self, payload: Any) -> Any:
        try:
            path = super().preprocess(payload)
            return None if path is None else open_image(path)
        except ImageError as e:
            raise gr.Error(f"{e} / No se pudo leer la imagen.") from None
        except Exception as e:  # PIL's UnidentifiedImageError, DecompressionBombError, truncated files
            name = getattr(payload, "orig_name", None) or "the upload"
            raise gr.Error(
                f"{name} is not an image this app can read ({type(e).__name__}). "
                f"/ {name} no es una imagen que esta aplicación pueda leer."
            ) from None
    from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component
