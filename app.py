"""SRGAN Studio: the Gradio teaching app. It only assembles the tabs (one module each in ui/).

    python app.py                 # http://127.0.0.1:7860, bundled weights
    python app.py --lang es       # Spanish by default (also: http://127.0.0.1:7860/?lang=es)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import gradio as gr

from ui import compare, feature_maps, finetune, lessons, loss_lab, pixel_shuffle, prelu
from ui.context import AppSettings, TabContext
from ui.i18n import LANG_CHOICES, Relabel, normalise_lang, register, t

ROOT = Path(__file__).resolve().parent
register({
    "app_title": ("SRGAN Studio", "SRGAN Studio"),
    "app_subtitle": (
        "Super-resolution x4 with SRGAN (Ledig et al. 2017, arXiv 1609.04802): compare bicubic, the MSE-trained "
        "SRResNet and SRGAN, and open every piece of the paper.",
        "Superresolución x4 con SRGAN (Ledig et al. 2017, arXiv 1609.04802): compara bicúbica, SRResNet entrenada "
        "con MSE y SRGAN, y explora cada pieza del artículo.",
    ),
    "language": ("Language", "Idioma"),
    "tab_compare": ("Compare", "Comparar"),
    "tab_pixel_shuffle": ("PixelShuffle", "PixelShuffle"),
    "tab_prelu": ("PReLU", "PReLU"),
    "tab_feature_maps": ("Feature maps", "Mapas de activación"),
    "tab_loss_lab": ("Loss lab", "Laboratorio de pérdidas"),
})  # fmt: skip

TABS = (
    ("tab_compare", compare),
    ("tab_pixel_shuffle", pixel_shuffle),
    ("tab_prelu", prelu),
    ("tab_feature_maps", feature_maps),
    ("tab_loss_lab", loss_lab),
    ("tab_finetune", finetune),
    ("tab_lessons", lessons),
)
CSS = """
.gradio-container { max-width: 1800px !important; }
.srgan-header h1 { margin-bottom: 0; }
"""


def build_app(settings: AppSettings | None = None) -> gr.Blocks:
    """Build the Blocks app (not launched)."""
    settings = settings or AppSettings()
    lang0 = settings.default_lang
    tr = Relabel()
    with gr.Blocks(title="SRGAN Studio") as demo:
        with gr.Row(equal_height=True):
            with gr.Column(scale=5, elem_classes="srgan-header"):
                header = gr.Markdown(f"# {t('app_title', lang0)}\n{t('app_subtitle', lang0)}")
            lang = gr.Radio(LANG_CHOICES, value=lang0, label=t("language", lang0), scale=1, min_width=200)
        tr.add(header, lambda lg: f"# {t('app_title', lg)}\n{t('app_subtitle', lg)}", "value")
        tr.add(lang, "language")
        ctx = TabContext(lang=lang, tr=tr, settings=settings)
        with gr.Tabs():
            for key, module in TABS:
                with gr.Tab(t(key, lang0), id=key) as tab:
                    module.build(dataclasses.replace(ctx, tab=tab))
                tr.add(tab, key)
        lang.change(tr.updates, lang, tr.components, api_visibility="private", queue=False)

        def lang_from_url(request: gr.Request) -> str:
            return normalise_lang(request.query_params.get("lang", lang0)) if request else lang0

        demo.load(lang_from_url, None, lang, api_visibility="private", queue=False)
    return demo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="SRGAN Studio, the teaching app")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--lang", default="en", choices=["en", "es"], help="default language")
    p.add_argument("--max-input-pixels", type=int, default=AppSettings.max_input_pixels)
    p.add_argument("--max-upload-mb", type=float, default=AppSettings.max_upload_mb)
    args = p.parse_args(argv)
    settings = AppSettings(max_input_pixels=args.max_input_pixels, max_upload_mb=args.max_upload_mb,
                           default_lang=args.lang)  # fmt: skip
    demo = build_app(settings)
    demo.queue(default_concurrency_limit=2)
    demo.launch(server_name=args.host, server_port=args.port, max_file_size=int(args.max_upload_mb * 1024 * 1024),
                allowed_paths=[str(ROOT / "srgan")], css=CSS, show_error=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
