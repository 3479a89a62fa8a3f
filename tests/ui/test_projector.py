"""Issue #18, what a lecturer meets at the projector: the handlers' side (no server). Browser side:
tests/browser/test_projector_browser.py."""

import inspect
import json
import typing

import gradio as gr
import numpy as np
import pytest
from matplotlib.text import Text
from PIL import Image

from srgan.checkpoints import save_checkpoint
from srgan.classroom.mos import METHODS as MOS_METHODS
from srgan.classroom.mos import Results
from srgan.classroom.mos_stats import summarise
from srgan.classroom.runs import RunStatus
from ui import architecture, common, compare, feature_maps, finetune, loss_lab, mos, pixel_shuffle, prelu, realism
from ui.common import example_paths


@pytest.fixture(scope="module")
def example():
    return Image.open(example_paths()[0]).convert("RGB")


@pytest.fixture
def mse_run(tmp_path, monkeypatch):
    """A fine-tuned SRResNet-MSE run on disk (its weights: the bundled SRResNet's)."""
    from srgan.checkpoints import load_pretrained

    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path))
    folder = tmp_path / "20250101-000000_lecture"
    save_checkpoint(load_pretrained("srresnet"), folder / "generator.safetensors", recipe={"steps_done": 5})
    (folder / "run.json").write_text(json.dumps({"objective": "mse", "base": "srresnet", "state": "done"}))
    return folder.name


def test_a_fine_tuned_run_is_named_after_itself_everywhere(example, mse_run):
    out = compare.upscale(example.resize((24, 20)), "ground_truth", gan_model=mse_run)
    label = "20250101-000000_lecture (fine-tuned, MSE)"
    assert common.generator_label(mse_run) == label
    assert common.generator_label(mse_run, "es") == "20250101-000000_lecture (ajuste fino, MSE)"
    assert [row[0] for row in out.metrics][2] == label
    assert compare.result_labels(out.result)["srgan"] == label
    assert [label for label, _ in compare.pair_choices(out.result)][2] == label
    assert any(p.endswith("20250101-000000_lecture_x4.png") for p in out.downloads)
    assert not any(p.endswith("srgan_x4.png") for p in out.downloads)
    assert loss_lab.loss_lab(example, gan_model=mse_run).table[3][0] == label
    assert feature_maps.feature_maps(example, gan_model=mse_run).losses[3][0] == label


def test_spanish_names_the_methods_in_spanish(example):
    out = compare.upscale(example.crop((0, 0, 64, 48)), "ground_truth", lang="es")
    assert out.metrics[0][0] == "Bicúbica"
    assert compare.result_labels(out.result, "es")["bicubic"] == "Bicúbica"
    assert [label for label, _ in common.generator_choices("es")][:2] == ["SRGAN (incluido)", "SRResNet (incluido)"]
    assert "Bloque 3 del discriminador" in {v: k for k, v in feature_maps.layer_choices("es")}["D3"]
    assert loss_lab.loss_lab(example, "es").table[1][0] == "Bicúbica"
    assert common.relabel_method("Bicubic", "es") == "Bicúbica" and common.relabel_method("Bicúbica", "en") == "Bicubic"
    assert "canal 0" in pixel_shuffle.STRINGS.t("ps_fig_in_label", "es", k=0)
    code = pixel_shuffle.shuffle_check_markdown(3, 2, 2, 2, "es")
    assert "i junto a h" in code and "next to" not in code


def test_the_status_follows_the_language_switch(example):
    """The notes of a result are kept as keys: the status is all Spanish after a switch, not half English."""
    out = compare.upscale(example.crop((0, 0, 64, 48)), "ground_truth", lang="en")
    spanish = compare.status_text(out.result, "es")
    assert "reduj" in spanish and "was used" not in spanish and " in " not in spanish


def test_the_click_handler_gets_the_select_data():
    """Gradio finds gr.SelectData by the annotation: a string ("gr.SelectData", from `from __future__ import
    annotations` with a local import) cannot be resolved and the handler got evt=None (the zoom never moved)."""
    with gr.Blocks():
        ctx_lang = gr.Radio(["en", "es"], value="en")
        from ui.context import AppSettings, TabContext
        from ui.i18n import Relabel

        with gr.Tabs(), gr.Tab("Compare", id="tab_compare") as tab:
            ctx = TabContext(lang=ctx_lang, tr=Relabel(), settings=AppSettings(), tab=tab)
            compare.build(ctx)
        handlers = [
            fn
            for block in gr.context.Context.root_block.fns.values()
            if (fn := block.fn) and fn.__name__ == "on_select"
        ]
    assert handlers
    for fn in handlers:
        assert typing.get_type_hints(fn)["evt"] is gr.SelectData
        assert "evt" in inspect.signature(fn).parameters


def test_the_zoom_region_is_the_same_square_as_the_panel_crop(example):
    out = compare.upscale(example.resize((24, 20)))
    x0, y0, side = compare.zoom_region(96, 80, 0.2, 0.7, 0.25)
    assert (x0, y0, side) == (9, 46, 20)
    panel = compare.zoom_panel(out.result, 0.2, 0.7, 0.25, tile=side)
    crop = out.result.images["bicubic"].crop((x0, y0, x0 + side, y0 + side))
    assert np.array_equal(np.asarray(panel.crop((0, 0, side, side))), np.asarray(crop))


def test_figures_scale_their_text_with_presenter_mode():
    small, large = common.new_figure(8, 4), common.new_figure(8, 4, scale=1.5)
    for fig in (small, large):
        fig.text(0.5, 0.5, "x", fontsize=10)
    a, b = common.fig_to_pil(small), common.fig_to_pil(large)
    assert a.size == b.size  # the same pixels, text 1.5 times larger against them
    assert large.get_size_inches()[0] * large.dpi == pytest.approx(small.get_size_inches()[0] * small.dpi)


def _text_heights(module, monkeypatch, make) -> list[float]:
    """The height in pixels of every text of the figures `make()` draws through `module.fig_to_pil`."""
    figures = []

    def keep(fig, **kwargs):
        figures.append(fig)
        return common.fig_to_pil(fig, **kwargs)

    monkeypatch.setattr(module, "fig_to_pil", keep)
    make()
    assert figures, "no figure drawn"
    heights = []
    for fig in figures:
        renderer = fig.canvas.get_renderer()
        texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
        heights += [t.get_window_extent(renderer).height for t in texts]
    return heights


def _results() -> Results:
    """A MOS session's results with votes for every method (what the teacher projects)."""
    stats = {m: summarise({"a": [2.0, 3.0], "b": [4.0, 3.0]}) for m in MOS_METHODS}
    return Results(code="ABCD", revealed=True, labels={}, stats=stats, votes=12, voters=2, n_crops=3)


def _run_status() -> RunStatus:
    """A fine-tuning run with logged losses and PSNR (what its curves show)."""
    log = [{"step": k, "content": 0.01 / k, "psnr_y": 25 + k / 10, "adversarial": 0.7, "d_loss": 1.3}
           for k in range(1, 30)]  # fmt: skip
    # The same name and log at both sizes: a cached drawing (curves_figure) must still come in each size.
    return RunStatus(name="presenter-test-run", state="running", step=29, total=50, log=log, base_psnr_y=25.0,
                     settings={"objective": "srgan"})  # fmt: skip


FIGURE_HANDLERS = {
    "compare": (compare, lambda ex: compare.upscale(ex.resize((24, 20)))),
    "pixel_shuffle": (pixel_shuffle, lambda ex: pixel_shuffle.pixel_shuffle_view()),
    "prelu": (prelu, lambda ex: prelu.prelu_view(0.25, "en", "")),
    "feature_maps": (feature_maps, lambda ex: feature_maps.feature_maps(ex, "relu1_2", 2)),
    "loss_lab": (loss_lab, lambda ex: loss_lab.loss_lab(ex.crop((0, 0, 96, 96)))),
    "fig3": (loss_lab, lambda ex: loss_lab.fig3_live(ex, count=2)),
    "realism": (realism, lambda ex: realism.perception_distortion(ex, 0.5)),
    "finetune": (finetune, lambda ex: finetune.curves_figure(_run_status())),
    "mos": (mos, lambda ex: mos.results_chart(_results())),
    "architecture": (architecture, lambda ex: architecture.diagram_view(ex.crop((0, 0, 64, 64)))),
}


@pytest.mark.parametrize("name", FIGURE_HANDLERS)
def test_presenter_mode_draws_the_figures_text_larger(name, example, monkeypatch):
    """Issue #18: every tab's figures have larger text in presenter mode (the same pixels), read from one place."""
    module, make = FIGURE_HANDLERS[name]
    for cached in ("checkerboard_figure", "slopes_figure"):
        getattr(getattr(module, cached, None), "cache_clear", lambda: None)()
    with common.presenter_figures(False):
        normal = _text_heights(module, monkeypatch, lambda: make(example))
    with common.presenter_figures(True):
        large = _text_heights(module, monkeypatch, lambda: make(example))
    assert np.median(large) >= 1.4 * np.median(normal), (np.median(normal), np.median(large))


def test_presenter_scaled_appends_the_checkbox_and_keeps_gradios_special_arguments():
    """The wrapper takes the presenter value last among the positional arguments, after a gr.Request or
    gr.Progress that Gradio inserts by position, and sets the figure scale for the call (and each step)."""

    def handler(image, lang="en", request: gr.Request = None, progress=gr.Progress()):  # noqa: B008
        return image, lang, request, progress, common.figure_scale()

    def stream(lang):
        yield common.figure_scale()
        yield common.figure_scale()

    wrapped = common.presenter_scaled(handler)
    names = list(inspect.signature(wrapped).parameters)
    assert names == ["image", "lang", "request", "progress", "presenter"]
    inputs, progress_at, _, _ = gr.helpers.special_args(wrapped, ["img", "es", True], request="REQ")
    assert progress_at == 3 and inputs[:3] == ["img", "es", "REQ"] and inputs[4] is True
    assert wrapped(*inputs)[-1] == common.PRESENTER_SCALE
    assert common.figure_scale() == 1.0  # reset after the call
    steps = common.presenter_scaled(stream)("en", True)
    assert list(steps) == [common.PRESENTER_SCALE] * 2
    assert common.figure_scale() == 1.0


FIGURE_EVENTS = ("upscale", "pixel_shuffle", "prelu", "feature_maps", "losses", "fig3", "realism",
                 "perception_distortion", "finetune", "finetune_watch", "mos_results", "mos_reveal", "mos_reset",
                 "mos_undo_reset", "architecture", "ablation", "gan_run")  # fmt: skip


def test_every_event_that_draws_a_figure_reads_the_presenter_checkbox():
    from ui import app

    demo = app.build_app()
    toggle = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "srgan-presenter-toggle")
    events = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    for name in FIGURE_EVENTS:
        assert toggle in events[name].inputs, name
        assert events[name].inputs[-1] is toggle, name
