import math

import pytest
import torch

from srgan import losses


def test_mse_content_loss_is_eq4():
    hr = torch.zeros(1, 3, 4, 4)
    sr = torch.full((1, 3, 4, 4), 0.5)
    assert losses.mse_content_loss(sr, hr).item() == pytest.approx(0.25)


def test_l1_content_loss_pushes_back_faint_noise_as_hard_as_a_large_error():
    # Why it exists: per pixel, MSE's gradient shrinks with the error (faint speckle is nearly free); L1's does not.
    hr = torch.zeros(1, 1, 1, 2)
    sr = torch.tensor([[[[0.01, 0.5]]]], requires_grad=True)  # a faint error and a large one
    losses.l1_content_loss(sr, hr).backward()
    assert sr.grad[0, 0, 0].tolist() == pytest.approx([0.5, 0.5])
    assert losses.l1_content_loss(sr, hr).item() == pytest.approx(0.255)
    sr.grad = None
    losses.mse_content_loss(sr, hr).backward()
    faint, large = sr.grad[0, 0, 0].tolist()
    assert large / faint == pytest.approx(50)


def test_adversarial_loss_is_minus_log_d():
    logits = torch.tensor([0.0, 2.0, -3.0])
    expected = -torch.log(torch.sigmoid(logits)).mean()
    assert losses.adversarial_loss(logits).item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses.adversarial_loss(torch.zeros(4)).item() == pytest.approx(math.log(2))


def test_adversarial_loss_is_stable_for_confident_discriminators():
    # sigmoid(-200) underflows to 0 in float32, so -log(sigmoid) would be inf; softplus is exact.
    value = losses.adversarial_loss(torch.tensor([-200.0]))
    assert math.isfinite(value.item()) and value.item() == pytest.approx(200.0)
    logits = torch.tensor([-200.0], requires_grad=True)
    losses.adversarial_loss(logits).backward()
    assert logits.grad.item() == pytest.approx(-1.0)  # the non-saturating gradient


def test_discriminator_loss_is_eq2():
    real, fake = torch.tensor([1.5]), torch.tensor([-0.5])
    expected = -math.log(torch.sigmoid(real).item()) - math.log(1 - torch.sigmoid(fake).item())
    assert losses.discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_feature_matching_averages_each_blocks_mean_absolute_difference():
    torch.manual_seed(0)
    hr_maps = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
    sr_maps = [(m + 0.1 * torch.randn_like(m)).requires_grad_() for m in hr_maps]
    expected = ((sr_maps[0] - hr_maps[0]).abs().mean() + (sr_maps[1] - hr_maps[1]).abs().mean()) / 2
    loss = losses.discriminator_feature_loss(sr_maps, hr_maps)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    loss.backward()
    assert all(m.grad.abs().sum() > 0 for m in sr_maps)  # every block pulls G
    assert losses.discriminator_feature_loss(hr_maps, hr_maps).item() == 0
    with pytest.raises(ValueError, match="same blocks"):
        losses.discriminator_feature_loss(sr_maps[:1], hr_maps)


def test_relativistic_losses_match_esrgans_bce_form():
    # The authors' code (BasicSR's ESRGANModel, vanilla GAN) writes them with BCE-with-logits, halved.
    import torch.nn.functional as F

    real, fake = torch.tensor([2.0, 0.5, -1.0, 3.0]), torch.tensor([-0.5, 1.0, -2.5, 0.0])
    bce = F.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(4), torch.zeros(4)
    d_expected = (bce(real - fake.mean(), ones) + bce(fake - real.mean(), zeros)) / 2
    g_expected = (bce(real - fake.mean(), zeros) + bce(fake - real.mean(), ones)) / 2
    assert losses.relativistic_discriminator_loss(real, fake).item() == pytest.approx(d_expected.item(), rel=1e-6)
    assert losses.relativistic_adversarial_loss(real, fake).item() == pytest.approx(g_expected.item(), rel=1e-6)
    assert losses.relativistic_discriminator_loss(zeros, zeros).item() == pytest.approx(math.log(2))


def test_relativistic_losses_only_see_the_gap_between_real_and_fake():
    # What "relativistic" means: moving every logit by the same amount changes nothing, unlike Eq. 2.
    real, fake = torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 0.5])
    for fn in (losses.relativistic_discriminator_loss, losses.relativistic_adversarial_loss):
        assert fn(real + 5, fake + 5).item() == pytest.approx(fn(real, fake).item(), rel=1e-6)
    assert losses.discriminator_loss(real + 5, fake + 5).item() != pytest.approx(
        losses.discriminator_loss(real, fake).item(), rel=1e-3
    )
    # G's gradient pushes its logits up, as Eq. 6's does.
    fake = fake.clone().requires_grad_(True)
    losses.relativistic_adversarial_loss(real, fake).backward()
    assert (fake.grad < 0).all()


def test_perceptual_loss_weights_the_adversarial_term_by_1e_3():
    assert losses.ADVERSARIAL_WEIGHT == 1e-3
    assert losses.perceptual_loss(torch.tensor(0.5), torch.tensor(2.0)).item() == pytest.approx(0.502)


def test_vgg_content_loss_rescale_and_zero_for_identical_images():
    from srgan.vgg import VGGFeatures, WeightsSource

    vgg = VGGFeatures("relu2_2", weights=WeightsSource(None, "random"))
    hr = torch.rand(1, 3, 32, 32) * 2 - 1
    sr = torch.rand(1, 3, 32, 32) * 2 - 1
    assert losses.vgg_content_loss(hr, hr, vgg).item() == 0
    full = losses.vgg_content_loss(sr, hr, vgg).item()
    scaled = losses.vgg_content_loss(sr, hr, vgg, rescale=1 / 12.75).item()
    assert scaled == pytest.approx(full / 12.75**2, rel=1e-5)


def test_artifact_map_weights_erratic_residuals_and_spares_what_beats_the_ema():
    """LDL: noise on a flat HR gets weight where G is worse than the EMA, none where it is better."""
    torch.manual_seed(0)
    hr = torch.zeros(1, 3, 32, 32)
    noisy = hr + 0.2 * torch.randn_like(hr)  # G invented speckle
    smooth = hr + 0.01  # the EMA is nearly right
    m = losses.artifact_map(hr, noisy, smooth)
    assert m.shape == (1, 1, 32, 32) and m.mean() > 0 and not m.requires_grad
    assert losses.artifact_map(hr, smooth, noisy).sum() == 0  # G closer to HR than the EMA everywhere: kept
    assert losses.artifact_map(hr, hr + 0.05, hr + 0.05).abs().max() < 1e-6  # a uniform offset is no artifact
    loss = losses.artifact_loss(noisy.requires_grad_(), hr, m)
    loss.backward()
    assert loss > 0 and noisy.grad.abs().sum() > 0


def _to_tensor(image) -> torch.Tensor:
    import numpy as np

    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1).unsqueeze(0)


def test_busyness_map_is_the_evaluations_busyness_on_a_real_photo(photo):
    """Training's flat and busy regions are `metrics.detail_by_region`'s: the same blurred gradient of luma."""
    import numpy as np

    from srgan.metrics import busyness, rgb_to_y

    ours = losses.busyness_map(_to_tensor(photo).double())[0, 0].numpy()  # (96, 96), luma units of [-1, 1]
    reference = busyness(rgb_to_y(photo)) / (219 / 255 * 127.5)  # Y in [16, 235] -> the same units
    inner = (slice(8, -8), slice(8, -8))  # the two differ only in how the borders are padded
    np.testing.assert_allclose(ours[inner], reference[inner], rtol=1e-6, atol=1e-9)
    assert ours.std() > 0.1 * ours.mean()  # a photo with both smooth skin and sharp edges


def test_flatness_weights_pull_hardest_where_hr_is_flat(photo):
    import numpy as np

    from srgan.metrics import busyness, rgb_to_y

    hr = _to_tensor(photo)
    weights = losses.flatness_weights(hr, boost=3.0)  # (1, 1, 96, 96)
    assert weights.shape == (1, 1, 96, 96) and not weights.requires_grad
    assert weights.min().item() == pytest.approx(1.0) and weights.max().item() == pytest.approx(3.0, abs=1e-3)
    busy = busyness(rgb_to_y(photo))
    low, high = np.quantile(busy, [0.3, 0.7])
    w = weights[0, 0].numpy()
    assert w[busy <= low].mean() > 2.3 and w[busy >= high].mean() < 1.7  # the evaluation's flat and busy 30 %
    assert torch.equal(losses.flatness_weights(hr, boost=1.0), torch.ones_like(weights))


def test_flatness_weights_give_tied_pixels_one_weight():
    hr = torch.zeros(1, 3, 32, 32)
    hr[..., 16:] = torch.rand(1, 3, 32, 16) * 2 - 1  # left half flat (all ties), right half noise
    w = losses.flatness_weights(hr, boost=3.0)[0, 0]
    assert w[:, :8].unique().numel() == 1 and w[:, :8].min() > w[:, 24:].max()


def test_weighted_pixel_loss_is_the_plain_loss_with_unit_weights_and_scales_each_pixels_pull():
    torch.manual_seed(0)
    sr, hr = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    ones = torch.ones(2, 1, 16, 16)
    assert losses.weighted_pixel_loss(sr, hr, ones, kind="l1") == pytest.approx(losses.l1_content_loss(sr, hr).item())
    assert losses.weighted_pixel_loss(sr, hr, ones, kind="mse") == pytest.approx(losses.mse_content_loss(sr, hr).item())
    weights = ones.clone()
    weights[..., :8] = 3.0
    sr.requires_grad_()
    losses.weighted_pixel_loss(sr, hr, weights, kind="l1").backward()
    ratio = sr.grad[..., :8].abs().mean() / sr.grad[..., 8:].abs().mean()
    assert ratio.item() == pytest.approx(3.0)  # L1: the pull per pixel is the weight
