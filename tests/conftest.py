"""Shared fixtures: small models and images, so the suite runs in minutes on 2 CPU cores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

os.environ.setdefault("SRGAN_OFFLINE", "1")  # tests never touch the network
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_generator():
    from srgan.models import Generator

    torch.manual_seed(0)
    return Generator(scale=4, num_residual_blocks=2, channels=16).eval()


@pytest.fixture
def tiny_checkpoint(tmp_path: Path, tiny_generator) -> Path:
    from srgan.checkpoints import save_checkpoint

    path = tmp_path / "tiny.safetensors"
    save_checkpoint(tiny_generator, path, recipe={"preset": "test", "steps_done": 1})
    return path


@pytest.fixture
def photo() -> Image.Image:
    """A 96x96 crop of a real photo (scikit-image's astronaut)."""
    from srgan.data import builtin_image_paths, load_rgb

    return load_rgb(builtin_image_paths()["astronaut"]).crop((160, 40, 256, 136))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
