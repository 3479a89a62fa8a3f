"""Small pieces shared by the tabs: model lists, example photos, error translation, figures to images.

Free of Gradio imports at module level (the handlers, benchmarks and tests use it without building a page).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image

from srgan.checkpoints import CheckpointError
from srgan.images import ImageError
from srgan.resources import examples_dir

# The three methods of every comparison, in the order the class reads them.
METHODS = ("bicubic", "srresnet", "srgan")
METHOD_LABELS = {"bicubic": "Bicubic", "srresnet": "SRResNet (MSE)", "srgan": "SRGAN", "hr": "HR"}


def example_paths() -> list[str]:
    """The example images shipped in assets/examples (held-out photos, public domain / CC0), sorted."""
    return sorted(str(p) for p in examples_dir().glob("*.png"))


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


def retitled_table(value: Any, headers: list[str]) -> Any:
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
    return gr.update(value=value.set_axis(headers, axis=1), headers=headers)


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure not attached to pyplot's global state (safe in server threads)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def fig_to_pil(fig: Any, *, dpi: int = 100) -> Image.Image:
    """Render a `new_figure()` Figure to RGB PIL.

    Straight from Agg's pixel buffer: `savefig` to PNG and back would encode and decode the pixels for
    nothing (Gradio encodes what it sends), and it lays the figure out twice.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())  # (H, W, 4) -> (H, W, 3) uint8


def as_pil(image: Any) -> Image.Image:
    """numpy or PIL -> PIL (what Gradio hands to handlers)."""
    if image is None:
        raise ImageError("no image: upload one or pick an example")
    return Image.fromarray(image) if isinstance(image, np.ndarray) else image


def generator_choices() -> list[tuple[str, str]]:
    """(label, value) of the generators a tab can use: the bundled SRGAN, then fine-tuned runs, newest first."""
    from srgan.classroom.runs import list_runs

    return [("SRGAN (bundled)", "srgan"), ("SRResNet (bundled)", "srresnet")] + [
        (f"fine-tuned: {r.name}", r.name) for r in list_runs()
    ]


def resolve_generator(name: str) -> str:
    """A bundled name stays as it is; a fine-tuned run's name becomes its checkpoint path."""
    if name in ("srgan", "srresnet"):
        return name
    from srgan.classroom.runs import run_checkpoint

    return str(run_checkpoint(name))
