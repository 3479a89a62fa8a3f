"""Gradio components with the behaviour a classroom needs (imported only by the tabs' build())."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from srgan.images import ImageError, open_image

from .common import example_paths, generator_choices
from .context import TabContext
from .i18n import Strings

STRINGS = Strings({
    "gan_model": ("Generator of the SRGAN column (bundled, or a fine-tuned run)",
                  "Generador de la columna SRGAN (incluido, o un ajuste fino)"),
    "examples": ("Examples (held out from training)", "Ejemplos (no usados en el entrenamiento)"),
})  # fmt: skip


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
        except Exception as e:  # noqa: BLE001 (PIL's UnidentifiedImageError, DecompressionBombError, truncated files)
            name = getattr(payload, "orig_name", None) or "the upload"
            path = getattr(payload, "path", None)
            if path:  # Gradio's own open failed: ours names the problem (a bomb, a truncated file...)
                try:
                    open_image(path)
                except ImageError as precise:
                    message = str(precise).replace(Path(path).name, name)
                    raise gr.Error(f"{message} / No se pudo leer la imagen.") from None
                except Exception:  # noqa: BLE001, S110 (then the general message below)
                    pass
            raise gr.Error(
                f"{name} is not an image this app can read ({type(e).__name__}). "
                f"/ {name} no es una imagen que esta aplicación pueda leer."
            ) from None


def upload_image(**kwargs: Any) -> UploadImage:
    """An `UploadImage` (filepath in, validated PIL out; PNG so that no pixel is lost to WebP)."""
    return UploadImage(type="filepath", format="png", **kwargs)


def generator_dropdown(ctx: TabContext) -> gr.Dropdown:
    """The "generator of the SRGAN column" picker shared by Compare, Feature maps and Loss lab.

    Lists the bundled SRGAN/SRResNet and every fine-tuned run; the list is refreshed whenever the tab is
    opened, and typed names are accepted (the handler validates them through `resolve_generator`).
    """
    dropdown = ctx.with_strings(STRINGS).widget(
        gr.Dropdown, "gan_model", generator_choices(ctx.default_lang), value="srgan", allow_custom_value=True
    )
    ctx.relabel(dropdown, generator_choices, "choices")
    ctx.tab.select(  # with the value it has: a dropdown given new choices alone shows a stale label
        lambda lang, value: gr.update(choices=generator_choices(lang), value=value),
        [ctx.lang, dropdown],
        dropdown,
        api_visibility="private",
    )
    return dropdown


def example_photos(ctx: TabContext, paths: list[str], inputs: Any) -> gr.Examples:
    """The held-out example photos under an upload, labelled in the app's language (and relabelled with it)."""
    ours = ctx.with_strings(STRINGS)
    block = gr.Examples(paths, inputs=inputs, label=ours.text("examples"))
    ours.relabel(block.dataset, "examples")  # the Examples' label lives on its Dataset
    return block


def example_upload(ctx: TabContext, label_key: str) -> tuple[UploadImage, list[str]]:
    """An upload pre-filled with the first held-out example (labelled with the tab's `label_key`), and the paths."""
    examples = example_paths()
    image = ctx.widget(upload_image, label_key, prop="label", value=examples[0] if examples else None, height=260)
    return image, examples
