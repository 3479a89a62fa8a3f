"""SRGAN Studio: SRGAN (Ledig et al. 2017, arXiv 1609.04802) to read, run and teach.

    >>> import srgan
    >>> model = srgan.load_pretrained("srgan")      # or "srresnet", or a checkpoint path
    >>> sr_image = srgan.Upscaler(model)(lr_image)  # PIL in, PIL out, x4

Names are imported lazily, so `import srgan` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Generator": "models",
    "Discriminator": "models",
    "ResidualBlock": "models",
    "UpsampleBlock": "models",
    "GeneratorConfig": "config",
    "DiscriminatorConfig": "config",
    "TrainConfig": "config",
    "load_pretrained": "checkpoints",
    "load_pretrained_discriminator": "checkpoints",
    "save_checkpoint": "checkpoints",
    "load_checkpoint": "checkpoints",
    "CheckpointError": "checkpoints",
    "Upscaler": "engine.inference",
    "bicubic_upscale": "data",
    "psnr": "metrics",
    "psnr_y": "metrics",
    "ssim_y": "metrics",
    "gradient_ratio": "metrics",
    "VGGFeatures": "vgg",
    "resolve_vgg19_weights": "vgg",
    "pick_device": "device",
    "ImageError": "images",
    "train": "training",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for editors and type checkers  # noqa: F401 (re-exports)
    from .checkpoints import (
        CheckpointError,
        load_checkpoint,
        load_pretrained,
        load_pretrained_discriminator,
        save_checkpoint,
    )
    from .config import DiscriminatorConfig, GeneratorConfig, TrainConfig
    from .data import bicubic_upscale
    from .device import pick_device
    from .engine.inference import Upscaler
    from .images import ImageError
    from .metrics import gradient_ratio, psnr, psnr_y, ssim_y
    from .models import Discriminator, Generator, ResidualBlock, UpsampleBlock
    from .training import train
    from .vgg import VGGFeatures, resolve_vgg19_weights


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'srgan' has no attribute {name!r}")
