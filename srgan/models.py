"""The generator and the discriminator of SRGAN (Ledig et al. 2017, arXiv 1609.04802, Fig. 4).

Lessons: [generator and discriminator](../lessons/en/02_generator_discriminator.md),
[PixelShuffle](../lessons/en/07_pixel_shuffle.md), [PReLU](../lessons/en/08_prelu.md),
[Fig. 4 live, block by block](../lessons/en/10_architecture.md) (the Architecture tab: `srgan/architecture.py`).

Generator (Fig. 4, top), for scale r = 2^k::

    I_LR (B, 3, H, W) in [0, 1]
      -> conv 9x9, 64 + PReLU                                   (B, 64, H, W)
      -> B x [conv 3x3 + BN + PReLU + conv 3x3 + BN, + skip]    (B, 64, H, W)
      -> conv 3x3 + BN, + long skip from the first PReLU        (B, 64, H, W)
      -> k x [conv 3x3 to 256 + PixelShuffle x2 + PReLU]        (B, 64, rH, rW)
      -> conv 9x9 to 3                                          (B, 3, rH, rW) in [-1, 1]

Discriminator (Fig. 4, bottom): eight 3x3 convolutions 64 -> 512 (stride 2 whenever the channels
stay, so the spatial size halves four times), LeakyReLU(0.2), BN after every convolution but the
first, then Dense(1024), LeakyReLU, Dense(1). It returns a *logit*; sigmoid(logit) = D(I).

Deviations from the paper, all deliberate:

- Output range: the paper scales HR images to [-1, 1] and the LR input to [0, 1] (§3.2) and
  shows no output activation in Fig. 4. We keep both ranges and a linear last layer;
  `Upscaler` clamps to [-1, 1] when it turns the output into pixels.
- Discriminator head: the paper ends with a sigmoid; we return the logit and apply the sigmoid
  inside the loss (`binary_cross_entropy_with_logits`), which is the same function but
  numerically stable (see `losses.py`).
- Pooling: the paper flattens the 6x6x512 map of a 96x96 input into Dense(1024). We put an
  `AdaptiveAvgPool2d(6)` in front, which is the identity for 96x96 inputs (the paper's case)
  and lets the discriminator score images of any size in the app.
- Scale: the paper only trains x4; other powers of two simply change the number of upsampling
  blocks (log2(scale)).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import DiscriminatorConfig, GeneratorConfig


class ResidualBlock(nn.Module):
    """k3n64s1 -> BN -> PReLU -> k3n64s1 -> BN, plus the identity (Fig. 4, "B residual blocks")."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.prelu = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.prelu(self.bn1(self.conv1(x)))  # (B, C, H, W)
        y = self.bn2(self.conv2(y))  # (B, C, H, W)
        return x + y  # elementwise sum: the block only learns a residual


class UpsampleBlock(nn.Module):
    """k3n256s1 -> PixelShuffle x2 -> PReLU (Fig. 4, the two "sub-pixel" blocks).

    The convolution makes 4·C channels at low resolution; PixelShuffle rearranges each group of
    r² = 4 channels into a 2x2 neighbourhood (Shi et al. 2016). See `teaching.pixel_shuffle_by_hand`.
    """

    def __init__(self, channels: int, factor: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * factor**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(factor)
        self.prelu = nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (B, C, H, W) -> (B, 4C, H, W)
        x = self.shuffle(x)  # (B, 4C, H, W) -> (B, C, 2H, 2W)
        return self.prelu(x)


class Generator(nn.Module):
    """SRResNet / SRGAN generator G_θG (Fig. 4, top). Same network for both: only the loss differs.

    Args:
        scale: upscaling factor r, a power of two (2, 4 or 8).
        num_residual_blocks: B, the number of residual blocks (16 in the paper).
        channels: feature channels of every convolution (64 in the paper).

    The default (x4, B=16, 64 channels) has 1,550,659 parameters.
    """

    def __init__(self, *, scale: int = 4, num_residual_blocks: int = 16, channels: int = 64) -> None:
        super().__init__()
        self.config = GeneratorConfig(scale=scale, num_residual_blocks=num_residual_blocks, channels=channels)
        self.head = nn.Sequential(nn.Conv2d(3, channels, 9, padding=4), nn.PReLU(channels))
        self.residual_blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_residual_blocks)])
        self.body_tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsample = nn.Sequential(*[UpsampleBlock(channels) for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(channels, 3, 9, padding=4)

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, lr_image: torch.Tensor) -> torch.Tensor:
        """Map a low-resolution batch in [0, 1] to a super-resolved batch in [-1, 1].

        Args:
            lr_image: (B, 3, H, W), values in [0, 1].

        Returns:
            sr_image: (B, 3, scale·H, scale·W), values (approximately) in [-1, 1].
        """
        x = self.head(lr_image)  # (B, 3, H, W) -> (B, 64, H, W)
        y = self.body_tail(self.residual_blocks(x))  # (B, 64, H, W)
        y = x + y  # the long skip connection around all residual blocks
        y = self.upsample(y)  # (B, 64, H, W) -> (B, 64, rH, rW)
        return self.tail(y)  # (B, 64, rH, rW) -> (B, 3, rH, rW)

    @classmethod
    def from_config(cls, config: GeneratorConfig) -> "Generator":
        return cls(scale=config.scale, num_residual_blocks=config.num_residual_blocks, channels=config.channels)

    def prelus(self) -> list[tuple[str, nn.PReLU]]:
        """Every PReLU in forward order, with its module name (used by the PReLU lesson)."""
        return [(name, m) for name, m in self.named_modules() if isinstance(m, nn.PReLU)]


def _disc_block(in_channels: int, out_channels: int, stride: int, *, batch_norm: bool, slope: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    """SRGAN discriminator D_θD (Fig. 4, bottom). Returns the logit of "this image is a real HR image".

    Args:
        channels: channels of the first convolution (64); they double every second block to 8·channels.
        dense_features: width of the hidden dense layer (1024).
        leaky_slope: negative slope of every LeakyReLU (0.2).

    Input: (B, 3, H, W) in [-1, 1] (96x96 in training). Output: (B,) logits.
    """

    def __init__(self, *, channels: int = 64, dense_features: int = 1024, leaky_slope: float = 0.2) -> None:
        super().__init__()
        self.config = DiscriminatorConfig(channels=channels, dense_features=dense_features, leaky_slope=leaky_slope)
        c = channels
        # (in, out, stride): k3n64s1, k3n64s2, k3n128s1, k3n128s2, k3n256s1, k3n256s2, k3n512s1, k3n512s2
        plan = [
            (3, c, 1),
            (c, c, 2),
            (c, 2 * c, 1),
            (2 * c, 2 * c, 2),
            (2 * c, 4 * c, 1),
            (4 * c, 4 * c, 2),
            (4 * c, 8 * c, 1),
            (8 * c, 8 * c, 2),
        ]
        self.features = nn.Sequential(
            *[_disc_block(i, o, s, batch_norm=k > 0, slope=leaky_slope) for k, (i, o, s) in enumerate(plan)]
        )
        self.pool = nn.AdaptiveAvgPool2d(6)  # identity at 96x96 (96 / 2^4 = 6); see the module docstring
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(8 * c * 6 * 6, dense_features),
            nn.LeakyReLU(leaky_slope),
            nn.Linear(dense_features, 1),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.features(image)  # (B, 3, 96, 96) -> (B, 512, 6, 6)
        return self.head(x)  # (B,)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """The logits from the last block's features: the pool and the two dense layers of Fig. 4."""
        x = self.pool(features)  # (B, 512, h, w) -> (B, 512, 6, 6)
        return self.classifier(x).squeeze(1)  # (B, 18432) -> (B,)

    def feature_maps(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Every convolutional block's output, first to last (eight maps; `head` of the last gives the logits).

        Used by the feature-matching content loss (`losses.discriminator_feature_loss`, beyond the paper).
        """
        maps = []
        x = image  # (B, 3, H, W)
        for block in self.features:
            x = block(x)  # (B, C_k, H / 2^⌊(k+1)/2⌋, ...)
            maps.append(x)
        return maps

    @classmethod
    def from_config(cls, config: DiscriminatorConfig) -> "Discriminator":
        return cls(channels=config.channels, dense_features=config.dense_features, leaky_slope=config.leaky_slope)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
