"""Typed configuration for the models and the training loop.

Every default is the paper's (Ledig et al. 2017, arXiv 1609.04802) unless the comment says otherwise;
the section of the paper that fixes it is cited beside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

ContentLoss = Literal["mse", "l1", "vgg22", "vgg54"]  # "l1": beyond the paper (ESRGAN's pixel loss)


SCALE = 4  # §2: "upscaling factor r = 4"; the factor of the bundled models, the tabs and the MOS deck


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of the generator G (Fig. 4, top)."""

    scale: int = SCALE
    num_residual_blocks: int = 16  # §3.2 / Fig. 4: "B = 16 residual blocks"
    channels: int = 64  # Fig. 4: "k3n64s1"

    def __post_init__(self) -> None:
        if self.scale not in (2, 4, 8):
            raise ValueError(f"scale must be 2, 4 or 8 (a power of two for PixelShuffle x2 blocks), got {self.scale}")
        if self.num_residual_blocks < 1 or self.channels < 1:
            raise ValueError("num_residual_blocks and channels must be positive")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Architecture of the discriminator D (Fig. 4, bottom)."""

    channels: int = 64  # Fig. 4: first block k3n64s1, doubling to 512
    dense_features: int = 1024  # Fig. 4: "Dense (1024)"
    leaky_slope: float = 0.2  # §2.3: "LeakyReLU activation (α = 0.2)"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainConfig:
    """One training stage. The two presets below are the paper's two stages (§3.2)."""

    preset: Literal["srresnet", "srgan"] = "srresnet"
    steps: int = 1000
    batch_size: int = 16  # §3.2: "mini-batch size of 16"
    hr_patch: int = 96  # §3.2: "16 random 96 × 96 HR sub images"
    learning_rate: float = 1e-4  # §3.2: "learning rate of 10^-4"
    beta1: float = 0.9  # §3.2: "Adam with β1 = 0.9"
    # Learning-rate drops: (step, factor). The paper trains SRGAN 10^5 steps at 1e-4 then 10^5 at 1e-5 (§3.2).
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    content_loss: ContentLoss = "mse"
    # Beyond the paper: a weight on the content loss (1 in Eq. 3). An L1 content loss needs one below 1 to keep
    # the balance with the adversarial term where the texture is (see `losses.l1_content_loss`).
    content_weight: float = 1.0
    # Beyond the paper: a pixel content loss (mse or l1) weighted by where HR is flat: `flat_boost` times
    # `content_weight` at the batch's flattest pixel, falling linearly with the busyness rank to 1 times it at the
    # busiest (`losses.flatness_weights`; 1 = off, Eq. 4's uniform weight).
    flat_boost: float = 1.0
    adversarial_weight: float = 0.0  # §2.2, Eq. 3: 1e-3 for SRGAN, 0 for SRResNet
    # Beyond the paper: ESRGAN's relativistic average discriminator (`losses.relativistic_discriminator_loss`)
    # in place of Eq. 2 and Eq. 6 (False = the paper's game).
    relativistic: bool = False
    # Beyond the paper: + this · the discriminator's feature-matching loss (`losses.discriminator_feature_loss`,
    # pix2pixHD's), a feature-space content loss that needs no ImageNet weights (0 = off).
    feature_matching_weight: float = 0.0
    vgg_rescale: float = 1.0 / 12.75  # §3.2: "VGG losses re-scaled by 1/12.75"
    init_from: str | None = None  # §3.2: "SRResNet ... used as initialization for the generator"
    augment: bool = True  # random flips and 90° rotations (not in the paper; helps a small data set)
    # ICNR initialisation of the sub-pixel convolutions when training from scratch (Aitken et al. 2017,
    # not in the paper): the upsampling starts checkerboard-free (see `srgan.teaching.icnr_`).
    icnr_init: bool = True
    # Beyond the paper, for a GAN without noise (see assets/weights/README.md): an exponential moving average of
    # G's weights (ESRGAN/LDL practice; 0 = off), saved beside G, and LDL's artifact loss (Liang et al. 2022) with
    # this weight (0 = off; needs the EMA, whose output decides what is an artifact).
    ema_decay: float = 0.0
    artifact_weight: float = 0.0
    # Beyond the paper: softened copies of every photo (Gaussian blur of these σ, in HR pixels, before the
    # downsampling), drawn for `soft_share` of the patches. They teach G that a smooth LR has a smooth HR, and D
    # that smooth is not fake, so the GAN stops adding texture where a photo is flat (issue #16).
    soft_sigmas: tuple[float, ...] = ()
    soft_share: float = 0.0
    seed: int = 0
    checkpoint_every: int = 100
    eval_every: int = 100
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if self.hr_patch % self.generator.scale or self.hr_patch < 4 * self.generator.scale:
            raise ValueError(
                f"hr_patch must be a multiple of the scale ({self.generator.scale}) and at least "
                f"{4 * self.generator.scale}, got {self.hr_patch}"
            )
        if not (0 < self.learning_rate < 1):
            raise ValueError(f"learning rate must be in (0, 1), got {self.learning_rate}")
        if not (0 < self.content_weight <= 100):
            raise ValueError(f"content weight must be in (0, 100], got {self.content_weight}")
        if not (1 <= self.flat_boost <= 10):
            raise ValueError(f"flat boost must be in [1, 10], got {self.flat_boost}")
        if self.flat_boost != 1 and self.content_loss not in ("mse", "l1"):
            raise ValueError(f"the flat boost weights a pixel loss (mse or l1), not {self.content_loss}")
        if not (0 <= self.ema_decay < 1):
            raise ValueError(f"EMA decay must be in [0, 1), got {self.ema_decay}")
        if self.relativistic and not self.uses_discriminator:
            raise ValueError("the relativistic game needs an SRGAN stage (a discriminator)")
        if not (0 <= self.feature_matching_weight <= 100):
            raise ValueError(f"feature-matching weight must be in [0, 100], got {self.feature_matching_weight}")
        if self.feature_matching_weight and not self.uses_discriminator:
            raise ValueError("feature matching needs an SRGAN stage (a discriminator)")
        if self.artifact_weight and not (self.ema_decay and self.uses_discriminator):
            raise ValueError("the artifact loss needs an SRGAN stage with an EMA generator (ema_decay > 0)")
        if any(not 0 < s <= 8 for s in self.soft_sigmas):
            raise ValueError(f"soft-copy blurs must be in (0, 8] pixels, got {list(self.soft_sigmas)}")
        if not (0 <= self.soft_share < 1) or bool(self.soft_share) != bool(self.soft_sigmas):
            raise ValueError(f"the soft-copy share must be in (0, 1) with soft-copy blurs, got {self.soft_share}")

    @property
    def uses_discriminator(self) -> bool:
        return self.adversarial_weight > 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lr_milestones"] = list(self.lr_milestones)
        d["soft_sigmas"] = list(self.soft_sigmas)
        return d

    @classmethod
    def preset_srresnet(cls, **overrides) -> "TrainConfig":
        """Stage 1: SRResNet-MSE, the generator alone with the pixel-wise MSE content loss (Eq. 4)."""
        overrides.setdefault("content_loss", "mse")
        return cls(preset="srresnet", adversarial_weight=0.0, **overrides)

    @classmethod
    def preset_srgan(cls, **overrides) -> "TrainConfig":
        """Stage 2: SRGAN, initialised from SRResNet, content + 1e-3 adversarial (Eq. 3)."""
        overrides.setdefault("content_loss", "vgg54")
        return cls(preset="srgan", adversarial_weight=1e-3, **overrides)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["generator"] = GeneratorConfig(**d.get("generator", {}))
        d["discriminator"] = DiscriminatorConfig(**d.get("discriminator", {}))
        d["lr_milestones"] = tuple(d.get("lr_milestones", ()))
        d["soft_sigmas"] = tuple(d.get("soft_sigmas", ()))
        d.setdefault("icnr_init", False)  # runs recorded before the field existed were not ICNR-initialised
        return cls(**d)
