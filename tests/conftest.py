"""Shared fixtures: small models and images, so the suite runs in minutes on 2 CPU cores."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

os.environ.setdefault("SRGAN_OFFLINE", "1")  # tests never touch the network
torch.set_num_threads(min(2, torch.get_num_threads()))


def trained_like_generator(*, scale: int = 4, channels: int = 16, blocks: int = 2):
    """A small eval-mode generator with non-trivial BN statistics and PReLU slopes, as after training."""
    from srgan.models import Generator

    torch.manual_seed(scale * 100 + channels)
    g = Generator(scale=scale, num_residual_blocks=blocks, channels=channels).eval()
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, torch.nn.PReLU):
                m.weight.uniform_(-0.5, 0.5)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return g


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


ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def start_app(tmp_path_factory, *flags: str, env: dict | None = None):
    """`python app.py *flags` started as a user would, on a free port; yields (URL, process), stops it afterwards.

    The process's output is in `process.log`.
    """
    from ui.launch import app_subprocess

    log = tmp_path_factory.mktemp("app") / "app.log"
    with app_subprocess(*flags, runs_dir=tmp_path_factory.mktemp("runs"), log_path=log, env=env) as (url, proc):
        proc.log = log
        yield url, proc


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """`python app.py` with its default flags; yields (URL, process)."""
    with start_app(tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server):
    """The URL of `app_server`."""
    return app_server[0]


LIMITED_AUTH = ("teacher", "s3cret-pw")


@pytest.fixture(scope="session")
def limited_app(tmp_path_factory):
    """`python app.py` as a public deployment: a password (from $SRGAN_AUTH), no training, small limits.

    Yields (URL, (user, password), process); the process's output is in `process.log`.
    """
    flags = ("--no-train", "--max-upload-mb", "0.05", "--max-input-pixels", "4096")
    with start_app(tmp_path_factory, *flags, env={"SRGAN_AUTH": ":".join(LIMITED_AUTH)}) as (url, proc):
        yield url, LIMITED_AUTH, proc
