"""VGG19 feature maps φ_i,j for the VGG content loss (paper §2.2.1, Eq. 5).

Lesson: [the VGG loss](../lessons/en/04_vgg_loss.md).

φ_i,j is "the feature map obtained by the j-th convolution (after activation) before the i-th
maxpooling layer" of an ImageNet-trained VGG19. VGG22 = relu2_2 (low-level), VGG54 = relu5_4
(high-level, the paper's SRGAN).

Where the weights come from, in this order (`resolve_vgg19_weights`):

1. an explicit path (argument, or the `SRGAN_VGG19_WEIGHTS` environment variable);
2. torchvision's file in the torch hub cache (`~/.cache/torch/hub/checkpoints/vgg19-dcbb9e9d.pth`);
3. torchvision's download, with a progress bar, for users who are online (skipped when
   `SRGAN_OFFLINE=1`; gives up within `timeout` seconds when the network is unreachable);
4. otherwise a *randomly initialised* VGG19. Its `pretrained` flag is False and its `source` says
   so: random features still react to edges and textures, but they are not ImageNet features and
   nothing in this project calls them "VGG54".

Every file goes through `torch.load(weights_only=True)`: a checkpoint can never run code.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

# Layer names of torchvision's `vgg19().features`, index by index.
_VGG19_BLOCKS = [2, 2, 4, 4, 4]
LAYER_NAMES: list[str] = []
for _i, _n in enumerate(_VGG19_BLOCKS, start=1):
    for _j in range(1, _n + 1):
        LAYER_NAMES += [f"conv{_i}_{_j}", f"relu{_i}_{_j}"]
    LAYER_NAMES.append(f"pool{_i}")
RELU_LAYERS: list[str] = [n for n in LAYER_NAMES if n.startswith("relu")]
# The paper's names: VGGij = φ_i,j after the activation.
PAPER_NAMES = {"vgg22": "relu2_2", "vgg54": "relu5_4"}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
# torchvision's `VGG19_Weights.IMAGENET1K_V1.url` (tests/test_vgg.py checks it), written out so that finding
# the weights does not import torchvision (2 s): the app shows where its VGG19 comes from before building it.
VGG19_URL = "https://download.pytorch.org/models/" + _TORCHVISION_FILE


def layer_index(layer: str) -> int:
    """Index in `vgg19().features` of a layer given as "relu5_4", "vgg54" or "conv2_2"."""
    layer = PAPER_NAMES.get(layer.lower(), layer.lower())
    if layer not in LAYER_NAMES:
        raise ValueError(f"unknown VGG19 layer {layer!r}; choose one of {', '.join(RELU_LAYERS)}")
    return LAYER_NAMES.index(layer)


@dataclass(frozen=True)
class WeightsSource:
    path: Path | None  # None: random initialisation
    description: str  # shown to users

    @property
    def pretrained(self) -> bool:
        return self.path is not None


def _reachable(url: str, timeout: float) -> bool:
    """Can we open a TCP connection to the host of `url` within `timeout` seconds (DNS included)?"""
    host = urlparse(url).hostname or ""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    # DNS lookups ignore socket timeouts; a daemon thread bounds the whole probe.
    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def resolve_vgg19_weights(
    path: str | Path | None = None, *, download: bool = True, timeout: float = 3.0
) -> WeightsSource:
    """Find ImageNet VGG19 weights: explicit path, hub cache, download; else report random.

    Args:
        path: explicit weights file; defaults to `$SRGAN_VGG19_WEIGHTS`.
        download: try torchvision's download when nothing is found locally (never when `SRGAN_OFFLINE=1`).
        timeout: seconds to decide that the network is unreachable.

    Returns:
        A `WeightsSource`; `.pretrained` is False when only random weights are possible.

    Raises:
        FileNotFoundError: an explicit path that does not exist (a typo should not silently go random).
    """
    explicit = path or os.environ.get("SRGAN_VGG19_WEIGHTS")
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"VGG19 weights not found at {p}")
        return WeightsSource(p, f"ImageNet VGG19 from {p}")
    cached = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILE
    if cached.is_file():
        return WeightsSource(cached, f"ImageNet VGG19 from the torch hub cache ({cached})")
    offline = os.environ.get("SRGAN_OFFLINE", "") not in ("", "0")
    if download and not offline:
        url = VGG19_URL
        if _reachable(url, timeout):
            try:
                torch.hub.download_url_to_file(url, str(cached.with_suffix(".part")), progress=True)
                cached.with_suffix(".part").replace(cached)
                return WeightsSource(cached, f"ImageNet VGG19 downloaded to {cached}")
            except Exception:  # network dropped mid-way: fall through to random, said loudly
                cached.with_suffix(".part").unlink(missing_ok=True)
    return WeightsSource(
        None,
        "random VGG19 (ImageNet weights unavailable offline): features are NOT ImageNet features; "
        "set SRGAN_VGG19_WEIGHTS to a vgg19-dcbb9e9d.pth file to use the real ones",
    )


class VGGFeatures(nn.Module):
    """VGG19 truncated after layer `layer`, taking images in [-1, 1] (the paper's HR range).

    Attributes:
        pretrained: True only for ImageNet weights.
        source: a sentence saying where the weights came from.
    """

    def __init__(self, layer: str = "relu5_4", *, weights: WeightsSource | None = None) -> None:
        super().__init__()
        weights = weights if weights is not None else resolve_vgg19_weights()
        self.layer = LAYER_NAMES[layer_index(layer)]
        self.pretrained, self.source = weights.pretrained, weights.description
        features = _vgg19_features()
        if weights.path is not None:  # a torchvision VGG19 state dict: its classifier is not needed here
            state = torch.load(weights.path, map_location="cpu", weights_only=True)
            state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
            features.load_state_dict(state)  # strict: every convolution's weight and bias, nothing else
        self.features = features[: layer_index(layer) + 1].eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = ((image + 1) / 2 - self.mean) / self.std  # [-1, 1] -> ImageNet-normalised
        return self.features(x)  # (B, 3, H, W) -> (B, C_ij, H / 2^(i-1), W / 2^(i-1))

    def all_layers(self, image: torch.Tensor, *, until: str | None = None) -> dict[str, torch.Tensor]:
        """Every intermediate activation, by name (for the feature-map explorer).

        Args:
            image: (B, 3, H, W) in [-1, 1].
            until: the last layer to compute (default: this extractor's `layer`); the explorer asks for
                relu2_2 without paying for the 12 convolutions after it.

        Returns:
            {layer name: activation}, from conv1_1 to `until`.
        """
        x = ((image + 1) / 2 - self.mean) / self.std
        out = {}
        for name, module in zip(LAYER_NAMES, self.features):
            x = module(x)
            out[name] = x
            if name == until:
                break
        return out


def _vgg19_features() -> nn.Sequential:
    """torchvision's `vgg19().features` (configuration "E": 16 convolutions), initialised as torchvision does.

    Only the convolutional part: the classifier (124 M parameters, 494 MB, 1 s to initialise) is never used
    for φ_i,j. The initialisation is seeded, so the offline random VGG19 is the same in every process.
    """
    from torchvision.models.vgg import cfgs, make_layers

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        features = make_layers(cfgs["E"])
        for m in features.modules():
            if isinstance(m, nn.Conv2d):  # torchvision's VGG.__init__ for its convolutions
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
    return features


@lru_cache(maxsize=4)
def vgg_features(layer: str = "relu5_4") -> VGGFeatures:
    """A cached, frozen `VGGFeatures` (resolving the weights once per process)."""
    return VGGFeatures(layer, weights=cached_weights_source())


@lru_cache(maxsize=1)
def cached_weights_source() -> WeightsSource:
    """Where this process's VGG19 weights come from (resolved once; cheap after the first call)."""
    return resolve_vgg19_weights()
