"""Where the bundled files live: the weights and example photos (`assets/`) and the lessons (`lessons/`).

In the repository they are top-level folders, where a student finds them. `srgan/assets` and `srgan/lessons` are
symbolic links to them, so that a wheel carries them as package data of `srgan` and `importlib.resources` finds
them the same way in a checkout, an editable install or a wheel installed anywhere. Nothing here depends on the
current directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, when running from a checkout


def resource_dir(name: str) -> Path:
    """A bundled folder, `"assets"` or `"lessons"`.

    Args:
        name: the folder's name.

    Returns:
        Its path: the package's copy (a wheel, or the symbolic link in a checkout), else the checkout's folder
        (a checkout where the link was not kept, e.g. on a file system without symbolic links).
    """
    packaged = resources.files("srgan") / name
    if packaged.is_dir():
        return Path(str(packaged))
    return _CHECKOUT / name


def weights_dir() -> Path:
    """`assets/weights`: the bundled generators and discriminator, and their model card."""
    return resource_dir("assets") / "weights"


def examples_dir() -> Path:
    """`assets/examples`: the held-out example photos the app offers."""
    return resource_dir("assets") / "examples"


def lessons_dir() -> Path:
    """`lessons/`: the lessons, one folder per language."""
    return resource_dir("lessons")
