"""SRGAN Studio: the Gradio teaching app. It only assembles the tabs (one module each in ui/).

python app.py                 # http://127.0.0.1:7860, bundled weights (app.py, at the top, only calls main())
python app.py --lang es       # Spanish by default (also: http://127.0.0.1:7860/?lang=es)
srgan-studio                  # the same from an installed wheel (or: python -m srgan app)

A new tab: its module in ui/, one name in the import below and one in TABS.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import gradio as gr

from . import (
    architecture,
    code_view,
    compare,
    feature_maps,
    finetune,
    lessons,
    loss_lab,
    mos,
    mos_phone,
    pixel_shuffle,
    prelu,
    realism,
)
from .common import TAB_CSS
from .context import AppSettings, Tab, TabContext
from .i18n import LANG_CHOICES, Relabel, Strings, page_head
from .launch import (
    DELETE_CACHE,
    exposure_warning,
    launch_kwargs,
    parse_args,
    settings_from_args,
    start_cleanup,
    warm_up_in_background,
)

STRINGS = Strings({
    "app_title": ("SRGAN Studio", "SRGAN Studio"),
    "app_subtitle": (
        ("Super-resolution x4 with SRGAN (Ledig et al. 2017, arXiv 1609.04802): compare bicubic, the MSE-trained "
        "SRResNet and SRGAN, and open every piece of the paper."),
        ("Superresolución x4 con SRGAN (Ledig et al. 2017, arXiv 1609.04802): compara bicúbica, SRResNet entrenada "
        "con MSE y SRGAN, y explora cada pieza del artículo."),
    ),
    "language": ("Language", "Idioma"),
    "presenter": ("Presenter mode (large type)", "Modo presentación (letra grande)"),
})  # fmt: skip
t = STRINGS.t

# The tabs, in the order they appear; each module's KEY is its gr.Tab id and its title's key.
TABS: tuple[Tab, ...] = (
    compare,
    pixel_shuffle,
    prelu,
    feature_maps,
    loss_lab,
    realism,
    architecture,
    finetune,
    mos,
    lessons,
)
CSS = """
.gradio-container { max-width: 1800px !important; }
.srgan-header h1 { margin-bottom: 0; }
/* Presenter mode (?presenter=1, or the header's checkbox): large type for projectors, and the Compare
   tab's results full width under its inputs. Theme sizes are CSS variables resolved on :root, so each
   derived one (body, labels, inputs, buttons) is set here too, not only --text-md. */
body.srgan-presenter .gradio-container {
  --text-xs: 14px; --text-sm: 17px; --text-md: 21px; --text-lg: 24px; --text-xl: 30px; --text-xxl: 38px;
  --body-text-size: 21px; --prose-text-size: 21px; --input-text-size: 21px; --checkbox-label-text-size: 21px;
  --block-label-text-size: 18px; --block-title-text-size: 21px; --block-info-text-size: 17px;
  --section-header-text-size: 21px; --button-large-text-size: 24px; --button-medium-text-size: 21px;
  --button-small-text-size: 18px; font-size: 21px;
}
body.srgan-presenter .tab-container button, body.srgan-presenter button[role="tab"] { font-size: 21px; }
/* The /mos route makes Gradio draw a navigation bar with an English "Home" link on every page, which
   gr.Navbar(visible=False) does not remove in Gradio 6.31; the app has no use for it. */
.nav-holder { display: none !important; }
"""
PRESENTER_JS = "(on) => { document.body.classList.toggle('srgan-presenter', on === true); return []; }"


def header_markdown(lang: str) -> str:
    return f"# {t('app_title', lang)}\n{t('app_subtitle', lang)}"


def build_app(settings: AppSettings | None = None) -> gr.Blocks:
    """Build the Blocks app (not launched)."""
    settings = settings or AppSettings()
    lang0 = settings.default_lang
    page = TabContext(lang=None, tr=Relabel(), settings=settings, strings=STRINGS)  # the header's own strings
    with gr.Blocks(title="SRGAN Studio", delete_cache=DELETE_CACHE) as demo:  # uploads don't pile up
        with gr.Row(equal_height=True):
            with gr.Column(scale=5, elem_classes="srgan-header"):
                page.relabel(gr.Markdown(header_markdown(lang0)), header_markdown, "value")
            lang = page.widget(gr.Radio, "language", LANG_CHOICES, value=lang0, scale=1, min_width=200)
            presenter = page.widget(
                gr.Checkbox, "presenter", False, scale=1, min_width=160, elem_id="srgan-presenter-toggle"
            )
        ctx = dataclasses.replace(page, lang=lang, strings=None, presenter=presenter)
        with gr.Tabs():
            for module in TABS:
                with gr.Tab(module.STRINGS.t(module.KEY, lang0), id=module.KEY) as tab:
                    module.build(dataclasses.replace(ctx, tab=tab))
                ctx.tr.add(tab, module.STRINGS.producer(module.KEY))
        ctx.wire_language(demo)  # ?lang=es, the relabelling, the tab on screen redrawn, Gradio's own locale
        _wire_url_options(demo, presenter)
    mos_phone.build_page(demo, settings)  # /mos: the students' phone page (a route of its own)
    return demo


def _wire_url_options(demo: gr.Blocks, presenter: gr.Checkbox) -> None:
    """?presenter=1 ticks the checkbox, whose change (JS only) sets a class on <body> (?lang=es: wire_language)."""

    def presenter_from_url(request: gr.Request) -> bool:
        return bool(request) and request.query_params.get("presenter", "").lower() in ("1", "true", "yes", "on")

    demo.load(presenter_from_url, None, presenter, api_visibility="private", queue=False)
    presenter.change(None, presenter, None, js=PRESENTER_JS, api_visibility="private", queue=False)


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Serve the app; flags in ui/launch.py (a bad one: one line on stderr, exit 2).

    The entry point of `python app.py`, of the `srgan-studio` command and of `python -m srgan app` (`prog`: how
    its messages name the command; by default the `srgan-studio` command by that name, else `python app.py`).
    """
    if prog is None:
        prog = "srgan-studio" if Path(sys.argv[0]).name == "srgan-studio" else "python app.py"
    args = parse_args(argv, prog=prog)
    warning = exposure_warning(args)
    if warning:  # reachable by others without a password: say so before anything else
        print(warning, file=sys.stderr, flush=True)
    demo = build_app(settings_from_args(args))
    demo.queue(default_concurrency_limit=2)
    start_cleanup()  # old runs and temporary downloads, every hour
    warm_up_in_background()  # the CPU convolution kernel and the VGG19, before the first requests
    demo.launch(
        **launch_kwargs(args),
        app_kwargs={"routes": code_view.routes()},  # /code: the lessons' links to the srgan package's source
        css=CSS + TAB_CSS + architecture.CSS,
        head=page_head(args.lang),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
