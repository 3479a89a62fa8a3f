"""The package as pip installs it: a wheel built from the sources, installed into a folder of its own, run from
another directory with the checkout's editable install out of the way.

The wheel is built from a copy of what it is made of (pyproject.toml, README.md, srgan/, ui/, assets/, lessons/;
the symbolic links srgan/assets and srgan/lessons kept as links), so that no build/ or *.egg-info lands in the
checkout. It is installed with `pip install --no-deps --target`: torch, Gradio and the rest come from this venv.
Each command runs with cwd in a temporary folder and PYTHONPATH=the target, which Python puts before the venv's
site-packages, where the editable install's finder is; every test checks that srgan (and ui) came from the target.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from srgan import checkpoints

ROOT = Path(__file__).resolve().parent.parent
WHEEL_SOURCES = ("pyproject.toml", "README.md", "srgan", "ui", "assets", "lessons")
GENERATORS = ("srgan/assets/weights/srgan_x4.safetensors", "srgan/assets/weights/srresnet_x4.safetensors")
DISCRIMINATOR = "srgan/assets/weights/srgan_x4_discriminator.safetensors"
WHEEL_MAX_MB = 12  # two 3 MB generators, the example photos, the model card's figures, the code


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """{"wheel": the built .whl, "target": where it is installed, "cwd": an empty folder outside the checkout}."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in WHEEL_SOURCES:
        path = ROOT / name
        if path.is_dir() and not path.is_symlink():
            shutil.copytree(path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", ".", "-w", str(base / "dist")], cwd=src)
    (wheel,) = (base / "dist").glob("srgan_studio-*.whl")
    target = base / "target"
    _run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], cwd=base)
    cwd = base / "elsewhere"
    cwd.mkdir()
    return {"wheel": wheel, "target": target, "cwd": cwd}


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
    )
    return result


def _env(target: Path, **extra: str) -> dict[str, str]:
    """The environment of a command using the installed wheel: PYTHONPATH=target only, offline, no user site."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SRGAN_DISCRIMINATOR")}
    return {**env, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1", "SRGAN_OFFLINE": "1", **extra}


def test_the_wheel_carries_the_generators_lessons_and_examples_but_not_the_discriminator(installed):
    wheel = installed["wheel"]
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(GENERATORS) <= names and DISCRIMINATOR not in names
    assert {"srgan/engine/kernels/winograd.c", "srgan/engine/inference.py", "srgan/classroom/runs.py"} <= names
    assert {"ui/app.py", "ui/launch.py", "srgan/assets/examples/coffee.png", "srgan/assets/weights/README.md"} <= names
    lessons = {n for n in names if n.startswith("srgan/lessons/") and n.endswith(".md")}
    assert {Path(n).parts[2] for n in lessons} == {"en", "es"} and len(lessons) >= 18
    assert not any(n.startswith(("tests/", "app.py", "hubconf.py")) for n in names)
    assert wheel.stat().st_size < WHEEL_MAX_MB * 2**20
    entry_points = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/entry_points.txt").decode()
    assert "srgan = srgan.cli:main" in entry_points and "srgan-studio = ui.app:main" in entry_points
    scripts = installed["target"] / "bin"
    assert (scripts / "srgan").is_file() and (scripts / "srgan-studio").is_file()


def test_the_installed_wheel_upscales_x4_with_srgan_from_another_directory(installed):
    target, cwd = installed["target"], installed["cwd"]
    Image.open(ROOT / "assets/examples/coffee.png").convert("RGB").crop((0, 0, 40, 32)).save(cwd / "photo.png")
    command = [sys.executable, "-m", "srgan", "upscale", "photo.png", "--model", "srgan", "--out-dir", "out"]
    result = _run(command, cwd=cwd, env=_env(target))
    assert "photo.png -> out/photo.png (40x32 -> 160x128)" in result.stdout
    assert Image.open(cwd / "out" / "photo.png").size == (160, 128)


CHECK = """
import json, srgan, ui
from srgan import checkpoints, resources
found = {"srgan": srgan.__file__, "ui": ui.__file__, "weights": str(resources.weights_dir()),
         "lessons": str(resources.lessons_dir()), "examples": str(resources.examples_dir())}
for name in ("srresnet", "srgan"):
    found[name] = str(checkpoints.resolve(name))
    srgan.load_pretrained(name)
try:
    checkpoints.resolve("srgan_discriminator")
except checkpoints.CheckpointError as e:
    found["discriminator_error"] = str(e)
print(json.dumps(found))
"""


def test_load_pretrained_works_from_the_installed_package_and_the_discriminator_is_asked_for(installed, tmp_path):
    target = installed["target"]
    env = _env(target, XDG_CACHE_HOME=str(tmp_path / "cache"))
    found = json.loads(_run([sys.executable, "-c", CHECK], cwd=installed["cwd"], env=env).stdout)
    error = found.pop("discriminator_error")
    assert all(Path(p).resolve().is_relative_to(target.resolve()) for p in found.values()), found
    assert not any(Path(p).resolve().is_relative_to(ROOT) for p in found.values()), found
    assert "SRGAN_DISCRIMINATOR" in error and str(tmp_path / "cache" / "srgan-studio") in error


def test_the_app_starts_from_the_installed_package(installed, tmp_path):
    from ui.launch import app_subprocess

    target, cwd = installed["target"], installed["cwd"]
    command = [sys.executable, "-m", "srgan", "app"]
    log = tmp_path / "app.log"
    server = app_subprocess(runs_dir=tmp_path / "runs", log_path=log, env=_env(target), command=command, cwd=cwd)
    with server as (url, _), urllib.request.urlopen(f"{url}config", timeout=30) as response:
        config = response.read().decode()
    assert str(ROOT) not in log.read_text()
    assert "PixelShuffle" in config and "Lessons" in config  # its tabs, lessons included
    assert "coffee.png" in config  # an example photo, from the package (Gradio serves a copy from its cache)
    assert str(ROOT) not in config  # nothing of the checkout
    help_text = _run([sys.executable, str(target / "bin" / "srgan-studio"), "--help"], cwd=cwd, env=_env(target))
    assert "SRGAN Studio, the teaching app" in help_text.stdout and "GRADIO_SERVER_PORT" in help_text.stdout


class TestTheDiscriminatorIsLookedUpLikeTheVGG19:
    """`resolve("srgan_discriminator")`: $SRGAN_DISCRIMINATOR, the bundled file, the cache folder, a message."""

    @pytest.fixture
    def no_bundled(self, tmp_path, monkeypatch) -> Path:
        monkeypatch.setattr(checkpoints, "ASSETS", tmp_path / "weights")  # an installed wheel: no discriminator
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        monkeypatch.delenv("SRGAN_DISCRIMINATOR", raising=False)
        return ROOT / "assets/weights/srgan_x4_discriminator.safetensors"

    def test_missing_everywhere_is_a_message_saying_where_to_put_it(self, no_bundled, tmp_path):
        with pytest.raises(checkpoints.CheckpointError, match="not installed") as e:
            checkpoints.resolve("srgan_discriminator")
        assert "SRGAN_DISCRIMINATOR" in str(e.value) and str(tmp_path / "cache" / "srgan-studio") in str(e.value)

    def test_the_cache_folder_is_found(self, no_bundled, tmp_path):
        cached = tmp_path / "cache" / "srgan-studio" / no_bundled.name
        cached.parent.mkdir(parents=True)
        cached.symlink_to(no_bundled)
        assert checkpoints.resolve("srgan_discriminator") == cached

    def test_the_variable_wins_and_a_wrong_one_is_an_error(self, no_bundled, monkeypatch):
        monkeypatch.setenv("SRGAN_DISCRIMINATOR", str(no_bundled))
        assert checkpoints.resolve("srgan_discriminator") == no_bundled
        monkeypatch.setenv("SRGAN_DISCRIMINATOR", str(no_bundled.with_name("typo.safetensors")))
        with pytest.raises(checkpoints.CheckpointError, match="SRGAN_DISCRIMINATOR names no file"):
            checkpoints.resolve("srgan_discriminator")

    def test_a_checkout_uses_the_bundled_file(self, monkeypatch):
        monkeypatch.delenv("SRGAN_DISCRIMINATOR", raising=False)
        assert (
            checkpoints.resolve("srgan_discriminator")
            == checkpoints.ASSETS / checkpoints.BUNDLED["srgan_discriminator"]
        )
