"""Which device to run on: CUDA when present, then Apple's MPS, then the CPU."""

from __future__ import annotations

import os

import torch


def pick_device(preferred: str | None = None) -> torch.device:
    """The best available device, or `preferred` (also `$SRGAN_DEVICE`) when given.

    Args:
        preferred: "cuda", "mps", "cpu" or None for automatic (cuda > mps > cpu).

    Raises:
        ValueError: a preferred device that this machine does not have.
    """
    preferred = preferred or os.environ.get("SRGAN_DEVICE") or None
    if preferred:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA GPU is available")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("MPS was requested but is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
