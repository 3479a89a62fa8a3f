"""PyTorch Hub entry points: the bundled x4 generators, as `torch.hub.load` returns them.

    import torch
    model = torch.hub.load("path/to/srgan-studio", "srgan", source="local")   # a checkout
    model = torch.hub.load("OWNER/srgan-studio", "srgan")                    # from GitHub (online)
    sr = model(lr)  # (N, 3, h, w) in [0, 1] -> (N, 3, 4h, 4w) in [-1, 1] (§3.2); srgan.Upscaler(model) for PIL

Each call returns a model of its own (eval mode, trainable), not the shared frozen one `srgan.load_pretrained`
caches, so it can be fine-tuned. The weights are the repository's `assets/weights/` (see their model card).
"""

from __future__ import annotations

import copy as _copy

dependencies = ["torch", "safetensors"]  # what torch.hub checks before importing this file


def _generator(name: str, pretrained: bool):
    from srgan.checkpoints import load_pretrained, read_metadata, resolve
    from srgan.config import GeneratorConfig
    from srgan.models import Generator

    if pretrained:
        model = _copy.deepcopy(load_pretrained(name))
    else:  # the same architecture, freshly initialised
        model = Generator.from_config(GeneratorConfig(**read_metadata(resolve(name))["config"]))
    return model.requires_grad_(True).eval()


def srgan(pretrained: bool = True):
    """SRGAN's generator, x4 (Ledig et al. 2017): SRResNet fine-tuned with content + 10^-3 adversarial loss.

    Args:
        pretrained: the bundled weights (default); False: the same architecture, randomly initialised.
    """
    return _generator("srgan", pretrained)


def srresnet(pretrained: bool = True):
    """SRResNet, x4: the same generator trained with the MSE loss only (the paper's PSNR-oriented baseline).

    Args:
        pretrained: the bundled weights (default); False: the same architecture, randomly initialised.
    """
    return _generator("srresnet", pretrained)
