import copy

import numpy as np
import pytest
import torch
from conftest import trained_like_generator
from PIL import Image

from srgan.images import ImageError
from srgan.engine.inference import BicubicUpscaler, Upscaler, fold_batchnorm


@pytest.fixture
def trained_like():
    return trained_like_generator()  # B = 2, 16 channels, x4


def test_folded_batchnorm_gives_the_same_output(trained_like):
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(fold_batchnorm(trained_like)(x), trained_like(x), atol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fold_batchnorm(trained_like).modules())


def test_fast_path_matches_the_plain_model_within_one_level(trained_like, photo):
    lr = photo.resize((24, 24))
    fast = np.asarray(Upscaler(trained_like)(lr)).astype(int)
    plain = np.asarray(Upscaler(trained_like, fast=False)(lr)).astype(int)
    assert np.abs(fast - plain).max() <= 1


def test_tiling_shows_no_seams(trained_like, photo):
    lr = photo.resize((40, 28))
    whole = np.asarray(Upscaler(trained_like, tile_size=64)(lr)).astype(int)
    tiled = np.asarray(Upscaler(trained_like, tile_size=9, tile_overlap=12)(lr)).astype(int)
    assert whole.shape == tiled.shape == (112, 160, 3)
    assert np.abs(whole - tiled).max() <= 1


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "LA", "CMYK", "I;16", "1"])
def test_every_mode_gives_exactly_scale_times_the_size(trained_like, photo, mode):
    image = photo.resize((13, 7))
    image = Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257) if mode == "I;16" else image.convert(mode)
    result = Upscaler(trained_like)(image)
    assert result.size == (52, 28)
    assert result.mode == {"L": "L", "I;16": "L", "1": "L", "RGBA": "RGBA", "LA": "RGBA"}.get(mode, "RGB")


def test_alpha_is_kept_and_upscaled_separately(trained_like):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:, :4, 3] = 0  # left half transparent
    result = np.asarray(Upscaler(trained_like)(Image.fromarray(rgba)))
    assert result[:, :12, 3].max() <= 10 and result[:, 20:, 3].min() >= 245


@pytest.mark.parametrize("array", [
    np.zeros((5, 6), np.uint8), np.zeros((5, 6, 3), np.uint16), np.ones((5, 6, 4), np.float32),
    np.zeros((5, 6, 1), np.uint8),
])  # fmt: skip
def test_numpy_inputs(trained_like, array):
    assert Upscaler(trained_like)(array).size == (24, 20)


def test_non_images_are_refused_clearly(trained_like):
    with pytest.raises(ImageError):
        Upscaler(trained_like)(np.zeros((5, 6, 2), np.uint8))
    with pytest.raises(ImageError):
        Upscaler(trained_like)("not an image")


def test_bicubic_upscaler_has_the_same_interface(photo):
    assert BicubicUpscaler()(photo.convert("RGBA")).size == (384, 384)


def test_progress_is_reported_per_tile(trained_like, photo):
    seen = []
    Upscaler(trained_like, tile_size=10, tile_overlap=2)(photo.resize((20, 20)), progress=lambda f, s: seen.append(f))
    assert seen == [0.25, 0.5, 0.75, 1.0]


def test_tile_size_comes_from_the_free_memory(trained_like, monkeypatch):
    from srgan.engine import inference

    assert Upscaler(trained_like, device="cpu").tile_size == 384  # this machine has GBs free: the CPU cap
    monkeypatch.setattr(inference, "available_host_memory", lambda: 400 * 2**20)  # 400 MB free
    side = Upscaler(trained_like, device="cpu").tile_size
    assert side % 8 == 0 and 64 <= side < 384 and 4 * side**2 * 1536 * 4 <= 400 * 2**20
    monkeypatch.setattr(inference, "available_host_memory", lambda: None)  # unknown: a safe middle
    assert Upscaler(trained_like, device="cpu").tile_size == 256


def test_tiles_are_balanced(trained_like, photo):
    # 20 pixels in tiles of at most 12: two tiles of 10 (14 with their context), not 12 + 8 (16 and 12)
    up = Upscaler(trained_like, tile_size=12, tile_overlap=4)
    shapes, forward = [], up._forward
    up._forward = lambda tile: shapes.append(tile.shape[:2]) or forward(tile)
    tiled = up(photo.resize((20, 20)))
    whole = Upscaler(trained_like, tile_size=64)(photo.resize((20, 20)))
    assert shapes == [(14, 14)] * 4 and tiled.size == whole.size == (80, 80)
    with pytest.raises(ValueError):
        Upscaler(trained_like, device="cpu", tile_size=4)


@pytest.mark.parametrize(("k", "r"), [(9, 2), (3, 2), (5, 3), (1, 2)])
def test_a_conv_after_pixel_shuffle_equals_one_before_it(k, r):
    # conv(PixelShuffle(u), W) == PixelShuffle(conv(u, W')): the identity behind SubPixelTail.
    from srgan.engine.inference import subpixel_conv_weight

    torch.manual_seed(k * 10 + r)
    u = torch.randn(2, 4 * r * r, 7, 6)  # (B, C r², H, W)
    weight = torch.randn(3, 4, k, k)
    after = torch.nn.functional.conv2d(torch.nn.functional.pixel_shuffle(u, r), weight, padding=k // 2)
    w2 = subpixel_conv_weight(weight, r)
    before = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(u, w2, padding=w2.shape[-1] // 2), r)
    assert before.shape == after.shape == (2, 3, 7 * r, 6 * r)
    assert torch.allclose(before, after, atol=1e-4)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_prepared_generator_computes_the_same_function(scale):
    from srgan.engine.inference import SubPixelTail, prepare_for_inference
    from srgan.models import Generator

    torch.manual_seed(scale)
    g = Generator(scale=scale, num_residual_blocks=1, channels=8).eval()
    with torch.no_grad():
        for block in g.upsample:
            block.prelu.weight.uniform_(-0.5, 0.5)  # distinct slopes per channel, as after training
    x = torch.rand(1, 3, 11, 13)
    fast = prepare_for_inference(g)
    assert isinstance(fast.upsample[-1], SubPixelTail)
    with torch.no_grad():
        assert torch.allclose(fast(x), g(x), atol=1e-5)


def test_cpu_bf16_is_opt_in_and_close(trained_like, photo, monkeypatch):
    from srgan.engine import inference

    lr = photo.resize((24, 24))
    assert Upscaler(trained_like, device="cpu").dtype == torch.float32  # the default stays exact
    monkeypatch.setattr(inference, "cpu_has_fast_bf16", lambda: True)  # bf16 also runs (emulated) elsewhere
    fast = Upscaler(trained_like, device="cpu", dtype=torch.bfloat16)
    assert fast.dtype == torch.bfloat16
    plain = np.asarray(Upscaler(trained_like, fast=False)(lr)).astype(int)
    out = np.asarray(fast(lr)).astype(int)
    assert out.shape == plain.shape and np.abs(out - plain).mean() < 1.0  # close on average, not exact
    monkeypatch.setattr(inference, "cpu_has_fast_bf16", lambda: False)
    with pytest.raises(ValueError, match="no bf16"):
        Upscaler(trained_like, device="cpu", dtype=torch.bfloat16)


def test_a_tile_that_overflows_half_precision_is_redone_in_fp32(trained_like, photo):
    # fp16 tops out at 65504. A network whose activations exceed it (here: scaled on purpose, in life a
    # diverged fine-tuning run) must give the fp32 result, not inf turned into garbage pixels.
    big = copy.deepcopy(trained_like)
    with torch.no_grad():
        big.upsample[-1].conv.weight.mul_(1e7)  # huge activations before the tail: inf in fp16
    lr = photo.resize((16, 16))
    reference = np.asarray(Upscaler(big, device="cpu")(lr)).astype(int)
    half = Upscaler(big, device="cpu", dtype=torch.float16)
    with torch.inference_mode():
        x = torch.rand(1, 3, 16, 16, dtype=torch.float16).contiguous(memory_format=torch.channels_last)
        assert not torch.isfinite(half.model(x)).all()  # the half model alone does overflow
    assert np.abs(np.asarray(half(lr)).astype(int) - reference).max() <= 1
