"""srgan/teaching.py: PixelShuffle by hand, its source map, ICNR, PReLU slopes and the live Fig. 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from srgan.models import Generator
from srgan.teaching import (
    box_downsample,
    checkerboard_demo,
    fig3_plausible_patches,
    icnr_,
    interior_spread,
    pixel_shuffle_by_hand,
    pixel_shuffle_source_map,
    prelu_slopes,
    prelu_summary,
)


@pytest.mark.parametrize(
    "B,C,r,H,W", [(1, 1, 2, 2, 2), (2, 3, 2, 5, 4), (1, 2, 3, 3, 2), (3, 1, 4, 1, 3), (1, 64, 2, 6, 6)]
)
def test_pixel_shuffle_by_hand_equals_nn_pixel_shuffle(B: int, C: int, r: int, H: int, W: int) -> None:
    x = torch.randn(B, C * r * r, H, W, generator=torch.Generator().manual_seed(0))
    ours = pixel_shuffle_by_hand(x, r)
    assert ours.shape == (B, C, H * r, W * r)
    assert torch.equal(ours, nn.PixelShuffle(r)(x))  # exact: only memory moves


def test_pixel_shuffle_by_hand_small_example_checked_by_hand() -> None:
    # C = 1, r = 2, H = W = 2: channel 0 -> top-left of every 2x2 block, 1 -> top-right,
    # 2 -> bottom-left, 3 -> bottom-right
    x = torch.arange(16).reshape(1, 4, 2, 2)  # channel k holds 4k .. 4k+3
    expected = torch.tensor([[0, 4, 1, 5], [8, 12, 9, 13], [2, 6, 3, 7], [10, 14, 11, 15]])
    assert torch.equal(pixel_shuffle_by_hand(x, 2)[0, 0], expected)


def test_pixel_shuffle_by_hand_follows_the_formula() -> None:
    C, r, H, W = 2, 3, 2, 3
    x = torch.randn(1, C * r * r, H, W)
    out = pixel_shuffle_by_hand(x, r)[0]
    for c in range(C):
        for h in range(H):
            for w in range(W):
                for i in range(r):
                    for j in range(r):
                        assert out[c, h * r + i, w * r + j] == x[0, c * r * r + i * r + j, h, w]


def test_pixel_shuffle_by_hand_rejects_bad_channels() -> None:
    with pytest.raises(ValueError, match="multiple of r"):
        pixel_shuffle_by_hand(torch.zeros(1, 6, 2, 2), 2)


@pytest.mark.parametrize("C,r,H,W", [(1, 2, 3, 3), (3, 4, 2, 1), (2, 3, 4, 4)])
def test_source_map(C: int, r: int, H: int, W: int) -> None:
    channel, row, col = pixel_shuffle_source_map(C, r, H, W)
    assert channel.shape == row.shape == col.shape == (C, H * r, W * r)
    x = torch.randn(C * r * r, H, W)
    out = nn.PixelShuffle(r)(x[None])[0].numpy()  # (C, H*r, W*r)
    np.testing.assert_array_equal(out, x.numpy()[channel, row, col])
    c, y, xx = np.indices((C, H * r, W * r))
    np.testing.assert_array_equal(channel, c * r * r + (y % r) * r + xx % r)
    np.testing.assert_array_equal(row, y // r)
    np.testing.assert_array_equal(col, xx // r)


def test_icnr_repeats_one_kernel_per_output_channel() -> None:
    conv = nn.Conv2d(5, 3 * 4, 3, padding=1)
    icnr_(conv.weight, 2)
    groups = conv.weight.detach().reshape(3, 4, 5, 3, 3)  # (C, r*r, C_in, k, k)
    assert torch.equal(groups, groups[:, :1].expand_as(groups))
    assert not torch.equal(groups[0, 0], groups[1, 0])  # different output channels keep different kernels
    with pytest.raises(ValueError):
        icnr_(torch.empty(6, 3, 3, 3), 2)


def test_icnr_layer_is_conv_then_nearest_upsampling() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 2 * 9, 3, padding=1)
    icnr_(conv.weight, 3)
    nn.init.zeros_(conv.bias)
    x = torch.randn(1, 4, 5, 6)
    with torch.no_grad():
        subpixel = nn.PixelShuffle(3)(conv(x))  # (1, 2, 15, 18)
        single = F.conv2d(x, conv.weight[::9], padding=1)  # the one kernel W0 of each output channel
        torch.testing.assert_close(subpixel, F.interpolate(single, scale_factor=3, mode="nearest"))


def test_checkerboard_demo_icnr_is_uniform_inside_random_init_is_not() -> None:
    images = checkerboard_demo(seed=0, size=16)
    assert set(images) == {"transposed", "subpixel_random", "subpixel_icnr"}
    assert all(v.shape == (32, 32) for v in images.values())
    scale = np.abs(images["subpixel_icnr"]).max()
    assert interior_spread(images["subpixel_icnr"]) <= 1e-12 * scale
    assert interior_spread(images["subpixel_random"]) > 0.05
    assert interior_spread(images["transposed"]) > 0.05
    state = torch.random.get_rng_state()
    checkerboard_demo(seed=1)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is left alone


def test_fig3_candidates_share_one_lr_and_their_average_is_blurrier(photo) -> None:
    result = fig3_plausible_patches(photo, count=6, scale=4, seed=0)
    hr = np.asarray(photo, dtype=np.float64)
    lr = box_downsample(hr, 4)
    assert result["lr"].size == (24, 24) and result["average"].size == result["base"].size == (96, 96)
    assert len(result["candidates"]) == len(result["candidates_float"]) == 6
    assert result["max_lr_difference"] < 1e-9
    for c in result["candidates_float"]:
        assert np.abs(box_downsample(c, 4) - lr).max() < 1e-9  # the same LR, up to floating point
        assert c.min() >= -1e-9 and c.max() <= 255 + 1e-9  # showable without clipping
    for c in result["candidates"]:  # the 8-bit images too, up to rounding
        assert np.abs(box_downsample(np.asarray(c, dtype=np.float64), 4) - lr).max() <= 0.5 + 1e-9
    a, b = (np.asarray(c, dtype=np.float64) for c in result["candidates"][:2])
    assert np.abs(a - b).mean() > 5  # genuinely different patches
    ratios = result["gradient_ratio"]
    assert len(ratios["candidates"]) == 6
    assert ratios["average"] < min(ratios["candidates"])


def test_fig3_without_textures_uses_noise_and_checks_sizes(photo) -> None:
    result = fig3_plausible_patches(photo.crop((0, 0, 32, 32)), count=3, texture_images=[])
    assert result["max_lr_difference"] < 1e-9
    assert result["gradient_ratio"]["average"] < min(result["gradient_ratio"]["candidates"])
    with pytest.raises(ValueError, match="multiple"):
        fig3_plausible_patches(photo.crop((0, 0, 30, 30)))


def test_prelu_slopes_default_generator_has_19_layers_in_forward_order() -> None:
    layers = prelu_slopes(Generator())
    assert len(layers) == 19
    names = [n for n, _ in layers]
    assert names[0] == "head.1"
    assert names[1:17] == [f"residual_blocks.{k}.prelu" for k in range(16)]
    assert names[17:] == ["upsample.0.prelu", "upsample.1.prelu"]
    assert all(a.shape == (64,) and np.allclose(a, 0.25) for _, a in layers)


def test_prelu_summary_reads_the_claim_off_the_numbers() -> None:
    names = ["head.1"] + [f"residual_blocks.{k}.prelu" for k in range(4)] + ["upsample.0.prelu"]
    means = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]  # exactly He et al.'s pattern
    s = prelu_summary([(n, np.full(8, m)) for n, m in zip(names, means)])
    assert s["head_above_residual"] and s["residual_decreasing"] and s["upsample_below_residual"]
    assert s["head"] == pytest.approx(0.6) and s["residual"] == pytest.approx(0.35) and s["residual_trend"] < 0
    flipped = prelu_summary([(n, np.full(8, m)) for n, m in zip(names, means[::-1])])
    assert not (flipped["head_above_residual"] or flipped["residual_decreasing"] or flipped["upsample_below_residual"])
    assert flipped["negative"] == 0 and flipped["moved"] == pytest.approx(np.mean(np.abs(np.array(means) - 0.25)))
