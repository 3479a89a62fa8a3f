"""Checkpoints: weights-only files with metadata, and the one place that loads models.

A checkpoint is a safetensors file (tensors only, so loading it can never execute code) whose
header carries the metadata as JSON strings:

    kind     "generator" | "discriminator"
    config   the architecture (GeneratorConfig / DiscriminatorConfig)
    scale    the upscaling factor
    recipe   how it was trained (preset, steps, losses, data, ...)
    metrics  held-out figures, if measured
    sha256   a digest of every tensor (name, dtype, shape, bytes), checked on load
    dense_rank  (a discriminator, optional) its hidden dense layer is stored as two low-rank factors

The discriminator's hidden dense layer (Fig. 4: 512·6·6 -> 1024) holds 19 M of its 23.6 M parameters: 38 MB of
a 47 MB fp16 file. `save_checkpoint(..., dense_rank=r)` stores it as its best rank-r approximation, two factors
W ≈ u @ v (`low_rank_factors`), and `load_checkpoint` multiplies them back: the model that loads is the paper's
D with a full 1024 x 18432 matrix, only the stored numbers are compressed. The bundled D keeps rank 128 (14 MB);
its metadata records its held-out pair accuracy with the full and the factorised layer (assets/weights/README.md).

`.pth`/`.pt` files from other projects are read with `torch.load(weights_only=True)`, which refuses
any pickle that would build Python objects; we never unpickle a user's file.

`load_pretrained` is the single, cached entry point used by the CLI and the app.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .cache import LRUCache
from .config import DiscriminatorConfig, GeneratorConfig
from .models import Discriminator, Generator
from .resources import weights_dir

FORMAT = "srgan-studio/1"
ASSETS = weights_dir()  # assets/weights, in a checkout or an installed wheel (srgan/resources.py)
BUNDLED: dict[str, str] = {
    "srresnet": "srresnet_x4.safetensors",
    "srgan": "srgan_x4.safetensors",
    "srgan_discriminator": "srgan_x4_discriminator.safetensors",
}
# The discriminator (14 MB) stays out of the wheel, which carries the two 3 MB generators. Outside a checkout it
# is looked up like the VGG19: $SRGAN_DISCRIMINATOR, then the cache folder, then a message saying where to put it.
DISCRIMINATOR_ENV = "SRGAN_DISCRIMINATOR"


def cache_dir() -> Path:
    """SRGAN Studio's cache folder: `$XDG_CACHE_HOME/srgan-studio`, by default `~/.cache/srgan-studio`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "srgan-studio"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (the message says why, for the user)."""


DENSE_LAYER = "classifier.1.weight"  # the discriminator's hidden dense layer, (1024, 512 * 6 * 6)
_U, _V = "_u", "_v"  # stored as "classifier.1.weight_u" (1024, r) and "classifier.1.weight_v" (r, 18432)


def low_rank_factors(weight: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The best rank-`rank` approximation of a matrix (Eckart–Young: truncated SVD), as two factors.

    Each factor takes √σ of every singular value σ, so both have the same range (fp16 storage stays accurate).

    Args:
        weight: an (out, in) matrix.
        rank: how many singular values to keep, 1 to min(out, in).

    Returns:
        (u, v) of shapes (out, rank) and (rank, in), fp32, with u @ v ≈ weight; the Frobenius error is the
        root of the sum of the discarded σ².
    """
    if not 1 <= rank <= min(weight.shape):
        raise ValueError(f"rank must be 1 to {min(weight.shape)}, got {rank}")
    u, s, vh = torch.linalg.svd(weight.double(), full_matrices=False)  # (out, k), (k,), (k, in)
    root = s[:rank].sqrt()
    return (u[:, :rank] * root).float().contiguous(), (root[:, None] * vh[:rank]).float().contiguous()


def expand_low_rank(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every stored pair `name_u`, `name_v` by `name` = u @ v (fp32); other tensors pass through."""
    out = {k: v for k, v in state.items() if not (k.endswith(_U) or k.endswith(_V))}
    for key in state:
        if key.endswith(_U):
            name = key[: -len(_U)]
            if name + _V not in state:
                raise CheckpointError(f"the checkpoint has {key} without {name + _V}")
            out[name] = state[key].float() @ state[name + _V].float()  # (out, r) @ (r, in) -> (out, in)
    return out


def tensors_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class DiskFullError(OSError, ValueError):
    """The disk (or the user's quota) is full: nothing was written, the previous file is intact.

    Also a ValueError, so every place that shows a user's errors (the app's `user_errors`, the CLI's
    one line, a fine-tuning run's status) shows this message instead of a traceback.
    """


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def atomic_write(path: Path, write: Any) -> None:
    """Call `write(tmp_path)` then rename over `path`, so readers see the old or the new file, never half.

    Args:
        path: the file to (re)place.
        write: writes the whole content to the temporary path it is given.

    Raises:
        DiskFullError: no space left (the temporary file is removed; `path` is untouched).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in _DISK_FULL:
            raise disk_full_error(path) from None
        raise


def disk_full_error(path: Path) -> DiskFullError:
    """The error for a write to `path` that found the disk full (errno ENOSPC, a sentence for the user)."""
    error = DiskFullError(
        f"the server's disk is full: {Path(path).name} was not written (nothing was changed). "
        "Ask the teacher to free some space, then try again."
    )
    error.errno = errno.ENOSPC
    return error


def save_checkpoint(
    model: Generator | Discriminator,
    path: str | Path,
    *,
    recipe: dict | None = None,
    metrics: dict | None = None,
    half: bool = False,
    dense_rank: int | None = None,
) -> dict[str, str]:
    """Save a model's weights and metadata atomically as safetensors.

    Args:
        model: a `Generator` or a `Discriminator`.
        path: destination `.safetensors` file.
        recipe: how it was trained (JSON-serialisable).
        metrics: held-out figures (JSON-serialisable).
        half: store float tensors as fp16 (half the size; `load_checkpoint` restores fp32).
        dense_rank: a discriminator only: store its hidden dense layer as rank-`dense_rank` factors
            (`low_rank_factors`; 128 turns a 47 MB fp16 file into 14 MB).

    Returns:
        The metadata written.
    """
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if dense_rank is not None:
        if not isinstance(model, Discriminator):
            raise ValueError("dense_rank applies to a discriminator's dense layer only")
        state[DENSE_LAYER + _U], state[DENSE_LAYER + _V] = low_rank_factors(state.pop(DENSE_LAYER), dense_rank)
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    kind = "generator" if isinstance(model, Generator) else "discriminator"
    metadata = {
        "format": FORMAT,
        "kind": kind,
        "config": json.dumps(model.config.to_dict()),
        "scale": str(model.config.scale) if kind == "generator" else "",
        "recipe": json.dumps(recipe or {}),
        "metrics": json.dumps(metrics or {}),
        "sha256": tensors_digest(state),
    }
    if dense_rank is not None:
        metadata["dense_rank"] = str(dense_rank)
    atomic_write(Path(path), lambda tmp: save_file(state, tmp, metadata=metadata))
    return metadata


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The decoded metadata of a safetensors checkpoint (JSON fields parsed)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
    except Exception as e:
        raise CheckpointError(f"{Path(path).name} is not a readable safetensors file ({e})") from None
    meta: dict[str, Any] = dict(raw)
    for key in ("config", "recipe", "metrics"):
        if key in meta:
            try:
                meta[key] = json.loads(meta[key])
            except json.JSONDecodeError:
                raise CheckpointError(f"{Path(path).name}: metadata field {key!r} is not valid JSON") from None
    return meta


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint's tensors (as fp32) and metadata, verifying the digest.

    A low-rank stored layer (`dense_rank`) comes back whole, as u @ v. Accepts our safetensors files, and `.pth`/`.pt` state dicts read with `weights_only=True`.

    Raises:
        CheckpointError: missing, unreadable, tampered with, or a pickle that is not plain weights.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix in (".pth", ".pt", ".bin", ".ckpt"):
        state = _torch_load_weights_only(path)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{path.name} does not hold a state dict of tensors")
        return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, {}
    from safetensors.torch import load_file

    meta = read_metadata(path)
    try:
        state = load_file(str(path))
    except Exception as e:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({e})") from None
    if meta.get("sha256") and meta["sha256"] != tensors_digest(state):
        raise CheckpointError(f"{path.name}: the weights do not match their sha256 (file corrupted or edited)")
    return expand_low_rank({k: v.float() if v.is_floating_point() else v for k, v in state.items()}), meta


# torch's weights-only unpickler warns (UserWarning, two lines on stderr) about any pickle protocol but 2,
# before it refuses or accepts the file: noise next to our own one-line message. A filter on that message
# only, set once (warnings.catch_warnings around each load would change the process's filters under the
# app's other threads).
warnings.filterwarnings("ignore", message=r"Detected pickle protocol", category=UserWarning)
_BLOCKED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def _torch_load_weights_only(path: Path) -> Any:
    """`torch.load(path, weights_only=True)`, with torch's refusal turned into our own one-line message.

    torch's message tells the user that re-running with `weights_only=False` "will likely succeed": advice to
    turn the protection off for what may be a malicious file. It is not passed on; the line says the file is
    not a plain weights file, is refused for safety, and (when torch names it) what it would have imported.

    Raises:
        CheckpointError: a pickle that is not plain tensors, or a file that is not a torch file at all.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = _BLOCKED_GLOBAL.search(str(e))
        why = f"loading it would call {found.group(1)}" if found else "it holds more than tensors"
        raise CheckpointError(
            f"{path.name} was refused for safety: it is not a plain weights file ({why}); "
            "only files of tensors are loaded, never code"
        ) from None
    except Exception:  # noqa: BLE001 (a damaged file makes torch.load raise KeyError, EOFError, RuntimeError, ...)
        raise CheckpointError(f"{path.name} was refused: it is not a PyTorch weights file this app can read") from None


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{name} does not fit this architecture: missing {missing[:3]}{'…' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'…' if len(unexpected) > 3 else ''}"
        )
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items() if state[k].shape != v.shape]
    if wrong:
        raise CheckpointError(f"{name} has tensors of the wrong shape: {'; '.join(wrong[:3])}")
    model.load_state_dict(state)


def load_generator(path: str | Path) -> tuple[Generator, dict[str, Any]]:
    """Build the `Generator` a checkpoint describes and load it (eval mode)."""
    state, meta = load_checkpoint(path)
    if meta.get("kind", "generator") != "generator":
        raise CheckpointError(f"{Path(path).name} holds a {meta['kind']}, not a generator")
    config = GeneratorConfig(**meta["config"]) if meta.get("config") else _infer_generator_config(state)
    model = Generator.from_config(config)
    _load_into(model, state, Path(path).name)
    return model.eval(), meta


def load_discriminator(path: str | Path) -> tuple[Discriminator, dict[str, Any]]:
    """Build the `Discriminator` a checkpoint describes and load it (eval mode)."""
    state, meta = load_checkpoint(path)
    if meta.get("kind") != "discriminator":
        raise CheckpointError(f"{Path(path).name} does not hold a discriminator")
    model = Discriminator.from_config(DiscriminatorConfig(**meta["config"]))
    _load_into(model, state, Path(path).name)
    return model.eval(), meta


def _infer_generator_config(state: dict[str, torch.Tensor]) -> GeneratorConfig:
    """Read the architecture of a bare state dict from its keys (for `.pth` files)."""
    try:
        channels = state["head.0.weight"].shape[0]
        blocks = len({k.split(".")[1] for k in state if k.startswith("residual_blocks.")})
        ups = len({k.split(".")[1] for k in state if k.startswith("upsample.")})
    except KeyError:
        raise CheckpointError("this file is not an SRGAN Studio generator (no 'head.0.weight')") from None
    return GeneratorConfig(scale=2**ups, num_residual_blocks=blocks, channels=channels)


def resolve(name_or_path: str | Path) -> Path:
    """A bundled name ("srresnet", "srgan", "srgan_discriminator") or a path -> an existing file.

    "srgan_discriminator" is `$SRGAN_DISCRIMINATOR` when set, else the bundled file (a checkout), else the one in
    `cache_dir()` (an installed wheel, which does not carry it).
    """
    key = str(name_or_path)
    if key == "srgan_discriminator":
        return _resolve_discriminator()
    if key in BUNDLED:
        path = ASSETS / BUNDLED[key]
        if not path.is_file():
            raise CheckpointError(
                f"the bundled {key!r} weights are missing ({path}); train them with "
                f"`python -m srgan train --preset {key.split('_')[0]}` (see assets/weights/README.md)"
            )
        return path
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"no such model: {key!r} (bundled names: {', '.join(BUNDLED)}; or a checkpoint file)")
    return path


def _resolve_discriminator() -> Path:
    """The SRGAN discriminator's file: $SRGAN_DISCRIMINATOR, the bundled one, the cache's (see `resolve`)."""
    name = BUNDLED["srgan_discriminator"]
    explicit = os.environ.get(DISCRIMINATOR_ENV, "").strip()
    if explicit:  # a typo must not fall back silently to another file
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise CheckpointError(f"${DISCRIMINATOR_ENV} names no file: {path}")
        return path
    for path in (ASSETS / name, cache_dir() / name):
        if path.is_file():
            return path
    raise CheckpointError(
        f"the SRGAN discriminator (14 MB, {name}) is not installed: the package carries only the generators. "
        f"Set ${DISCRIMINATOR_ENV} to the file, or copy it into {cache_dir()} (it is in the repository's "
        "assets/weights/); the discriminator's feature maps, the −log D loss and fine-tuning from it need it"
    )


_models: LRUCache[tuple[nn.Module, dict]] = LRUCache(16)  # bundled models and a class's fine-tuned runs, ~6 MB each


def _cached(path: Path, loader: Any) -> tuple[nn.Module, dict]:
    """`loader(path)`, once per file version (the key has the mtime: a run's new checkpoint is a new entry)."""

    def load() -> tuple[nn.Module, dict]:
        model, meta = loader(path)
        if int(meta.get("recipe", {}).get("steps_done", 1)) < 1:
            raise CheckpointError(f"{path.name} holds untrained weights (0 steps); refusing to use them")
        return model.requires_grad_(False), meta

    return _models.get_or_create((str(path.resolve()), path.stat().st_mtime), load)


def load_pretrained(name_or_path: str | Path = "srgan") -> Generator:
    """The generator for a bundled name or a checkpoint path, in eval mode, cached per process.

    Args:
        name_or_path: "srresnet" (MSE-trained), "srgan", or a `.safetensors`/`.pth` file.

    Returns:
        A shared, frozen `Generator` in eval mode: do not modify it (copy.deepcopy it to fine-tune).

    Raises:
        CheckpointError: unknown name, missing or invalid file, untrained weights.
    """
    return _cached(resolve(name_or_path), load_generator)[0]


def load_pretrained_discriminator(name_or_path: str | Path = "srgan_discriminator") -> Discriminator:
    """The SRGAN discriminator (bundled, or a checkpoint), eval mode, cached per process."""
    return _cached(resolve(name_or_path), load_discriminator)[0]
