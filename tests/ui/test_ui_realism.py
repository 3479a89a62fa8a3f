"""The Realism dial handlers (ui/realism.py) as plain functions, with the bundled weights."""

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from srgan.checkpoints import load_pretrained, save_checkpoint
from srgan.engine.inference import upscaler_for
from srgan.images import ImageError
from ui import realism
from ui.common import example_paths


@pytest.fixture(scope="module")
def example():
    return Image.open(example_paths()[0]).convert("RGB")  # astronaut, held out from training


@pytest.mark.parametrize(("alpha", "model"), [(0.0, "srresnet"), (1.0, "srgan")])
def test_the_ends_of_the_dial_are_the_compare_tabs_models(example, alpha, model):
    sr_image, hr_image, table = realism.realism(example, alpha)
    lr_image, hr_crop = realism.centre_crop_pair(example)
    assert hr_image.size == sr_image.size == (realism.CROP, realism.CROP) and lr_image.size == (48, 48)
    assert np.array_equal(np.asarray(hr_image), np.asarray(hr_crop))
    assert np.array_equal(np.asarray(sr_image), np.asarray(upscaler_for(model)(lr_image)))
    assert f"α = {alpha:.2f}" in table and "| HR | ∞ | 1.000 |" in table


def test_the_middle_differs_from_both_ends_and_is_scored(example):
    ends = [np.asarray(realism.realism(example, a).sr).astype(int) for a in (0.0, 1.0)]
    mid_image, _, table = realism.realism(example, 0.5, lang="es")
    mid = np.asarray(mid_image).astype(int)
    assert np.abs(mid - ends[0]).mean() > 0.5 and np.abs(mid - ends[1]).mean() > 0.5
    assert "razón de gradientes" in table and "recorte de 192x192" in table
    psnr = float(table.splitlines()[2].split("|")[2])
    assert 20 < psnr < 40


def test_bad_inputs_get_clear_errors(example):
    with pytest.raises(ImageError, match="No image"):
        realism.realism(None, 0.5)
    with pytest.raises(ValueError, match="at least 64x64"):
        realism.realism(example.resize((60, 80)), 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        realism.realism(example, 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        realism.perception_distortion(example, -0.2)


def test_perception_distortion_points_and_sentence(example):
    points = realism.pd_points(example, 0.5)
    methods, curve = points["methods"], points["curve"]
    assert [a for a, _, _ in curve] == list(realism.CURVE_ALPHAS) and len(curve) == 11
    # The curve starts at SRResNet and ends at SRGAN (the default ends), and the star sits on it.
    assert curve[0][1:] == methods["srresnet"] and curve[-1][1:] == methods["srgan"]
    assert points["here"] == curve[5]
    # What the class should see on this photo: bicubic is worst on both axes; SRGAN trades PSNR for detail.
    assert methods["bicubic"][0] < methods["srresnet"][0] and methods["bicubic"][1] < methods["srresnet"][1]
    assert methods["srgan"][1] > methods["srresnet"][1] and methods["srgan"][0] < methods["srresnet"][0]
    assert "more realism costs PSNR" in realism.pd_sentence(points, "en")
    assert "más realismo cuesta PSNR" in realism.pd_sentence(points, "es")
    figure, sentence = realism.perception_distortion(example, 0.5, lang="es")
    assert figure.size[0] >= 800 and "Blau" in sentence


def test_the_sentence_is_honest_when_there_is_no_trade_off():
    base = {"methods": {}, "here": (0.5, 30.0, 0.5), "ends": ("A", "B"), "size": (192, 192)}
    free = {**base, "curve": [(0.0, 29.0, 0.4), (1.0, 29.5, 0.6)]}
    flat = {**base, "curve": [(0.0, 29.0, 0.6), (1.0, 28.0, 0.5)]}
    assert "for free" in realism.pd_sentence(free) and "costs PSNR" not in realism.pd_sentence(free)
    assert "no trade-off" in realism.pd_sentence(flat)
    assert "not straight" not in realism.pd_sentence(free)
    dip = {**base, "curve": [(0.0, 29.0, 0.4), (0.3, 28.5, 0.35), (0.5, 28.7, 0.38), (1.0, 28.0, 0.6)]}
    assert "α = 0.3–0.5" in realism.pd_sentence(dip) and "costs PSNR" in realism.pd_sentence(dip)


def test_a_fine_tuned_run_can_be_an_end(example, tmp_path, monkeypatch, tiny_generator):
    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path))
    tuned = copy.deepcopy(load_pretrained("srgan"))  # a "fine-tuned" SRGAN: every weight nudged by ~2 %
    tuned.load_state_dict(
        {
            k: v * (1 + 0.02 * torch.randn_like(v)) if v.is_floating_point() else v
            for k, v in load_pretrained("srgan").state_dict().items()
        }
    )
    save_checkpoint(tuned, tmp_path / "20250101-000000_demo" / "generator.safetensors", recipe={"steps_done": 5})
    sr_image, _, table = realism.realism(example, 1.0, "srresnet", "20250101-000000_demo")
    lr_image, _ = realism.centre_crop_pair(example)
    expected = upscaler_for(str(tmp_path / "20250101-000000_demo" / "generator.safetensors"))(lr_image)
    assert np.array_equal(np.asarray(sr_image), np.asarray(expected))
    assert "20250101-000000_demo" in table
    points = realism.pd_points(example, 0.5, "srresnet", "20250101-000000_demo")
    assert points["ends"] == ("SRResNet (MSE)", "20250101-000000_demo")
    assert points["curve"][-1][1:] != points["methods"]["srgan"]  # the curve now ends at the run, not at SRGAN
    # A run of another architecture cannot be blended with the bundled SRResNet.
    save_checkpoint(
        tiny_generator, tmp_path / "20250101-000001_tiny" / "generator.safetensors", recipe={"steps_done": 1}
    )
    with pytest.raises(ValueError, match="different architectures"):
        realism.realism(example, 0.5, "srresnet", "20250101-000001_tiny")


def test_a_flat_result_still_gets_an_answer():
    # A broken run can return a constant image: it has no spectrum, so no grid (score 0), and no error.
    assert realism.grid_score(Image.new("RGB", (96, 96))) == 0.0  # all black: every power is exactly 0
    flat = Image.new("RGB", (96, 96), (120, 130, 140))
    sr_image, hr_image, table = realism.realism(flat, 0.5)  # a flat upload answers too, without an error
    assert sr_image.size == hr_image.size == (96, 96) and "| HR | ∞ |" in table


def test_the_start_up_warm_up_computes_the_curve_the_tab_opens_with(monkeypatch):
    from srgan.images import open_image

    from ui.common import first_example

    realism._results.clear()
    realism.warm_up(first_example())
    computed = []
    original = realism.interpolated_upscaler
    monkeypatch.setattr(realism, "interpolated_upscaler", lambda *a, **k: computed.append(a) or original(*a, **k))
    example = open_image(example_paths()[0])  # what the upload hands the first opening
    realism.perception_distortion(example, 0.5, "srresnet", "srgan", "es")
    realism.realism(example, 0.5, "srresnet", "srgan", "es")
    assert computed == []  # every α of the curve, the ends and the dial's 0.5 were ready
