"""Small pieces shared by the tabs: model lists, example photos, error translation, figures to images.

Free of Gradio imports at module level (the handlers, benchmarks and tests use it without building a page).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from PIL import Image

from srgan.checkpoints import CheckpointError
from srgan.images import ImageError
from srgan.resources import examples_dir

from .i18n import Strings

# The three methods of every comparison, in the order the class reads them.
METHODS = ("bicubic", "srresnet", "srgan")
METHOD_LABELS = {"bicubic": "Bicubic", "srresnet": "SRResNet (MSE)", "srgan": "SRGAN", "hr": "HR"}  # English
STRINGS = Strings({
    "bicubic": ("Bicubic", "Bicúbica"),
    "srresnet": ("SRResNet (MSE)", "SRResNet (MSE)"),
    "srgan": ("SRGAN", "SRGAN"),
    "hr": ("HR", "HR"),
    "bundled": ("{name} (bundled)", "{name} (incluido)"),
    "fine_tuned": ("fine-tuned: {name}", "ajuste fino: {name}"),
    "run_label": ("{name} (fine-tuned, {objective})", "{name} (ajuste fino, {objective})"),
    "mean": ("mean", "media"),
    "no_image": ("No image: upload one or pick an example.", "No hay imagen: sube una o elige un ejemplo."),
})  # fmt: skip
OBJECTIVE_SHORT = {"mse": "MSE", "vgg54": "VGG54", "srgan": "SRGAN"}  # a run's objective, as its label says it


def method_label(name: str, lang: str = "en", *, gan_label: str | None = None) -> str:
    """What the class reads for a method ("bicubic" -> "Bicúbica" in Spanish).

    `gan_label` names the generator of the SRGAN column when it is not the bundled SRGAN (`generator_label`):
    every panel, table, figure and download of that column then says which network made it.
    """
    if name == "srgan" and gan_label:
        return gan_label
    return STRINGS.t(name, lang) if name in STRINGS else name


def generator_label(gan_model: str, lang: str = "en") -> str:
    """The name of a generator as the class should read it: "SRGAN", "SRResNet (MSE)" or "run-7 (fine-tuned, MSE)".

    A fine-tuned run keeps its own name and says its objective (an SRResNet fine-tuned with MSE is no SRGAN).
    """
    if gan_model in ("srgan", "srresnet"):
        return STRINGS.t(gan_model, lang)
    objective = run_objective(gan_model)
    if objective is None:
        return str(gan_model)
    return STRINGS.t("run_label", lang, name=gan_model, objective=OBJECTIVE_SHORT.get(objective, objective))


def run_objective(name: str) -> str | None:
    """The objective ("mse", "vgg54", "srgan") a fine-tuned run was trained with; None when unknown."""
    from srgan.classroom.runs import list_runs

    for run in list_runs():
        if run.name == name:
            return run.metadata.get("objective")
    return None


def example_paths() -> list[str]:
    """The example images shipped in assets/examples (held-out photos, public domain / CC0), sorted."""
    return sorted(str(p) for p in examples_dir().glob("*.png"))


def first_example() -> Image.Image | None:
    """The example every upload starts with, opened as the upload hands it to a handler (None if none ships)."""
    from srgan.images import open_image

    paths = example_paths()
    return open_image(paths[0]) if paths else None


def user_errors(fn: Callable) -> Callable:
    """Wrap a plain handler for Gradio: user-facing errors become `gr.Error` (a toast, no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import gradio as gr

        try:
            return fn(*args, **kwargs)
        except (ImageError, CheckpointError, ValueError) as e:
            raise gr.Error(str(e)) from None

    return wrapper


def user_errors_gen(fn: Callable) -> Callable:
    """`user_errors` for generator handlers (streaming events)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import gradio as gr

        try:
            yield from fn(*args, **kwargs)
        except (ImageError, CheckpointError, ValueError) as e:
            raise gr.Error(str(e)) from None

    return wrapper


def output_list(result_type: type, widgets: Mapping[str, Any]) -> list[Any]:
    """The widgets showing a handler's NamedTuple result, in the order of its fields.

    The one adapter between a handler's named result and the positional outputs of a Gradio event: the
    wiring names each widget after the field it shows, so two outputs cannot be swapped by position.

    Raises:
        KeyError: a field with no widget of that name.
    """
    missing = [name for name in result_type._fields if name not in widgets]
    if missing:
        raise KeyError(f"no widget for the field(s) {missing} of {result_type.__name__}")
    return [widgets[name] for name in result_type._fields]


def retitled_table(value: Any, headers: list[str], *, lang: str | None = None) -> Any:
    """A Dataframe update with new column titles that keeps its rows (the language switch of a table).

    `gr.update(headers=...)` alone changes the titles Gradio uses from then on, but a table already showing
    rows keeps its old titles on screen; sending the rows again under the new titles changes both.

    Args:
        value: what Gradio hands the event for the table: a pandas DataFrame, or None.
        headers: the new titles, one per column.
    """
    import gradio as gr

    if value is None or len(value.columns) != len(headers):
        return gr.update(headers=headers)
    value = value.set_axis(headers, axis=1)
    if lang is not None and len(value.columns):  # the first column names the methods: in `lang` too
        value[value.columns[0]] = [relabel_method(str(cell), lang) for cell in value[value.columns[0]]]
    return gr.update(value=value, headers=headers)


def relabel_method(label: str, lang: str) -> str:
    """A method's name shown in either language, in `lang` ("Bicubic" -> "Bicúbica"; a run's label too)."""
    for key in ("bicubic", "srresnet", "srgan", "hr"):
        if label in STRINGS[key]:
            return STRINGS.t(key, lang)
    for en, es in ((" (fine-tuned, ", " (ajuste fino, "),):
        label = label.replace(es, en) if lang == "en" else label.replace(en, es)
    return label


def empty_table(headers: list[str]) -> Any:
    """A table with titles and no rows (an empty gr.Dataframe keeps the titles it was made with: give it this)."""
    import pandas as pd

    return pd.DataFrame(columns=headers)


def new_figure(width: float, height: float, scale: float | None = None) -> Any:
    """A matplotlib Figure not attached to pyplot's global state (safe in server threads).

    `scale` > 1 (presenter mode) makes every text of the figure that much larger against its drawing: the
    figure is made `scale` times smaller in inches and drawn at `scale` times the dpi (`fig_to_pil`), so it
    has the same pixels, and font sizes (in points) cover `scale` times as many of them. By default it is the
    scale of the event being handled (`figure_scale()`: the page's presenter mode, see `presenter_scaled`).
    """
    from matplotlib.figure import Figure

    scale = figure_scale() if scale is None else scale
    fig = Figure(figsize=(width / scale, height / scale), layout="constrained")
    fig.srgan_scale = scale  # read by fig_to_pil
    return fig


def fig_to_pil(fig: Any, *, dpi: int = 100) -> Image.Image:
    """Render a `new_figure()` Figure to RGB PIL.

    Straight from Agg's pixel buffer: `savefig` to PNG and back would encode and decode the pixels for
    nothing (Gradio encodes what it sends), and it lays the figure out twice.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi * getattr(fig, "srgan_scale", 1.0))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())  # (H, W, 4) -> (H, W, 3) uint8


def as_pil(image: Any, lang: str = "en") -> Image.Image:
    """numpy or PIL -> PIL (what Gradio hands to handlers); no image is an `ImageError` in the user's language."""
    if image is None:
        raise ImageError(STRINGS.t("no_image", lang))
    return Image.fromarray(image) if isinstance(image, np.ndarray) else image


def generator_choices(lang: str = "en") -> list[tuple[str, str]]:
    """(label, value) of the generators a tab can use: the bundled SRGAN, then fine-tuned runs, newest first."""
    from srgan.classroom.runs import list_runs

    t = STRINGS.t
    return [(t("bundled", lang, name="SRGAN"), "srgan"), (t("bundled", lang, name="SRResNet"), "srresnet")] + [
        (t("fine_tuned", lang, name=r.name), r.name) for r in list_runs()
    ]


PRESENTER_SCALE = 1.5  # how much larger a figure's text is in presenter mode (`new_figure(scale=...)`)
# The one place a figure learns the page's presenter mode: set for the length of an event (`presenter_scaled`).
_FIGURE_SCALE: contextvars.ContextVar[float] = contextvars.ContextVar("figure_scale", default=1.0)


def figure_scale(presenter: bool | None = None) -> float:
    """The `scale` of `new_figure`: for a page in presenter mode (True) or not (False); by default the current event's.

    A figure cached across events takes it as an argument (its cache key), so that both sizes are kept apart.
    """
    if presenter is None:
        return _FIGURE_SCALE.get()
    return PRESENTER_SCALE if presenter else 1.0


@contextlib.contextmanager
def presenter_figures(presenter: bool) -> Iterator[None]:
    """Inside, `new_figure` draws for a page in presenter mode (`presenter`) or not."""
    token = _FIGURE_SCALE.set(figure_scale(bool(presenter)))
    try:
        yield
    finally:
        _FIGURE_SCALE.reset(token)


def presenter_scaled(fn: Callable) -> Callable:
    """`fn` for a Gradio event with the presenter checkbox as its last input: its figures get presenter-sized text.

    The wrapper takes one more positional argument, the checkbox's value, after `fn`'s own positional ones,
    and draws `fn`'s figures inside `presenter_figures(it)`: no handler passes the mode down to its figures.
    Its signature says so, so Gradio still injects a `gr.Request` or `gr.Progress` where `fn` asks for one.
    A generator (a streaming event) is resumed inside it at every step: Gradio may run each in another thread.
    """
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    at = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    extra = inspect.Parameter("presenter", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)

    if inspect.isgeneratorfunction(fn):  # what is called: a generator wrapper (user_errors_gen), or a partial of one

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            *args, presenter = args
            steps = fn(*args, **kwargs)
            while True:
                with presenter_figures(presenter):
                    try:
                        item = next(steps)
                    except StopIteration:
                        return
                yield item

    else:

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            *args, presenter = args
            with presenter_figures(presenter):
                return fn(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*params[:at], extra, *params[at:]])
    return wrapper


def resolve_generator(name: str) -> str:
    """A bundled name stays as it is; a fine-tuned run's name becomes its checkpoint path."""
    if name in ("srgan", "srresnet"):
        return name
    from srgan.classroom.runs import run_checkpoint

    return str(run_checkpoint(name))


# The tabs' own CSS (app.py adds it to the page's).
TAB_CSS = """
/* A page opened in another language than the server's stays hidden until relabelled (i18n.page_head). */
html.srgan-relabelling gradio-app { visibility: hidden; }
/* Results, zooms and sliders: upscaled pixels stay sharp, and the image fills its panel. */
/* .srgan-fill: a small picture (the ablation's 96x96, the Realism dial's crops) drawn as large as its panel. */
.srgan-result img, .srgan-pixels img, .srgan-fill img { image-rendering: pixelated; }
.srgan-result img, .srgan-fill img { width: 100%; height: 100%; object-fit: contain; }
.srgan-result button, .srgan-result .image-frame, .srgan-result .image-container { position: relative; }
/* The zoom's square over every result (compare.ZOOM_BOX_JS). */
.srgan-zoom-box { position: absolute; pointer-events: none; border: 2px solid #ff2828;
                  box-shadow: 0 0 0 1px rgba(255, 255, 255, 0.9); }
/* Figures carry their titles at the top: the buttons of a shown image (download, full screen) sit in a row
   of their own above it, not over the title (the result panels keep them on the picture: room for it). */
.gradio-container .block:not(.srgan-result) .image-container > .icon-button-wrapper.top-panel {
  position: static !important; justify-content: flex-end; margin: 0 0 2px auto; order: -1; }
/* A panel's label takes a line of its own above the buttons: floated, a long one ("Your image (G reads a centre
   crop ...)") ran under them and over the picture, at laptop and projector widths as on a phone. */
.gradio-container .block:not(.srgan-result) label[data-testid="block-label"].float {
  position: static !important; white-space: normal; max-width: 100%; margin-bottom: 2px; }
/* ... and a panel given a height keeps it: its picture shrinks by that line (a flex column), instead of the
   panel's bottom (the upload, webcam and clipboard row; the picture's last rows) being cut off. */
.gradio-container .block:not(.srgan-result):has(> label[data-testid="block-label"].float),
.gradio-container .block:not(.srgan-result) > label[data-testid="block-label"].float ~ .image-container {
  display: flex; flex-direction: column; }
.gradio-container .block:not(.srgan-result) > label[data-testid="block-label"].float ~ .image-container,
.gradio-container .block:not(.srgan-result) > label[data-testid="block-label"].float ~ .image-container
  > :is(button, .upload-container) { flex: 1 1 auto; min-height: 0; height: auto !important; }
/* Tables break between words, never inside one (a narrow column scrolls instead). */
.gradio-container table th, .gradio-container table th *, .gradio-container table td,
.gradio-container table td * { word-break: normal !important; overflow-wrap: normal !important; hyphens: none; }
.gradio-container .prose table { display: block; overflow-x: auto; max-width: 100%; }
.gradio-container .prose table th, .gradio-container .prose table td { white-space: nowrap; }
/* Presenter mode, Compare tab: the input, the button and the three results on the first screen. */
body.srgan-presenter .srgan-header .prose p { display: none; }
body.srgan-presenter .srgan-compare-row > .column:first-child { min-width: 360px !important; max-width: 420px; }
body.srgan-presenter .srgan-compare-row .srgan-upload { height: 240px !important; }
body.srgan-presenter .srgan-result { height: calc(100vh - 330px) !important; min-height: 420px; }
"""
