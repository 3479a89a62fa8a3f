import math

import numpy as np
import pytest
from PIL import Image, ImageFilter

from srgan import metrics


def test_psnr_follows_the_course_definition():
    a = np.zeros((8, 8, 3), dtype=np.uint8)
    b = a + 1  # MSE = 1
    assert metrics.psnr(a, b) == pytest.approx(20 * math.log10(255))  # = 48.13 dB
    c = a + 16  # MSE = 256: 20 log10(255) - 10 log10(256)
    assert metrics.psnr(a, c) == pytest.approx(20 * math.log10(255) - 10 * math.log10(256))
    assert metrics.psnr(a, a) == math.inf
    assert metrics.psnr(np.zeros((2, 2)), np.full((2, 2), 0.5), max_value=1.0) == pytest.approx(10 * math.log10(4))


def test_rgb_to_y_is_bt601():
    assert metrics.rgb_to_y(np.zeros((1, 1, 3))) == pytest.approx(16)
    assert metrics.rgb_to_y(np.full((1, 1, 3), 255.0)) == pytest.approx(235, abs=1e-3)


def test_psnr_y_shaves_the_border():
    hr = np.full((20, 20, 3), 128, dtype=np.uint8)
    sr = hr.copy()
    sr[:4] = 0  # damage only the top border
    assert metrics.psnr_y(sr, hr, border=4) == math.inf
    assert metrics.psnr_y(sr, hr, border=0) < 30


def test_ssim_agrees_with_scikit_image(rng):
    from skimage.metrics import structural_similarity

    a = rng.uniform(0, 255, (48, 48))
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    reference = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False)
    ours = metrics.ssim(a, b)
    assert ours == pytest.approx(reference, abs=5e-3)
    assert metrics.ssim(a, a) == pytest.approx(1.0)


def test_gradient_ratio_separates_blur_from_detail(photo):
    blurred = photo.filter(ImageFilter.GaussianBlur(2))
    assert metrics.gradient_ratio(photo, photo) == pytest.approx(1.0)
    assert metrics.gradient_ratio(blurred, photo) < 0.5
    bicubic = photo.resize((24, 24), Image.Resampling.BICUBIC).resize((96, 96), Image.Resampling.BICUBIC)
    assert metrics.gradient_ratio(bicubic, photo) < metrics.gradient_ratio(photo, photo)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        metrics.mse(np.zeros((2, 2)), np.zeros((3, 3)))


def test_grid_score_finds_a_period_4_pattern_and_not_a_photo(photo):
    clean = np.asarray(photo.resize((128, 128)), dtype=np.float64)
    grid = np.zeros((128, 128, 1))
    grid[::4, :] += 6.0  # a faint 4-pixel grid, as a sub-pixel convolution can leave
    grid[:, ::4] += 6.0
    gridded = np.clip(clean + grid, 0, 255)
    assert metrics.grid_artifact_score(clean) < 0.5
    assert metrics.grid_artifact_score(gridded) > metrics.grid_artifact_score(clean) + 0.5
    with pytest.raises(ValueError, match="too small"):
        metrics.grid_artifact_score(clean[:16, :16])


def test_grid_score_of_flat_and_black_images_is_zero():
    for value in (0, 128):
        assert metrics.grid_artifact_score(np.full((64, 64, 3), value, dtype=np.uint8)) == 0.0
