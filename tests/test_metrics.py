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


def _bicubic_x4_pair(name: str, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(SR-Y, HR-Y) of a real photo crop: HR, then bicubic down x4 and back up (what the Compare tab scores)."""
    from srgan.data import bicubic_downsample, bicubic_upscale, builtin_image_paths, load_rgb

    hr = load_rgb(builtin_image_paths()[name]).crop(box)
    sr = bicubic_upscale(bicubic_downsample(hr, 4), 4)
    return metrics.shave(metrics.rgb_to_y(sr), 4), metrics.shave(metrics.rgb_to_y(hr), 4)


@pytest.mark.parametrize(
    ("name", "box"),
    [
        ("gravel", (0, 0, 256, 256)),
        ("brick", (64, 64, 256, 256)),
        ("astronaut", (100, 0, 356, 200)),
        ("chelsea", (0, 0, 300, 300)),
    ],
)
def test_ssim_is_wang_et_al_s_as_scikit_image_computes_it(name, box):
    """SSIM-Y on bicubic x4 results of textured and smooth photos: scikit-image's MATLAB-compatible settings, to 1e-6."""
    from skimage.metrics import structural_similarity

    sr, hr = _bicubic_x4_pair(name, box)
    reference = structural_similarity(
        sr, hr, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert metrics.ssim(sr, hr) == pytest.approx(reference, abs=1e-6)
    assert 0.2 < reference < 0.99  # a real degradation, neither trivial nor noise


def test_ssim_of_identical_images_is_one_and_of_noise_is_low(rng):
    a = rng.uniform(0, 255, (48, 48))
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    assert metrics.ssim(a, rng.uniform(0, 255, (48, 48))) < 0.1
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(a[:8, :8], a[:8, :8])


def test_detail_by_region_tells_noise_in_flat_areas_from_lost_texture(photo):
    """HR itself scores 1 and 1; blur scores below 1 in both; noise added only to flat pixels scores above 1 there."""
    hr = np.asarray(photo.resize((192, 192), Image.Resampling.LANCZOS), dtype=np.float64)
    same = metrics.detail_by_region(hr, hr)
    assert same["flat"] == pytest.approx(1.0) and same["busy"] == pytest.approx(1.0)
    blurred = np.asarray(Image.fromarray(hr.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)
    soft = metrics.detail_by_region(blurred, hr)
    assert soft["flat"] < 1 and soft["busy"] < 0.6
    busy = metrics.busyness(metrics.rgb_to_y(hr))
    flat_mask = busy <= np.quantile(busy, 0.3)
    noisy = hr + np.random.default_rng(0).normal(0, 6, hr.shape) * flat_mask[..., None]
    speckled = metrics.detail_by_region(np.clip(noisy, 0, 255), hr)
    assert speckled["flat"] > 1.5 and speckled["busy"] == pytest.approx(1.0, abs=0.1)


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


def test_evaluate_models_scores_images_in_memory_as_it_scores_them_from_a_folder(tmp_path, photo, tiny_checkpoint):
    from PIL import ImageFilter

    from srgan.evaluate import evaluate_models

    images = {"astronaut": photo, "soft": photo.filter(ImageFilter.GaussianBlur(1.5))}
    for name, image in images.items():
        image.save(tmp_path / f"{name}.png")
    models = ["bicubic", str(tiny_checkpoint)]
    from_folder = evaluate_models(models, hr_dir=tmp_path)
    in_memory = evaluate_models(models, images=images)
    assert in_memory["models"] == from_folder["models"] and in_memory["per_image"] == from_folder["per_image"]
    assert in_memory["image_names"] == ["astronaut", "soft"]
    assert in_memory["per_image"]["bicubic"]["soft"]["psnr_y"] > in_memory["per_image"]["bicubic"]["astronaut"]["psnr_y"]
