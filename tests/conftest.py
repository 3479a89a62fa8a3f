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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_app(tmp_path_factory, *flags: str, env: dict | None = None):
    """`python app.py *flags` started as a user would, on a free port; yields (URL, process), stops it afterwards."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "SRGAN_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "SRGAN_RUNS_DIR": str(tmp_path_factory.mktemp("runs")), **(env or {})}  # runs stay out of the repo
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *flags], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    proc.log = log
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
