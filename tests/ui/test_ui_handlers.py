"""The Compare, Feature maps and Loss lab handlers as plain functions (no server), with the bundled weights."""

import numpy as np
import pytest
from PIL import Image

from srgan.images import ImageError
from ui import compare, feature_maps, loss_lab
from ui.common import example_paths


@pytest.fixture(scope="module")
def example():
    return Image.open(example_paths()[0]).convert("RGB")


def test_upscale_mode_returns_three_results_at_4x(example):
    out = compare.upscale(example.resize((24, 20)))
    assert [Image.open(p).size for p in (out.bicubic, out.srresnet, out.srgan)] == [(96, 80)] * 3
    # The page then shows them 10x larger (nearest neighbour: sharp pixels, clicks map to image coordinates).
    assert Image.open(compare.shown_view(out.result, "srgan")).size == (960, 800)
    assert out.result.view_scale == 10
    assert out.hr is None
    assert "Ground truth" in out.metrics[0][0]  # no HR: the table says how to get scores
    assert len(out.downloads) == 3 and all(p.endswith(".png") for p in out.downloads)
    assert Image.open(out.slider[0]).size == Image.open(out.slider[1]).size == (96, 80)


def test_the_panels_show_the_downloaded_files_and_survive_their_pruning(example):
    """Each result is encoded once: the panels get the download PNGs, which hold the results' exact pixels."""
    import shutil
    from pathlib import Path

    out = compare.upscale(example.crop((0, 0, 40, 30)), "ground_truth")
    result, downloads = out.result, out.downloads
    panels = [out.bicubic, out.srresnet, out.srgan, out.hr]
    assert panels == downloads == [result.files[m] for m in ("bicubic", "srresnet", "srgan", "hr")]
    assert [compare.shown_view(result, m) for m in ("bicubic", "srresnet", "srgan", "hr")] == [
        result.views[m] for m in ("bicubic", "srresnet", "srgan", "hr")
    ]
    k = result.view_scale
    for name, path in result.files.items():
        assert np.array_equal(np.asarray(Image.open(path)), np.asarray(result.images[name]))
        view = np.asarray(Image.open(result.views[name]))  # each pixel a k x k block
        assert np.array_equal(view[::k, ::k], np.asarray(result.images[name]))
    assert out.slider == (result.files["bicubic"], result.files["srgan"])
    shutil.rmtree(Path(downloads[0]).parent)  # the app prunes old temporary folders: the images stand in
    a, b = compare.slider_pair(result, "hr", "srresnet")
    assert a is result.images["hr"] and b is result.images["srresnet"]


def test_ground_truth_mode_scores_every_method(example):
    out = compare.upscale(example.crop((0, 0, 64, 48)), "ground_truth", lang="es")
    hr, table, status = Image.open(out.hr), out.metrics, out.status
    assert hr.size == (64, 48) and [row[0] for row in table] == ["Bicúbica", "SRResNet (MSE)", "SRGAN", "HR"]
    assert table[-1][1] == "∞" and float(table[0][1]) > 15
    assert "reduj" in status  # the Spanish note about the downsampled upload


def test_too_large_uploads_get_a_message_with_what_to_do():
    big = Image.new("RGB", (600, 500))
    with pytest.raises(ImageError, match="python -m srgan upscale"):
        compare.upscale(big, max_input_pixels=512 * 512)
    with pytest.raises(ImageError, match="Recórtala"):
        compare.upscale(big, lang="es", max_input_pixels=512 * 512)
    with pytest.raises(ImageError, match="No image"):
        compare.upscale(None)
    with pytest.raises(ImageError, match="No hay imagen"):
        compare.upscale(None, lang="es")


def test_zoom_panel_crops_the_same_region_of_every_result(example):
    result = compare.run_compare(example.crop((0, 0, 32, 32)), "upscale")
    panel = compare.zoom_panel(result, 0.0, 0.0, 0.25, tile=100)
    assert panel.size == (3 * 100 + 2 * 8, 134)
    # The top-left 32x32 of the bicubic result, enlarged 100/32 with nearest neighbour:
    expected = np.asarray(result.images["bicubic"].crop((0, 0, 32, 32)).resize((100, 100), Image.Resampling.NEAREST))
    assert np.array_equal(np.asarray(panel)[:100, :100], expected)


def test_spectrum_shows_bicubic_losing_high_frequencies(example):
    from srgan.metrics import radial_power_spectrum, rgb_to_y

    result = compare.run_compare(example, "ground_truth")
    _, p_hr = radial_power_spectrum(rgb_to_y(result.images["hr"]))
    _, p_bic = radial_power_spectrum(rgb_to_y(result.images["bicubic"]))
    assert p_bic[-10:].mean() < 0.1 * p_hr[-10:].mean()
    assert compare.spectrum_figure(result).size[0] > 400


def test_feature_maps_of_the_discriminator_and_of_vgg(example):
    out = feature_maps.feature_maps(example, "D2", 4)
    assert out.grid.size[0] > 400 and out.losses[0][0] == "HR" and float(out.losses[0][1]) == 0
    assert "discriminator" in out.banner.lower()
    banner = feature_maps.feature_maps(example.crop((0, 0, 96, 96)), "relu2_2", 3, lang="es").banner
    assert "aleatorios" in banner  # offline: the VGG19 is random and the banner says so
    with pytest.raises(ValueError):
        feature_maps.feature_maps(example, "relu9_9", 3)


def test_loss_lab_table_and_fig3(example):
    out = loss_lab.loss_lab(example)
    assert [r[0] for r in out.table] == ["HR", "Bicubic", "SRResNet (MSE)", "SRGAN"]
    hr_row = dict(zip(("name", *loss_lab.COLUMNS), out.table[0]))
    assert float(hr_row["MSE"]) == 0 and hr_row["PSNR-Y (dB)"] == "∞" and float(hr_row["VGG54"]) == 0
    assert "random" in out.note
    fig3 = loss_lab.fig3_live(example, count=4, seed=1)
    assert fig3.figure.size[0] > 400 and "4" in fig3.text


def test_the_loss_lab_explanation_is_measured_not_assumed():
    row = {c: 1.0 for c in loss_lab.COLUMNS}
    table = {
        "hr": dict(row, MSE=0.0),
        "bicubic": dict(row, MSE=0.5),
        "srresnet": dict(row, MSE=0.2),
        "srgan": dict(row, MSE=0.3, **{"−log D": 0.1}),
    }
    text = loss_lab.explanation(table, "en")
    assert "lowest MSE (highest PSNR) is SRResNet (MSE)'s" in text and "is SRGAN's" in text
    table["bicubic"]["−log D"] = 0.05
    assert "el de Bicúbica" in loss_lab.explanation(table, "es")


def test_retitled_table_keeps_the_rows_under_new_titles():
    import pandas as pd

    from ui.common import retitled_table

    update = retitled_table(pd.DataFrame([["HR", 0.0]], columns=["Image", "loss"]), ["Imagen", "pérdida"])
    assert list(update["value"].columns) == update["headers"] == ["Imagen", "pérdida"]
    assert update["value"].values.tolist() == [["HR", 0.0]]
    assert "value" not in retitled_table(None, ["Imagen"])  # nothing shown yet: the titles alone


def test_scores_show_detail_in_flat_and_textured_areas(example):
    """#16: the teaching figure "detail where it belongs": HR scores exactly 1 and 1; bicubic is below 1 in both."""
    out = compare.upscale(example.crop((0, 0, 96, 96)), "ground_truth", lang="en")
    headers = compare.metrics_headers("en")
    assert headers[-2].startswith("Detail in flat") and headers[-1].startswith("Detail in textured")
    rows = {row[0]: row for row in out.metrics}
    assert rows["HR"][-2:] == ["1.00", "1.00"]
    assert float(rows["Bicubic"][-2]) < 1 and float(rows["Bicubic"][-1]) < 1
    assert compare.metrics_headers("es")[-2].startswith("Detalle en zonas lisas")
