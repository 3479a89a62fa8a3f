"""Bad input gets a clear message, the server keeps serving, valid input (however unusual) gives exactly x4.

Every file of tests/reliability_samples.py goes through the two ways in: the Compare tab's `/upscale`
(its upload component, then its handler, as Gradio calls them) and `python -m srgan upscale`
(one line, exit code 2). The limits of a launched server (file size, pixels) are checked through
gradio_client; property tests (hypothesis) sweep sizes, aspect ratios and PIL modes.
"""

from __future__ import annotations

import functools
import io
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from reliability_samples import make_samples

from srgan import cli
from srgan.engine.inference import Upscaler
from srgan.images import ImageError, open_image

SCALE = 4
INVALID = ["not_an_image.png", "truncated.png", "truncated.jpg", "empty.png", "bomb.png"]
VALID = [
    "one_pixel.png",
    "tall_1x4000.png",
    "gray16.png",
    "gray.png",
    "palette.png",
    "palette_transparent.png",
    "rgba.png",
    "cmyk.jpg",
    "animated.gif",
    "exif_rotated.jpg",
]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return make_samples(tmp_path_factory.mktemp("samples"))


@functools.lru_cache(maxsize=1)
def _upload_component():
    from ui.components import upload_image

    return upload_image(image_mode=None)  # as the Compare tab makes it: the file's own mode reaches the handler


def through_upscale(path, *, max_input_pixels: int = 512 * 512, lang: str = "en") -> tuple:
    """What `/upscale` does with an uploaded file: the upload component's preprocessing, then the handler."""
    from gradio.data_classes import FileData

    from ui import compare
    from ui.common import user_errors

    image = _upload_component().preprocess(FileData(path=str(path), orig_name=path.name))
    return user_errors(compare.upscale)(image, lang=lang, max_input_pixels=max_input_pixels)


def _assert_clear(message: str, pattern: str, name: str | None = None) -> None:
    assert re.search(pattern, message), message
    assert "\n" not in message.strip() and "Traceback" not in message
    if name is not None:
        assert name in message  # the student sees which file


# -- the Compare tab's /upscale handler ---------------------------------------------------------------


@pytest.mark.parametrize("name", INVALID)
def test_invalid_uploads_get_a_clear_error_in_the_ui(samples, name):
    import gradio as gr

    sample = samples[name]
    with pytest.raises(gr.Error) as caught:
        through_upscale(sample.path)
    _assert_clear(caught.value.message, sample.message, name)
    assert "No se pudo leer" in caught.value.message  # both languages: the upload comes before the language


@pytest.mark.parametrize("name", VALID)
def test_unusual_valid_uploads_give_exactly_4x_in_the_ui(samples, name):
    sample = samples[name]
    out = through_upscale(sample.path)
    w, h = sample.size
    shown = [Image.open(path) for path in out[:3]]  # the result panels get the PNG files of the downloads
    assert [image.size for image in shown] == [(SCALE * w, SCALE * h)] * 3
    assert re.search(sample.message, out[10]), out[10]  # the status says "first frame", "alpha kept"
    downloads = [Image.open(p) for p in out[9]]
    assert all(d.size == (SCALE * w, SCALE * h) for d in downloads)
    if sample.message == "alpha":
        assert all(d.mode == "RGBA" for d in downloads)
        assert min(d.getchannel("A").getextrema()[0] for d in downloads) < 255  # the transparency survived
    if name == "exif_rotated.jpg":  # EXIF rotation respected: red on top, blue at the bottom
        r, _, b = shown[0].convert("RGB").getpixel((shown[0].width // 2, 4))
        assert r > 200 and b < 60


def test_too_many_pixels_says_what_to_do_in_both_languages(samples):
    import gradio as gr

    path = samples["cmyk.jpg"].path  # 16x12 = 192 pixels
    with pytest.raises(gr.Error) as caught:
        through_upscale(path, max_input_pixels=100)
    _assert_clear(caught.value.message, r"192 pixels.*at most 100.*Crop or resize.*python -m srgan upscale")
    with pytest.raises(gr.Error) as caught:
        through_upscale(path, max_input_pixels=100, lang="es")
    _assert_clear(caught.value.message, r"Recórtala o redúcela")


def test_no_image_at_all():
    import gradio as gr

    from ui import compare
    from ui.common import user_errors

    with pytest.raises(gr.Error, match="No image"):
        user_errors(compare.upscale)(None)


@pytest.mark.parametrize(
    "tab, handler",
    [("compare", "upscale"), ("loss_lab", "loss_lab"), ("feature_maps", "feature_maps"), ("realism", "realism"),
     ("architecture", "walks_for")],
)
def test_no_image_is_said_in_spanish_on_every_tab_that_takes_one(tab, handler):
    import importlib

    import gradio as gr

    from ui.common import user_errors

    with pytest.raises(gr.Error, match="No hay imagen: sube una o elige un ejemplo"):
        user_errors(getattr(importlib.import_module(f"ui.{tab}"), handler))(None, lang="es")


# -- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", INVALID)
def test_invalid_files_get_one_line_and_exit_2_in_the_cli(samples, name, tmp_path, capsys):
    sample = samples[name]
    code = cli.main(["upscale", "--model", "bicubic", "--out-dir", str(tmp_path / "out"), str(sample.path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("srgan: error:") and len(err.strip().splitlines()) == 1
    _assert_clear(err, sample.message, name)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written


def test_unusual_valid_files_give_exactly_4x_in_the_cli(samples, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(
        ["upscale", "--model", str(tiny_checkpoint), "--out-dir", str(out), *(str(samples[n].path) for n in VALID)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    for name in VALID:
        w, h = samples[name].size
        result = Image.open(out / f"{samples[name].path.stem}.png")
        assert result.size == (SCALE * w, SCALE * h), name
    assert Image.open(out / "rgba.png").mode == "RGBA" and Image.open(out / "gray.png").mode == "L"
    assert re.search(r"animated\.gif .*first frame", printed)


# -- a launched server's limits -------------------------------------------------------------------


def test_an_upload_over_the_size_limit_is_refused_and_the_server_keeps_serving(limited_app, tmp_path):
    import httpx
    from gradio_client import Client, handle_file

    url, auth, _ = limited_app  # --max-upload-mb 0.05: 52,428 bytes
    big = tmp_path / "big_photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 52_428
    client = Client(url, auth=auth, verbose=False)
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks first
        client.predict(handle_file(str(big)), api_name="/upscale")
    with httpx.Client(base_url=url, timeout=30) as raw:  # a client that does not check: the server refuses
        assert raw.post("login", data={"username": auth[0], "password": auth[1]}).status_code == 200
        response = raw.post("gradio_api/upload", files={"files": ("big_photo.png", big.read_bytes(), "image/png")})
    assert response.status_code in (400, 413) and "maximum allowed size" in response.text
    small = tmp_path / "small.png"
    Image.new("RGB", (8, 6), "red").save(small)
    result = client.predict(handle_file(str(small)), api_name="/upscale")
    assert Image.open(result[2]).size == (32, 24)


def test_an_image_over_the_pixel_limit_gets_a_message_through_the_server(limited_app, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    url, auth, _ = limited_app  # --max-input-pixels 4096
    wide = tmp_path / "wide.png"
    Image.new("RGB", (100, 50), "blue").save(wide)
    with pytest.raises(AppError, match=r"at most 4,096 \(64x64\).*Crop or resize"):
        Client(url, auth=auth, verbose=False).predict(handle_file(str(wide)), api_name="/upscale")


# -- properties over sizes and modes --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _tiny_upscaler() -> Upscaler:
    from srgan.models import Generator

    torch.manual_seed(0)
    return Upscaler(Generator(scale=SCALE, num_residual_blocks=1, channels=8).eval(), device="cpu")


MODES = {  # PIL mode -> (file formats that store it, the modes the result may have)
    "RGB": (["PNG", "JPEG", "WEBP", "BMP"], {"RGB"}),
    "L": (["PNG", "JPEG", "GIF"], {"L", "RGB"}),  # GIF may store greyscale as a palette
    "1": (["PNG", "BMP"], {"L"}),
    "P": (["PNG", "GIF"], {"RGB", "RGBA"}),  # RGBA when the palette has a transparent colour
    "RGBA": (["PNG", "WEBP", "TIFF"], {"RGBA"}),
    "LA": (["PNG"], {"RGBA"}),
    "CMYK": (["JPEG", "TIFF"], {"RGB"}),
    "I;16": (["PNG"], {"L"}),
    "F": (["TIFF"], {"L"}),
}

sizes = st.one_of(
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(1, 3), st.integers(100, 600)),  # extreme aspect ratios, both ways
    st.tuples(st.integers(100, 600), st.integers(1, 3)),
)


def _image(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    w, h = size
    rgba = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    if mode == "I;16":
        return Image.fromarray(rgba[..., 0].astype(np.uint16) * 257)
    if mode == "F":
        return Image.fromarray(rgba[..., 0].astype(np.float32) / 255)
    return Image.fromarray(rgba, "RGBA").convert(mode)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(sorted(MODES)), size=sizes, pick=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_every_valid_file_gives_exactly_scale_times_its_size(mode, size, pick, seed):
    formats, result_modes = MODES[mode]
    fmt = formats[pick % len(formats)]
    buf = io.BytesIO()
    _image(mode, size, seed).save(buf, format=fmt)
    result = _tiny_upscaler()(open_image(buf.getvalue()))
    assert result.size == (SCALE * size[0], SCALE * size[1])
    assert result.mode in result_modes


@settings(max_examples=60, deadline=None)
@given(
    size=sizes,
    fmt=st.sampled_from(["PNG", "JPEG", "GIF", "WEBP"]),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
)
def test_any_damaged_file_gives_exactly_scale_x_or_a_clear_error(size, fmt, cut, flips):
    buf = io.BytesIO()
    _image("RGB", size, 0).save(buf, format=fmt)
    data = bytearray(buf.getvalue()[: max(1, int(len(buf.getvalue()) * cut))])
    for where, value in flips:  # a few corrupted bytes
        data[min(int(where * len(data)), len(data) - 1)] = value
    try:
        image = open_image(bytes(data))
        result = _tiny_upscaler()(image)
    except ImageError as e:
        _assert_clear(str(e), r"damaged|truncated|not an image|empty|pixels")
    else:
        assert result.size == (SCALE * image.width, SCALE * image.height)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_clearly(data):
    try:
        image = open_image(data)
    except ImageError as e:
        _assert_clear(str(e), r"damaged|truncated|not an image|empty|pixels")
    else:  # by chance a valid tiny image (a few formats have no magic number): then it must upscale
        assert _tiny_upscaler()(image).size == (SCALE * image.width, SCALE * image.height)
