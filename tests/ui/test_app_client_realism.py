"""The Realism dial's named endpoints (/realism, /perception_distortion) on a launched app, via gradio_client."""

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from ui.common import example_paths


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_realism_and_perception_distortion_endpoints(client):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/realism", "/perception_distortion"} <= set(named)
    example = handle_file(example_paths()[0])
    ends = []
    for alpha in (0.0, 1.0):
        sr, hr, table = client.predict(example, alpha, "srresnet", "srgan", "en", api_name="/realism")
        sr_image = Image.open(sr)
        assert sr_image.format == "PNG" and sr_image.size == Image.open(hr).size == (192, 192)
        assert f"α = {alpha:.2f}" in table and "PSNR-Y" in table
        ends.append(np.asarray(sr_image.convert("RGB")).astype(int))
    assert np.abs(ends[0] - ends[1]).mean() > 0.5  # the dial really moves between two different networks
    plot, sentence = client.predict(example, 0.5, "srresnet", "srgan", "es", api_name="/perception_distortion")
    assert Image.open(plot).size[0] >= 800 and "Blau" in sentence and "PSNR" in sentence


def test_realism_refuses_an_alpha_outside_zero_one(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="maximum value 1|between 0 and 1"):  # the slider checks it first
        client.predict(handle_file(example_paths()[0]), 2.0, "srresnet", "srgan", "en", api_name="/realism")
