"""Network interpolation: a dial between the MSE-trained SRResNet and SRGAN (or any two generators).

Lesson: [the perception–distortion trade-off](../lessons/en/09_perception_distortion.md). App: the
Realism dial tab (`ui/realism.py`).

An extension beyond the SRGAN paper (Ledig et al. 2017, arXiv 1609.04802), which only reports the two
ends. ESRGAN (Wang et al. 2018, arXiv 1809.00219, §3.4 "Network Interpolation") blends the weights of a
PSNR-oriented network and of its GAN fine-tuned version, parameter by parameter:

    θ_G^INTERP = (1 − α) · θ_G^PSNR + α · θ_G^GAN,     α ∈ [0, 1]

α = 0 is SRResNet exactly, α = 1 is SRGAN exactly, and in between the output moves smoothly from the
blurry MSE average to the GAN's texture, without retraining. It only makes sense because SRGAN is
initialised from SRResNet (the paper's §3.2): the two weight sets are close enough that the straight
line between them stays in a region of good networks. Between unrelated networks of the same shape
(two random initialisations) the midpoint is usually garbage. The dial traces, on one image, the
perception–distortion trade-off of Blau & Michaeli (2018, arXiv 1711.06077): more realism costs PSNR.

Details that matter:

- BatchNorm running statistics (running_mean, running_var) are interpolated like the weights: they
  are part of the eval-mode network, y = γ·(x − μ)/σ + β.
- Integer buffers (`num_batches_tracked`) cannot be blended; they are taken from the nearer end
  (a for α < 0.5, b otherwise), so α = 0 and α = 1 reproduce each state dict exactly. They do not
  affect eval-mode outputs.
- We interpolate the raw weights and fold BN afterwards (`Upscaler`): folding divides by σ, which is
  not linear, so blending folded weights would be a different network.
- `interpolated_upscaler` caches the loaded endpoints (`load_pretrained`) and the last few Upscalers,
  so moving the slider never touches the disk: one α costs a blend of 1.5 M parameters, a deepcopy
  and a BN fold, a few milliseconds on a CPU.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from .cache import LRUCache
from .models import Generator


def check_same_architecture(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """Raise a clear ValueError unless two state dicts have the same keys, shapes and dtypes.

    Args:
        a: state dict of the first generator.
        b: state dict of the second generator.

    Raises:
        ValueError: names the first few keys or shapes that differ.
    """
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        raise ValueError(
            "cannot interpolate generators of different architectures: "
            f"keys only in the first {only_a[:3]}{'…' if len(only_a) > 3 else ''}, "
            f"only in the second {only_b[:3]}{'…' if len(only_b) > 3 else ''}"
        )
    wrong = [f"{k} {tuple(a[k].shape)} vs {tuple(b[k].shape)}" for k in a if a[k].shape != b[k].shape]
    wrong += [f"{k} {a[k].dtype} vs {b[k].dtype}" for k in a if a[k].shape == b[k].shape and a[k].dtype != b[k].dtype]
    if wrong:
        raise ValueError(
            "cannot interpolate generators of different architectures (same names, different tensors): "
            + "; ".join(wrong[:3])
            + ("…" if len(wrong) > 3 else "")
        )


def interpolate_state_dicts(
    a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """θ = (1 − α)·θ_a + α·θ_b for every floating-point tensor (weights, biases, PReLU slopes, BN stats).

    Args:
        a: state dict at α = 0 (e.g. SRResNet).
        b: state dict at α = 1 (e.g. SRGAN), same keys, shapes and dtypes.
        alpha: the blend, in [0, 1].

    Returns:
        A new state dict (fresh tensors, on a's device). Integer buffers such as `num_batches_tracked`
        come from the nearer end. At α = 0 it equals `a` and at α = 1 it equals `b`, bit for bit.

    Raises:
        ValueError: α outside [0, 1], or the two state dicts describe different architectures.
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    check_same_architecture(a, b)
    out = {}
    for name, ta in a.items():
        tb = b[name].to(ta.device)
        if ta.is_floating_point():
            # 1·x + 0·y == x exactly (for finite y), so both ends are reproduced bit for bit.
            out[name] = (1.0 - alpha) * ta + alpha * tb  # same shape as ta
        else:  # counters: no meaningful midpoint
            out[name] = (ta if alpha < 0.5 else tb).clone()
    return out


def interpolated_generator(a: Generator, b: Generator, alpha: float) -> Generator:
    """A new generator whose weights are (1 − α)·θ_a + α·θ_b (Wang et al. 2018, network interpolation).

    Args:
        a: the generator at α = 0 (e.g. SRResNet); not modified.
        b: the generator at α = 1 (e.g. SRGAN or a fine-tuned run); not modified.
        alpha: the blend, in [0, 1].

    Returns:
        A `Generator` in eval mode, frozen, with a's configuration.

    Raises:
        ValueError: α outside [0, 1], or a and b differ in scale, blocks or channels.
    """
    if a.config != b.config:
        raise ValueError(f"cannot interpolate generators of different architectures: {a.config} vs {b.config}")
    state = interpolate_state_dicts(a.state_dict(), b.state_dict(), alpha)
    # deepcopy instead of Generator(...): no random initialisation of 1.5 M weights that we overwrite anyway.
    blended = copy.deepcopy(a)
    blended.load_state_dict(state)
    return blended.eval().requires_grad_(False)


CACHE_SIZE = 12  # about 6 MB each; a classroom slider visits a handful of α values
_upscalers: LRUCache = LRUCache(CACHE_SIZE)


def checkpoint_key(name_or_path: str | Path) -> tuple[str, float]:
    """(absolute path, mtime) of a bundled name or checkpoint: a cache key that changes when the file does."""
    from .checkpoints import resolve

    path = resolve(name_or_path)
    return str(path.resolve()), path.stat().st_mtime


def interpolated_upscaler(model_a: str | Path, model_b: str | Path, alpha: float, *, device: str | None = None):
    """The (cached) `Upscaler` of the generator between two checkpoints at `alpha`.

    Args:
        model_a: bundled name ("srresnet") or checkpoint path for α = 0.
        model_b: bundled name ("srgan") or checkpoint path for α = 1.
        alpha: the blend, in [0, 1]; rounded to 3 decimals for the cache.
        device: as for `Upscaler` (None: automatic).

    Returns:
        An `srgan.engine.inference.Upscaler`. The ends reuse `upscaler_for`, the Compare tab's own cache.

    Raises:
        CheckpointError: a name or file that does not load.
        ValueError: α outside [0, 1], or generators of different architectures.
    """
    from .checkpoints import load_pretrained
    from .engine.inference import Upscaler, upscaler_for

    alpha = round(float(alpha), 3)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    key = (checkpoint_key(model_a), checkpoint_key(model_b), alpha, str(device))

    def create():
        a, b = load_pretrained(model_a), load_pretrained(model_b)  # cached per process: no disk access after the first
        if a.config != b.config:
            raise ValueError(f"cannot interpolate generators of different architectures: {a.config} vs {b.config}")
        if alpha in (0.0, 1.0):  # exactly one end: share the Compare tab's Upscaler
            return upscaler_for(str(model_a if alpha == 0.0 else model_b), device=device)
        return Upscaler(interpolated_generator(a, b, alpha), device=device)

    return _upscalers.get_or_create(key, create)
