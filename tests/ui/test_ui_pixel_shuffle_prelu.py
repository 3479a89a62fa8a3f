"""The PixelShuffle and PReLU tabs: handlers called as plain functions (no server), and build() in a Blocks."""

from __future__ import annotations

import pytest
from PIL import Image

from srgan.checkpoints import CheckpointError
from ui import common, pixel_shuffle, prelu


def _missing(name: str):
    raise CheckpointError(f"the bundled {name!r} weights are missing")


@pytest.fixture
def tiny_models(monkeypatch, tiny_generator):
    """Both tabs see the tiny generator instead of the bundled weights."""
    monkeypatch.setattr(pixel_shuffle, "load_pretrained", lambda name: tiny_generator)
    monkeypatch.setattr(prelu, "load_pretrained", lambda name: tiny_generator)
    return tiny_generator


@pytest.mark.parametrize("lang", ["en", "es"])
def test_pixel_shuffle_view(tiny_models, lang: str) -> None:
    grid, check, real, real_text, checker, checker_text = pixel_shuffle.pixel_shuffle_view(1, 2, 3, 3, 63, lang)
    for image in (grid, real, checker):
        assert isinstance(image, Image.Image) and image.width >= 600 and image.height >= 300
    assert "**True**" in check and "✓" in check and "\\mathrm{PS}(T)" in check
    assert "**True**" in real_text and "(64, 48, 48)" in real_text  # 16 channels -> 4*16 at LR size
    assert "**15**" in real_text  # channel 63 is clamped to the tiny model's last channel
    spanish = lang == "es"
    assert ("con un tensor" in check) == spanish and ("Primer bloque" in real_text) == spanish
    assert ("Cada capa" in checker_text) == spanish and ("Each layer" in checker_text) != spanish


@pytest.mark.parametrize("C,r,H,W", [(3, 4, 4, 4), (1, 4, 1, 1), (3, 2, 1, 4)])
def test_pixel_shuffle_figure_sizes(tiny_models, C: int, r: int, H: int, W: int) -> None:
    image = pixel_shuffle.shuffle_figure(C, r, H, W, "en")
    assert 500 <= image.width <= 1700 and 300 <= image.height <= 1100  # fits a projector, not a poster


def test_pixel_shuffle_view_without_weights(monkeypatch) -> None:
    monkeypatch.setattr(pixel_shuffle, "load_pretrained", _missing)
    outputs = pixel_shuffle.pixel_shuffle_view(2, 3, 2, 2, 0, "es")
    assert outputs.real is None and "srresnet" in outputs.real_text and "SRResNet" in outputs.real_text
    assert isinstance(outputs.grid, Image.Image) and isinstance(outputs.checker, Image.Image)


def test_pixel_shuffle_view_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        pixel_shuffle.pixel_shuffle_view(4, 2, 2, 2, 0, "en")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_prelu_view(tiny_models, lang: str) -> None:
    curve, slopes, text = prelu.prelu_view(0.25, lang)
    assert isinstance(curve, Image.Image) and curve.width >= 500 and curve.height >= 400
    assert isinstance(slopes, Image.Image) and slopes.width >= 1000 and slopes.height >= 400
    assert "He et al. 2015" in text and "0.250" in text  # an untrained tiny model: every slope is 0.25
    assert ("Lo que dice la diapositiva" in text) == (lang == "es")
    assert ("The slide's claim" in text) == (lang == "en")


def test_prelu_view_reports_a_missing_model(monkeypatch, tiny_generator) -> None:
    monkeypatch.setattr(prelu, "load_pretrained", lambda name: tiny_generator if name == "srresnet" else _missing(name))
    _, slopes, text = prelu.prelu_view(-0.3, "en")
    assert isinstance(slopes, Image.Image)
    assert "**SRGAN** is not shown" in text and "'srgan'" in text
    monkeypatch.setattr(prelu, "load_pretrained", _missing)
    curve, slopes, text = prelu.prelu_view(1.0, "es")
    assert isinstance(curve, Image.Image) and slopes is None and "No se ha podido cargar" in text


def test_build_registers_the_api_names() -> None:
    import gradio as gr

    from ui.context import AppSettings, TabContext
    from ui.i18n import LANG_CHOICES, Relabel

    tr = Relabel()
    with gr.Blocks() as demo:
        lang = gr.Radio(LANG_CHOICES, value="en")
        with gr.Tab("PixelShuffle") as tab:
            pixel_shuffle.build(TabContext(lang=lang, tr=tr, settings=AppSettings(), tab=tab))
        with gr.Tab("PReLU") as tab:
            prelu.build(TabContext(lang=lang, tr=tr, settings=AppSettings(), tab=tab))
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert {"pixel_shuffle", "prelu"} <= api_names
    assert len(tr.items) >= 10 and len(tr.updates("es")) == len(tr.items)


def _numbered(monkeypatch, C, r, H, W) -> bool:
    """Whether the figure `pixel_shuffle_view` draws for these shapes has the numbers' path in it."""
    from matplotlib.patches import PathPatch

    figures = []

    def keep(fig, **kwargs):
        figures.append(fig)
        return common.fig_to_pil(fig, **kwargs)

    pixel_shuffle.shuffle_figure.cache_clear()
    monkeypatch.setattr(pixel_shuffle, "fig_to_pil", keep)
    pixel_shuffle.shuffle_figure(C, r, H, W, "en")
    return bool(figures[0].findobj(PathPatch))


@pytest.mark.parametrize("lang", ["en", "es"])
def test_pixel_shuffle_hides_unreadable_numbers_and_says_so(monkeypatch, lang):
    """Issue #18: at C=3, r=4 the numbers were unreadable; the grid shows colours only and the caption says why."""
    assert pixel_shuffle.cell_font_size(3, 4, 3, 3) < pixel_shuffle.MIN_CELL_FS
    assert not _numbered(monkeypatch, 3, 4, 3, 3) and _numbered(monkeypatch, 1, 2, 3, 3)
    small = pixel_shuffle.pixel_shuffle_view(3, 4, 3, 3, 0, lang).check
    assert small.startswith("*") and ("too small" in small if lang == "en" else "demasiado pequeños" in small)
    assert "C = 3, r = 4" in small
    readable = pixel_shuffle.pixel_shuffle_view(1, 2, 3, 3, 0, lang).check
    assert "too small" not in readable and "demasiado pequeños" not in readable
