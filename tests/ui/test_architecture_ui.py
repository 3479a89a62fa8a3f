"""The Architecture tab: its handlers in-process, then its endpoints on a launched app through gradio_client."""

from __future__ import annotations

import time

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from ui import architecture as ui_arch
from ui.common import example_paths


@pytest.fixture(scope="module")
def crop() -> Image.Image:
    return Image.open(example_paths()[0]).convert("RGB").crop((40, 50, 136, 130))  # 96x80


def test_a_block_shows_both_generators_and_every_shape(crop, monkeypatch):
    out = ui_arch.architecture(crop, "res16", 6)
    assert out.left.size == out.right.size and out.left.width > 200
    assert "(1, 64, 80, 96)" in out.info and "73×73" in out.info and "74,176" in out.info
    shapes = {row[1]: row[3] for row in out.table}
    assert shapes["body_tail"] == "(1, 64, 80, 96)" and shapes["tail"] == "(1, 3, 320, 384)"
    assert shapes["sigmoid"] == "(1,)" and len(out.table) == 34
    walks = []
    original = ui_arch.arch.walk
    monkeypatch.setattr(ui_arch.arch, "walk", lambda *a, **k: walks.append(1) or original(*a, **k))
    for block in range(len(out.table)):  # every click after the first walk only draws: the networks do not run
        ui_arch.architecture(crop, block, 8, lang="es")
    assert walks == []


def test_the_start_up_warm_up_walks_the_example_the_tab_opens_with(monkeypatch):
    from srgan.images import open_image
    from ui.common import first_example

    ui_arch._walks.clear()
    ui_arch._ablations.clear()
    ui_arch.warm_up(first_example())
    walks = []
    original = ui_arch.arch.walk
    monkeypatch.setattr(ui_arch.arch, "walk", lambda *a, **k: walks.append(1) or original(*a, **k))
    ablated = []
    monkeypatch.setattr(ui_arch.arch, "ablation_rows", lambda *a, **k: ablated.append(1))
    example = open_image(example_paths()[0])  # what the upload hands the first opening
    ui_arch.diagram_view(example, "srgan", "es")
    ui_arch.ablation(example, [], True, "srresnet", "es")
    assert walks == [] and ablated == []  # both found ready: the first student waits for neither
    monkeypatch.setattr("ui.common.example_paths", lambda: [])
    assert first_example() is None  # nothing ships: the start-up has nothing to prepare


def test_the_warm_up_walks_the_tabs_only_when_an_example_is_installed(monkeypatch):
    from ui.launch import warm_up_steps

    assert [name for name, _ in warm_up_steps()] == ["winograd_kernel", "vgg19", "architecture_tab", "realism_curve"]
    monkeypatch.setattr("ui.common.example_paths", lambda: [])  # no example installed: nothing to walk
    assert [name for name, _ in warm_up_steps()] == ["winograd_kernel", "vgg19"]


def test_the_diagram_labels_follow_the_image(crop):
    view = ui_arch.diagram_view(crop)
    labels = {v: k for k, v in view.diagram}
    assert "(1, 64, 80, 96)" in labels["res1"] and "RF 9×9" in labels["head"]
    assert len(ui_arch.default_choices()) == len(view.diagram)


@pytest.mark.parametrize(
    ("image", "block", "message"),
    [
        (None, 0, "No hay imagen"),
        (Image.new("RGB", (4100, 4100)), 0, "más de los"),
        ("crop", 34, "No existe el bloque 34"),
        ("crop", "res99", "No existe el bloque res99"),
    ],
)
def test_errors_speak_the_users_language(crop, image, block, message):
    with pytest.raises(ValueError, match=message):
        ui_arch.architecture(crop if image == "crop" else image, block, lang="es")


def test_ablation_the_long_skip_costs_more_than_a_late_block(crop):
    late = ui_arch.ablation(crop, [16], True)
    no_skip = ui_arch.ablation(crop, [], False)
    assert late.output.size == (96, 80) and "PSNR-Y" in late.scores
    drop = lambda scores: float(scores.split("dB, ")[1].split(" dB")[0])
    assert drop(no_skip.scores) < drop(late.scores) <= 0.5


def test_the_gan_game_handler_keeps_the_game_and_counts_steps(crop):
    image = Image.open(example_paths()[0]).convert("RGB")
    game, shown = ui_arch.game_step(None, "reset", image, 1e-3, "es")
    assert "Partida nueva" in shown.report and shown.hr.size == (128, 128)
    game, shown = ui_arch.game_step(game, "d", image, 1e-3, "en")
    assert "D steps 1" in shown.report and "discriminator" in shown.report
    game, shown = ui_arch.game_step(game, "g", image, 1e-3, "en")
    assert "G steps 1" in shown.report and "adversarial" in shown.report
    ui_arch.close_game(game)
    assert game.players is None


# The launched app, as a script would call it.


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_the_architecture_endpoint_on_an_uploaded_96x80_crop(client, crop, tmp_path):
    path = tmp_path / "crop.png"
    crop.save(path)
    named = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/architecture", "/ablation", "/gan_discriminator_step", "/gan_generator_step"} <= named
    left, right, info, table = client.predict(handle_file(str(path)), 17, 8, "srgan", "en", api_name="/architecture")
    assert Image.open(left).size == Image.open(right).size
    assert "(1, 64, 80, 96)" in info
    shapes = {row[1]: row[3] for row in table["data"]}
    assert shapes["res16"] == shapes["body_tail"] == "(1, 64, 80, 96)"
    _, _, info, _ = client.predict(handle_file(str(path)), "d8", 4, "srgan", "es", api_name="/architecture")
    assert "(1, 512, 5, 6)" in info and "Salida" in info


def test_the_endpoints_refuse_in_spanish(client, crop, tmp_path):
    from gradio_client.exceptions import AppError

    path = tmp_path / "crop.png"
    crop.save(path)
    with pytest.raises(AppError, match="No existe el bloque 99"):
        client.predict(handle_file(str(path)), 99, 8, "srgan", "es", api_name="/architecture")
    with pytest.raises(AppError, match="No hay imagen"):
        client.predict(None, 0, 8, "srgan", "es", api_name="/architecture")


def test_a_gan_step_through_the_client(client):
    example = handle_file(example_paths()[0])
    start = time.perf_counter()
    _, _, after, report, _ = client.predict(example, 1e-3, "en", api_name="/gan_discriminator_step")
    assert "D steps 1" in report and Image.open(after).size == (128, 128)
    _, _, _, report, _ = client.predict(example, 1e-3, "en", api_name="/gan_generator_step")
    assert "D steps 1 · G steps 1" in report  # the same session's game, kept on the server
    assert time.perf_counter() - start < 60
