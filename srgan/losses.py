"""The losses of SRGAN (Ledig et al. 2017, arXiv 1609.04802, §2.2, Eqs. 3–6).

Lessons: [content loss and PSNR](../lessons/en/03_content_loss_psnr.md),
[VGG loss](../lessons/en/04_vgg_loss.md), [adversarial loss](../lessons/en/05_adversarial_loss.md),
[perceptual loss](../lessons/en/06_perceptual_loss.md).

Images are in the paper's ranges: `sr_image` and `hr_image` in [-1, 1] (§3.2), so the MSE below is
the paper's number. The discriminator returns logits; D(I) = sigmoid(logit).

Beyond the paper (opt-in, `TrainConfig.artifact_weight`): `artifact_loss`, the locally discriminative
learning loss of LDL (Liang et al., "Details or Artifacts", CVPR 2022), which penalises the GAN's detail where it
is an artifact: where the residual to HR is locally erratic and worse than what the smoothed (EMA) generator gives.
Also beyond the paper: `relativistic_*` (ESRGAN's game) and `discriminator_feature_loss` (pix2pixHD's feature
matching, a feature-space content loss without ImageNet weights).

Deviation: Eq. 6 sums −log D(G(I_LR)) over the N training samples; like every implementation we
average over the mini-batch instead, which only rescales the learning rate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .vgg import VGGFeatures

ADVERSARIAL_WEIGHT = 1e-3  # Eq. 3: l^SR = l_X^SR + 10^-3 l_Gen^SR


def mse_content_loss(sr_image: torch.Tensor, hr_image: torch.Tensor) -> torch.Tensor:
    """Pixel-wise MSE content loss (Eq. 4).

    l_MSE^SR = 1/(r²WH) Σ_x Σ_y (I^HR_x,y − G_θG(I^LR)_x,y)²

    Args:
        sr_image, hr_image: (B, 3, rH, rW) in [-1, 1].

    Returns:
        A scalar: the mean over batch, channels and pixels.
    """
    return F.mse_loss(sr_image, hr_image)


def l1_content_loss(sr_image: torch.Tensor, hr_image: torch.Tensor) -> torch.Tensor:
    """Pixel-wise L1 content loss: beyond the paper (EDSR's and ESRGAN's pixel loss, Lim et al. 2017, Wang et al. 2018).

    l_L1 = 1/(r²WH) Σ_x Σ_y |I^HR_x,y − G_θG(I^LR)_x,y|

    Why, next to Eq. 4: MSE's gradient is proportional to the error, so faint speckle (a gray level or two on a
    flat sky) costs almost nothing and the adversarial term is free to add it. L1's gradient has the same size
    for every error: faint noise where HR is flat is pushed back as hard as a large error, while strong texture
    costs no more per unit than with MSE. With a weight of about 0.1 its pull per pixel where HR is busy is near
    MSE's (`TrainConfig.content_weight`).

    Args:
        sr_image, hr_image: (B, 3, rH, rW) in [-1, 1].

    Returns:
        A scalar: the mean absolute difference over batch, channels and pixels.

    Lesson: [adversarial loss, beyond the paper](../lessons/en/05_adversarial_loss.md).
    """
    return F.l1_loss(sr_image, hr_image)


def vgg_content_loss(
    sr_image: torch.Tensor, hr_image: torch.Tensor, vgg: VGGFeatures, *, rescale: float = 1.0
) -> torch.Tensor:
    """VGG content loss on φ_i,j (Eq. 5).

    l_VGG/i.j^SR = 1/(W_ij H_ij) Σ_x Σ_y (φ_i,j(I^HR)_x,y − φ_i,j(G_θG(I^LR))_x,y)²

    Args:
        sr_image, hr_image: (B, 3, H, W) in [-1, 1].
        vgg: the feature extractor ending at φ_i,j (after the ReLU). Check `vgg.pretrained`.
        rescale: multiply the feature maps by this before the difference; the paper uses 1/12.75
            "to obtain VGG losses of a scale that is comparable to the MSE loss" (§3.2).

    Returns:
        A scalar: the mean over batch, channels and positions.
    """
    with torch.no_grad():
        target = vgg(hr_image) * rescale  # (B, C_ij, H_ij, W_ij); no gradient through the target
    return F.mse_loss(vgg(sr_image) * rescale, target)


def adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator's adversarial loss (Eq. 6), the "non-saturating" form.

    l_Gen^SR = Σ_n −log D_θD(G_θG(I^LR))

    −log sigmoid(z) = softplus(−z) is computed from the logit z, which never takes the log of 0.

    Args:
        fake_logits: (B,) discriminator logits for SR images.

    Returns:
        The mean over the batch.
    """
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: it maximises log D(I^HR) + log(1 − D(G(I^LR))) (Eq. 2).

    Minimised form: −log D(I^HR) − log(1 − D(I^SR)) = softplus(−z_HR) + softplus(z_SR).

    Args:
        real_logits: (B,) logits for HR images; fake_logits: (B,) logits for SR images (detached).

    Returns:
        The mean over the batch of the two terms summed.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def relativistic_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Beyond the paper: the relativistic average discriminator's loss (ESRGAN, Wang et al. 2018, Eq. 1).

    D no longer asks "is this patch real?" but "is it more real than the average fake?":
    D_Ra(x_r, x_f) = σ(C(x_r) − E[C(x_f)]), with C the logit. Minimised form, halved as in the authors' code
    (BasicSR's ESRGANModel) so that its scale matches Eq. 2's per-term weight:
    ½ [−log D_Ra(x_r, x_f) − log(1 − D_Ra(x_f, x_r))] = ½ [softplus(−(z_HR − mean z_SR)) + softplus(z_SR − mean z_HR)].

    Lesson: [adversarial loss, beyond the paper](../lessons/en/05_adversarial_loss.md).

    Args:
        real_logits: (B,) logits for HR images; fake_logits: (B,) logits for SR images (detached for D's step).

    Returns:
        The mean over the batch of the two terms, averaged (log 2 when D cannot tell them apart).
    """
    real_vs_fake = real_logits - fake_logits.mean()  # (B,)
    fake_vs_real = fake_logits - real_logits.mean()  # (B,)
    return (F.softplus(-real_vs_fake).mean() + F.softplus(fake_vs_real).mean()) / 2


def relativistic_adversarial_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Beyond the paper: the generator's side of ESRGAN's relativistic game (Wang et al. 2018, Eq. 2).

    The mirror of `relativistic_discriminator_loss`: G wants its SR patches to look more real than the average HR
    patch, and the HR patches less real than its average SR. Unlike Eq. 6, G's gradient then also depends on the
    real patches, which ESRGAN credits for sharper edges and richer texture.

    It is D's loss with the roles swapped: what D calls real, G wants called fake, and the other way round.

    Args:
        real_logits: (B,) logits for HR images (no gradient needed); fake_logits: (B,) logits for SR images.

    Returns:
        The mean over the batch of the two terms, averaged as in `relativistic_discriminator_loss`.
    """
    return relativistic_discriminator_loss(fake_logits, real_logits)


def discriminator_feature_loss(sr_maps: list[torch.Tensor], hr_maps: list[torch.Tensor]) -> torch.Tensor:
    """Beyond the paper: a content loss on the discriminator's own features (feature matching).

    The paper's best content loss, VGG54 (Eq. 5), compares SR and HR in the feature space of a network trained on
    ImageNet, whose weights are not available offline. D is a second network that has learnt which features tell
    a real photo from G's output; its maps are a feature space that exists offline. The loss is pix2pixHD's
    feature-matching term (Wang et al., CVPR 2018, Eq. 4): the mean absolute difference of every block's map for
    the SR patch and for its own HR patch, averaged over the blocks (the paper of Salimans et al. 2016, §3.1,
    matched batch means instead). Paired, unlike Eq. 6: G is pulled towards the HR patch's texture, not towards
    any texture D believes.

    Lesson: [VGG loss](../lessons/en/04_vgg_loss.md) (its section on a content loss without ImageNet).

    Args:
        sr_maps: `Discriminator.feature_maps` of the SR batch, with their graph.
        hr_maps: the same for the HR batch (no gradient needed).

    Returns:
        The mean over the blocks of each block's mean absolute difference.
    """
    if len(sr_maps) != len(hr_maps) or not sr_maps:
        raise ValueError(f"feature matching needs the same blocks for SR and HR, got {len(sr_maps)} and {len(hr_maps)}")
    per_block = [F.l1_loss(sr.float(), hr.float()) for sr, hr in zip(sr_maps, hr_maps)]
    return torch.stack(per_block).mean()


def perceptual_loss(
    content: torch.Tensor, adversarial: torch.Tensor, *, weight: float = ADVERSARIAL_WEIGHT
) -> torch.Tensor:
    """The perceptual loss (Eq. 3): l^SR = l_X^SR + 10^-3 · l_Gen^SR."""
    return content + weight * adversarial


def artifact_map(
    hr_image: torch.Tensor, sr_image: torch.Tensor, ema_image: torch.Tensor, *, kernel: int = 7
) -> torch.Tensor:
    """LDL's refined artifact map M (Liang et al. 2022, Eqs. 5–8): where SR's detail is noise, not texture.

    The residual R = |I^HR − I^SR| (summed over colours) of a GAN is small and smooth where its detail is right, and
    erratic where it invented texture that is not in HR. M is the local variance of R in a `kernel` x `kernel`
    window (pixel level), times the patch's overall variance of R to the power 1/5 (patch level, so that patches
    with no artifacts get little weight), and set to 0 wherever the GAN is closer to HR than the EMA generator
    is: there its detail is better than the stable model's, so it is kept.

    Args:
        hr_image, sr_image, ema_image: (B, 3, H, W) in [-1, 1]; `ema_image` from the EMA generator, no gradient.
        kernel: the local window (7 in LDL).

    Returns:
        (B, 1, H, W) weights, detached.

    Lesson: [adversarial loss, beyond the paper](../lessons/en/05_adversarial_loss.md).
    """
    with torch.no_grad():
        residual = (hr_image - sr_image).abs().sum(1, keepdim=True) / 2  # (B, 1, H, W), in [0, 1]-image units
        residual_ema = (hr_image - ema_image).abs().sum(1, keepdim=True) / 2
        patch_weight = residual.var(dim=(1, 2, 3), unbiased=True, keepdim=True) ** (1 / 5)  # (B, 1, 1, 1)
        pad = kernel // 2
        local = F.avg_pool2d(F.pad(residual, (pad,) * 4, mode="reflect"), kernel, stride=1)  # local mean
        local_sq = F.avg_pool2d(F.pad(residual**2, (pad,) * 4, mode="reflect"), kernel, stride=1)
        pixel_weight = (local_sq - local**2).clamp_min(0) * kernel**2 / (kernel**2 - 1)  # unbiased local variance
        weight = patch_weight * pixel_weight
        return weight.masked_fill(residual < residual_ema, 0.0)


def artifact_loss(sr_image: torch.Tensor, hr_image: torch.Tensor, weight_map: torch.Tensor) -> torch.Tensor:
    """LDL's artifact loss: L1 between M ⊙ I^SR and M ⊙ I^HR, with M from `artifact_map` (Liang et al. 2022, Eq. 9)."""
    return F.l1_loss(weight_map * sr_image, weight_map * hr_image)


def busyness_map(hr_image: torch.Tensor, *, sigma: float = 2.0) -> torch.Tensor:
    """How much structure surrounds each pixel: luma's gradient magnitude, Gaussian-blurred (torch's `metrics.busyness`).

    Args:
        hr_image: (B, 3, H, W) in [-1, 1], H and W above 3σ.
        sigma: the blur, in pixels.

    Returns:
        (B, 1, H, W), in luma units per pixel (BT.601 weights; the ranks are those of `metrics.busyness` on Y).
    """
    luma = (0.299 * hr_image[:, 0] + 0.587 * hr_image[:, 1] + 0.114 * hr_image[:, 2]).unsqueeze(1)  # (B, 1, H, W)
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    gx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) / 2  # central differences, as np.gradient inside
    gy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) / 2
    magnitude = torch.hypot(gx, gy)  # (B, 1, H, W)
    radius = int(3 * sigma)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=luma.dtype, device=luma.device) / sigma) ** 2)
    taps = taps / taps.sum()
    blurred = F.pad(magnitude, (radius,) * 4, mode="reflect")  # as metrics.busyness
    blurred = F.conv2d(blurred, taps.view(1, 1, 1, -1))  # separable Gaussian: rows, then columns
    return F.conv2d(blurred, taps.view(1, 1, -1, 1))  # (B, 1, H, W)


def flatness_weights(hr_image: torch.Tensor, *, boost: float, sigma: float = 2.0) -> torch.Tensor:
    """Per-pixel weights for the content loss: `boost` where HR is flattest, 1 where it is busiest (beyond the paper).

    A region-targeted content loss, after SROBB (Rad et al., "Targeted Perceptual Loss for Single Image
    Super-Resolution", ICCV 2019), which gives edges, objects and background each their own loss. Here the regions
    come from HR itself, as in `metrics.detail_by_region`: "busyness" (`busyness_map`) is the gradient magnitude
    of HR's luma, Gaussian-blurred (σ = 2 px). Each pixel's weight falls linearly with its busyness rank in the
    mini-batch, so the GAN's texture stays where the photo has texture and the pull against it is strongest where
    the photo is smooth (sky, skin). Why it matters for PSNR: texture a GAN invents is nearly uncorrelated with HR's, so every
    bit of it costs its full energy in MSE; where HR is flat that cost buys nothing.

    Args:
        hr_image: (B, 3, H, W) in [-1, 1].
        boost: the weight of the batch's flattest pixel (>= 1; 1 gives all ones).
        sigma: the blur of the gradient magnitude, in pixels.

    Returns:
        (B, 1, H, W) weights in [1, boost], detached.

    Lesson: [adversarial loss, beyond the paper](../lessons/en/05_adversarial_loss.md).
    """
    with torch.no_grad():
        blurred = busyness_map(hr_image, sigma=sigma)  # (B, 1, H, W)
        values = blurred.flatten().contiguous()
        ordered = values.sort().values
        # mid-rank in [0, 1]; ties (a clipped sky) share one rank
        first = torch.searchsorted(ordered, values, side="left")
        last = torch.searchsorted(ordered, values, side="right") - 1
        rank = (first + last).to(values.dtype) / (2 * max(values.numel() - 1, 1))
        return (1 + (boost - 1) * (1 - rank)).view_as(blurred)  # busiest pixel: 1; flattest: boost


def weighted_pixel_loss(
    sr_image: torch.Tensor, hr_image: torch.Tensor, weights: torch.Tensor, *, kind: str = "l1"
) -> torch.Tensor:
    """The L1 or MSE content loss with a weight per pixel (`flatness_weights`): the mean of w · |SR − HR|^p.

    Args:
        sr_image, hr_image: (B, 3, H, W) in [-1, 1].
        weights: (B, 1, H, W), shared by the colour channels.
        kind: "l1" or "mse".

    Returns:
        A scalar; with all weights 1 it is `l1_content_loss` or `mse_content_loss`.
    """
    error = (sr_image - hr_image).abs() if kind == "l1" else (sr_image - hr_image) ** 2  # (B, 3, H, W)
    return (weights * error).mean()
