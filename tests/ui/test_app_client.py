"""Every named endpoint of a launched app, called through gradio_client as a script would."""

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from ui.common import example_paths

ENDPOINTS = [
    "/upscale",
    "/pixel_shuffle",
    "/prelu",
    "/feature_maps",
    "/losses",
    "/fig3",
    "/lesson",
    "/finetune",
    "/finetune_stop",
    "/finetune_watch",
    "/realism",
    "/perception_distortion",
    "/mos_vote",
    "/mos_results",
]


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_every_endpoint_is_named(client):
    named = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert set(ENDPOINTS) <= named


def test_upscale_returns_three_png_results_at_4x(client, tmp_path):
    small = tmp_path / "small.png"
    Image.open(example_paths()[0]).resize((32, 24)).save(small)
    out = client.predict(handle_file(str(small)), api_name="/upscale")
    for path in out[:3]:
        image = Image.open(path)
        assert image.format == "PNG" and image.size == (128, 96)


def test_upscale_ground_truth_mode_in_spanish(client):
    out = client.predict(
        handle_file(example_paths()[1]), "ground_truth", 0.5, 0.5, 0.2, "bicubic", "srgan", "es", api_name="/upscale"
    )
    assert Image.open(out[3]).size == (192, 192)  # HR joins the comparison
    assert "HR" in str(out[4])


def test_bad_upload_gets_a_clear_error(client, tmp_path):
    from gradio_client.exceptions import AppError

    bad = tmp_path / "not_an_image.png"
    bad.write_bytes(b"this is text")
    with pytest.raises(AppError, match="not an image|damaged"):
        client.predict(handle_file(str(bad)), api_name="/upscale")


def test_teaching_endpoints(client):
    example = handle_file(example_paths()[0])
    grid, check, _, _, checker, _ = client.predict(api_name="/pixel_shuffle")
    assert Image.open(grid).size[0] > 300 and Image.open(checker).size[0] > 300 and "True" in check
    curve, slopes, analysis = client.predict(api_name="/prelu")
    assert Image.open(curve).size[0] > 300 and Image.open(slopes).size[0] > 300 and "SRGAN" in analysis
    grid, table, banner = client.predict(example, "D1", 3, "en", api_name="/feature_maps")
    assert Image.open(grid).size[0] > 300 and "discriminator" in banner.lower()
    table, _, _ = client.predict(example, "en", api_name="/losses")
    assert len(table["data"]) == 4
    _, text = client.predict(example, 0.5, 0.5, 3, 0, "es", api_name="/fig3")
    assert "parches" in text
    assert "PixelShuffle" in client.predict("07_pixel_shuffle", "en", api_name="/lesson")


def test_finetune_then_upscale_with_the_new_run(client, tmp_path):
    job = client.submit("srresnet", "builtin", None, "mse", 5, 1e-4, 2, 48, 0, "class-demo", "en", api_name="/finetune")
    updates = list(job)
    assert len(updates) >= 2  # streamed progress, not one final answer
    status = str(updates[-1][4])
    assert "class-demo" in status or "done" in status.lower() or "finished" in status.lower(), status
    choices = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/upscale"]["parameters"]
    gan_param = next(p for p in choices if p["parameter_name"] == "gan")
    assert gan_param["parameter_default"] == "srgan"
    small = tmp_path / "s.png"
    Image.open(example_paths()[0]).resize((16, 16)).save(small)
    run_name = _newest_run_name(updates)
    out = client.predict(
        handle_file(str(small)), "upscale", 0.5, 0.5, 0.2, "bicubic", "srgan", "en", run_name, api_name="/upscale"
    )
    assert Image.open(out[2]).size == (64, 64)


def _newest_run_name(updates) -> str:
    import re

    for update in reversed(updates):
        for value in update:
            match = re.search(r"\d{8}-\d{6}_class-demo", str(value))
            if match:
                return match.group(0)
    raise AssertionError("the run's name was never shown")


def test_code_page_of_a_lesson_link_and_nothing_else(app_url):
    """Issue #18: /code serves a file of the srgan package at a symbol, and refuses any other path."""
    import httpx

    from ui.code_view import code_url

    url = code_url("srgan/losses.py", "mse_content_loss")
    line = url.rsplit("#L", 1)[1]
    page = httpx.get(app_url.rstrip("/") + url.split("#")[0], timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<div class="line hl" id="L{line}">' in page.text and "mse_content_loss" in page.text
    for bad in ("../../etc/passwd", "srgan/../../etc/passwd", "/etc/passwd", "ui/app.py"):
        refused = httpx.get(app_url.rstrip("/") + "/code", params={"file": bad}, timeout=30)
        assert refused.status_code == 404 and "root:" not in refused.text, bad
