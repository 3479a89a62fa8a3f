"""Fine-tuning runs for the app: one training at a time, in a background thread, watched live.

The loop is `srgan.training.train`, the very code behind `python -m srgan train`; this module only
decides what goes into it (base model, data, objective) and keeps a live, thread-safe view of it
for any number of watchers (`RunManager.status()`), so a browser refresh or a second user can
reattach to the run in progress.

Runs folder (default <repo>/runs/finetune, or $SRGAN_RUNS_DIR), one folder per run, newest
`KEEP_RUNS` kept:

    <YYYYmmdd-HHMMSS>_<name>/
        run.json                     what was asked, the state, the last metrics (the app's index)
        generator.safetensors        the fine-tuned generator, saved every `checkpoint_every` steps
        discriminator.safetensors    the discriminator (SRGAN objective)
        log.jsonl                    one line per step (written by train())

A server killed mid-run loses at most the steps since the last checkpoint: the run is listed as
"interrupted" and its last generator can be used, or fine-tuned further. Bundled weights are only
ever read.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import shutil
import threading
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from PIL import Image

from ..checkpoints import (
    CheckpointError,
    atomic_write,
    load_discriminator,
    load_generator,
    read_metadata,
    save_checkpoint,
)
from ..checkpoints import resolve as resolve_checkpoint
from ..config import DiscriminatorConfig, GeneratorConfig, TrainConfig
from ..data import IMAGE_SUFFIXES, bicubic_downsample, builtin_image_paths, centre_crop, load_rgb, load_training_images
from ..images import ImageError, open_image, to_rgb8
from ..training import TrainingError, train

log = logging.getLogger(__name__)

RUNS_ENV = "SRGAN_RUNS_DIR"
KEEP_RUNS = 10  # older run folders are deleted when a new run starts
RUN_MAX_AGE_S = 7 * 24 * 3600  # and, on the clean-up schedule, runs older than a week (a course's week)
CLEANUP_EVERY_S = 3600
STALE_TEMP_S = 3600  # a temporary file this old belongs to no write in progress
MAX_STEPS = 5000  # a fine-tune, not a training from scratch: minutes on a GPU, an hour or so on a CPU
MAX_BATCH_SIZE = 64
PATCH_RANGE = (16, 256)  # HR patch side; the discriminator's adaptive pooling takes any size >= 16
# Small on the CPU (a step takes ~1 s, so a killed server loses seconds); larger on a GPU, where
# steps are fast and writing the ~300 MB SRGAN training state every few steps would dominate.
CHECKPOINT_EVERY = {"cpu": 10, "gpu": 100}
BUNDLED_BASES = ("srresnet", "srgan")
RUN_NAME_MAX = 40
_NAME_OK = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # what a run folder may be called: no dots, no slashes

# The objectives of the paper (§2.2) a fine-tune can use.
OBJECTIVES: dict[str, str] = {
    "mse": "MSE content loss (Eq. 4)",
    "vgg54": "VGG54 content loss (Eq. 5)",
    "srgan": "content + 1e-3 adversarial (Eq. 3), SRGAN",
}

# The held-out preview: a 128x128 crop of 'chelsea' (her left eye and fur), 32x32 once downsampled.
PREVIEW_IMAGE = "chelsea"
PREVIEW_BOX = (112, 40, 240, 168)

# Uploads: everything is read into memory (never extracted to disk), within these limits.
MAX_IMAGES = 100
MAX_ZIP_MEMBERS = 500
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_ZIP_BYTES = 256 * 1024 * 1024  # uncompressed, all members together
MAX_TOTAL_PIXELS = 100_000_000  # the dataset keeps every image in memory (~3 bytes per pixel, twice)


class RunBusyError(RuntimeError):
    """A run is already in progress on this server (the message names it)."""


def runs_dir() -> Path:
    """The runs folder, read at each call: $SRGAN_RUNS_DIR, else `runs/finetune` in a checkout, else the user's
    data folder ($XDG_DATA_HOME or ~/.local/share, then `srgan-studio/runs`) for an installed package."""
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV]).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "runs" / "finetune"
    return Path(os.environ.get("XDG_DATA_HOME") or "~/.local/share").expanduser() / "srgan-studio" / "runs"


def sanitise_run_name(name: str) -> str:
    """A user's run name reduced to [A-Za-z0-9_-], at most `RUN_NAME_MAX` characters ("" if nothing is left).

    Args:
        name: whatever the user typed ("../../etc", "mi modelo ñ", ...).

    Returns:
        The safe part: other characters become "-", runs of them collapse, ends are trimmed.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(name or ""))
    return re.sub(r"-{2,}", "-", cleaned).strip("-_")[:RUN_NAME_MAX].strip("-_")


def make_run_name(name: str, *, default: str = "run", now: datetime | None = None) -> str:
    """"<timestamp>_<sanitised name>": sorts by time, and can never leave the runs folder."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}_{sanitise_run_name(name) or sanitise_run_name(default) or 'run'}"


def run_checkpoint(name: str, *, root: Path | None = None) -> Path:
    """The generator checkpoint of a fine-tuning run, for the other tabs to load.

    Args:
        name: a run name as listed by `list_runs()`.
        root: the runs folder (default `runs_dir()`).

    Returns:
        The path of its `generator.safetensors`.

    Raises:
        CheckpointError: not a valid run name, or a run without a checkpoint.
    """
    if not _NAME_OK.match(str(name)):
        raise CheckpointError(f"{name!r} is not a run name")
    path = (root or runs_dir()) / name / "generator.safetensors"
    if not path.is_file():
        raise CheckpointError(f"the run {name!r} has no checkpoint (it failed before its first save, or was deleted)")
    return path


def list_runs() -> list[RunInfo]:
    """The runs with a checkpoint, newest first (shortcut for `get_manager().list_runs()`)."""
    return get_manager().list_runs()


# ----------------------------------------------------------------------------------------------
# Data


@dataclass
class TrainingData:
    """HR training images and where they came from."""

    images: list[Image.Image]  # RGB
    names: list[str]
    label: str  # recorded in the checkpoint: "builtin" or "upload: 3 images"
    notes: list[str] = field(default_factory=list)  # what was skipped, and why


@functools.lru_cache(maxsize=1)
def builtin_data() -> TrainingData:
    """The built-in training photos (the held-out ones stay out); loaded once per process, never modified."""
    images, names = load_training_images("builtin")
    return TrainingData(images, names, "builtin")


def uploaded_data(paths: list[str | Path] | None) -> TrainingData:
    """Images uploaded by a user: image files and zip files of images.

    A zip is read member by member in memory (nothing is written to disk, so a "../" name can do
    no harm; it is skipped all the same). Members that are not images, hidden, unsafe, encrypted or
    too large are skipped with a note; an image file uploaded directly that cannot be read is an error.

    Raises:
        ValueError: nothing usable, too many images or pixels (the message says which and why).
        ImageError: an uploaded image file that cannot be read.
    """
    paths = [Path(p) for p in (paths or []) if p]
    if not paths:
        raise ValueError("no images: upload a few photos (or a zip of them), or choose the built-in images")
    images: list[Image.Image] = []
    names: list[str] = []
    notes: list[str] = []
    for path in paths:
        if path.suffix.lower() == ".zip":
            _read_zip(path, images, names, notes)
        else:
            images.append(to_rgb8(open_image(path)))
            names.append(path.name)
        if len(images) > MAX_IMAGES:
            raise ValueError(f"more than {MAX_IMAGES} images: a fine-tune needs a few, use fewer")
    if not images:
        raise ValueError("no usable images in the upload" + (": " + "; ".join(notes) if notes else ""))
    pixels = sum(im.width * im.height for im in images)
    if pixels > MAX_TOTAL_PIXELS:
        raise ValueError(f"the images hold {pixels / 1e6:.0f} megapixels in all, more than "
                         f"{MAX_TOTAL_PIXELS / 1e6:.0f}; use fewer or smaller images")  # fmt: skip
    return TrainingData(images, names, f"upload: {len(images)} image{'s' * (len(images) != 1)}", notes)


def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is skipped (None: read it). Hidden files and folders are skipped silently ("")."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
        return "unsafe path"
    if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return ""
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
        return "not an image"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"larger than {MAX_MEMBER_BYTES // 2**20} MB"
    return None


def _read_zip(path: Path, images: list, names: list, notes: list) -> None:
    """Append the images of a zip to `images`/`names`, and a note for every member skipped."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path.name} is not a readable zip file ({e})") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ValueError(f"{path.name} holds {len(members)} files, more than {MAX_ZIP_MEMBERS}")
        budget = MAX_ZIP_BYTES
        for info in members:
            problem = _zip_member_problem(info)
            if problem is None and info.file_size > budget:
                problem = f"over the {MAX_ZIP_BYTES // 2**20} MB limit for a whole zip"
            if problem is not None:
                if problem:
                    notes.append(f"{info.filename} skipped ({problem})")
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(MAX_MEMBER_BYTES + 1)  # never trust the declared size alone
                if len(data) > MAX_MEMBER_BYTES:
                    raise ImageError(f"larger than {MAX_MEMBER_BYTES // 2**20} MB")
                budget -= len(data)
                images.append(to_rgb8(open_image(data)))
                names.append(PurePosixPath(info.filename).name)
            except (ImageError, zipfile.BadZipFile, OSError, RuntimeError, ValueError) as e:
                notes.append(f"{info.filename} skipped ({str(e).replace('the upload', 'it')})")


# ----------------------------------------------------------------------------------------------
# The held-out preview


def preview_pair(scale: int = 4) -> tuple[Image.Image, Image.Image]:
    """(LR, HR): the held-out 'chelsea' crop, 128x128 HR and its bicubic downsample (32x32 at x4)."""
    paths = builtin_image_paths(split="heldout")
    if PREVIEW_IMAGE in paths:
        hr = load_rgb(paths[PREVIEW_IMAGE]).crop(PREVIEW_BOX)
    elif paths:  # another held-out photo, centre crop
        hr = centre_crop(load_rgb(next(iter(paths.values()))), 128, square=True, multiple=scale)
    else:
        raise ValueError("no held-out built-in image for the preview: install scikit-image or matplotlib")
    return bicubic_downsample(hr, scale), hr


@torch.no_grad()
def upscale_preview(generator: Any, lr_image: Image.Image) -> Image.Image:
    """The generator's x`scale` of a small LR image, on the CPU (the preview is tiny)."""
    from ..data import pil_to_tensor, tensor_to_pil

    generator = generator.cpu().eval()
    return tensor_to_pil(generator(pil_to_tensor(lr_image)[None])[0], value_range=(-1, 1))


# ----------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class RunStatus:
    """A snapshot of the current (or last) run, safe to read from any thread."""

    name: str | None = None
    state: str = "idle"  # idle | running | stopping | done | stopped | failed
    step: int = 0
    total: int = 0
    steps_per_second: float | None = None  # measured over the last steps
    eta_seconds: float | None = None
    log: list[dict] = field(default_factory=list)  # log.jsonl's entries so far
    eval_psnr_y: float | None = None  # last PSNR-Y on the held-out preview
    base_psnr_y: float | None = None  # the base model's, before fine-tuning
    error: str = ""
    checkpoint: Path | None = None  # the last saved generator
    preview_lr: Image.Image | None = None
    preview_hr: Image.Image | None = None
    preview_before: Image.Image | None = None  # the base model's result on the preview
    preview_now: Image.Image | None = None  # the last checkpoint's
    preview_step: int = 0
    notes: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)  # run.json: base, data, objective, steps, ...
    device: str = ""
    elapsed_seconds: float = 0.0

    @property
    def active(self) -> bool:
        return self.state in ("running", "stopping")


@dataclass(frozen=True)
class RunInfo:
    """A run on disk with a usable checkpoint."""

    name: str
    path: Path  # its generator.safetensors
    metadata: dict  # run.json (state "interrupted" when the server died during it)


class RunManager:
    """Starts fine-tuning runs one at a time and reports on them; all methods are thread-safe.

    Args:
        root: the runs folder (default: `runs_dir()`, read at each call).
        keep: how many run folders to keep (the oldest are deleted when a run starts).
    """

    def __init__(self, root: str | Path | None = None, *, keep: int = KEEP_RUNS) -> None:
        self._root = Path(root) if root is not None else None
        self.keep = keep
        self._lock = threading.Lock()
        self._status = RunStatus()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def root(self) -> Path:
        return self._root if self._root is not None else runs_dir()

    # -- queries -----------------------------------------------------------------------------

    def status(self) -> RunStatus:
        """A snapshot of the current or last run (state "idle" before the first)."""
        with self._lock:
            s = self._status
            elapsed = time.time() - s.settings["created"] if s.active else s.elapsed_seconds
            return replace(s, log=list(s.log), elapsed_seconds=elapsed)  # the list grows: hand out a copy

    def active_run(self) -> str | None:
        """The name of the run in progress, or None."""
        with self._lock:
            return self._status.name if self._status.active else None

    def list_runs(self) -> list[RunInfo]:
        """Runs that have a checkpoint, newest first."""
        active = self.active_run()
        runs = []
        for folder, meta in self._run_folders():
            path = folder / "generator.safetensors"
            if not path.is_file():
                continue
            if meta.get("state") in ("running", "stopping") and folder.name != active:
                meta["state"] = "interrupted"  # the server stopped during it
            runs.append(RunInfo(folder.name, path, meta))
        return runs[::-1]

    def checkpoint(self, name: str) -> Path:
        """The generator checkpoint of run `name` (see `run_checkpoint`)."""
        return run_checkpoint(name, root=self.root)

    def _run_folders(self) -> list[tuple[Path, dict]]:
        """(folder, run.json) of every run, oldest first; folders without a valid run.json are not ours."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if folder.is_dir() and _NAME_OK.match(folder.name) and (folder / "run.json").is_file():
                try:
                    meta = json.loads((folder / "run.json").read_text())
                except (OSError, json.JSONDecodeError):
                    continue
                found.append((folder, meta))
        return sorted(found, key=lambda fm: (fm[1].get("created", 0), fm[0].name))

    # -- control -----------------------------------------------------------------------------

    def start(
        self,
        *,
        base: str | Path = "srresnet",
        data: TrainingData | None = None,
        objective: str = "mse",
        steps: int = 50,
        learning_rate: float = 1e-4,
        batch_size: int = 4,
        hr_patch: int = 96,
        seed: int = 0,
        name: str = "",
        discriminator: str | Path | None = "srgan_discriminator",
        checkpoint_every: int | None = None,
        device: str | None = None,
    ) -> str:
        """Validate the request and start training in a background thread.

        Args:
            base: "srresnet" or "srgan" (bundled), the name of an earlier run, or (from Python only)
                a checkpoint path. The fine-tuned generator has the base's architecture.
            data: the training images (default: the built-in ones).
            objective: "mse", "vgg54" or "srgan" (see `OBJECTIVES`).
            steps, learning_rate, batch_size, hr_patch, seed: the training settings.
            name: the user's name for the run (sanitised; a timestamp is prepended).
            discriminator: where the SRGAN objective's discriminator starts (a run based on an SRGAN
                run continues with that run's discriminator); None starts it fresh.
            checkpoint_every: steps between checkpoints (default: `CHECKPOINT_EVERY` for the device).
            device: "cuda", "cpu", ... (default: `pick_device()`).

        Returns:
            The run's name (its folder under the runs folder).

        Raises:
            RunBusyError: a run is in progress (the message names it).
            ValueError: bad settings or data (CheckpointError and ImageError are ValueErrors too).
        """
        self._raise_if_busy()
        steps, batch_size, hr_patch, seed = _as_int(steps, "steps"), _as_int(batch_size, "batch size"), \
            _as_int(hr_patch, "patch size"), _as_int(seed, "seed")  # fmt: skip
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
        try:
            learning_rate = float(learning_rate)
        except (TypeError, ValueError):
            raise ValueError(f"the learning rate must be a number, got {learning_rate!r}") from None
        if not (math.isfinite(learning_rate) and 0 < learning_rate < 1):
            raise ValueError(f"the learning rate must be between 0 and 1 (1e-4 is the paper's), got {learning_rate:g}")
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"the batch size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
        if not 0 <= seed < 2**31:
            raise ValueError(f"the seed must be between 0 and {2**31 - 1}, got {seed}")
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        base_label, base_path = self._resolve_base(base)
        generator_config = GeneratorConfig(**read_metadata(base_path).get("config") or {})
        scale = generator_config.scale
        if not (PATCH_RANGE[0] <= hr_patch <= PATCH_RANGE[1] and hr_patch % scale == 0):
            raise ValueError(f"the patch size must be a multiple of {scale} between {PATCH_RANGE[0]} and "
                             f"{PATCH_RANGE[1]} pixels, got {hr_patch}")  # fmt: skip
        data = data if data is not None else builtin_data()
        for image, image_name in zip(data.images, data.names, strict=True):
            if min(image.size) < hr_patch:
                raise ImageError(f"{image_name} is {image.width}x{image.height}, smaller than the {hr_patch}px "
                                 "patch: choose a smaller patch size or a larger image")  # fmt: skip

        from ..device import pick_device

        device = str(pick_device(device))
        checkpoint_every = checkpoint_every or CHECKPOINT_EVERY["cpu" if device == "cpu" else "gpu"]
        notes = list(data.notes)
        content_loss, note = _content_loss_for(objective)
        notes += [note] if note else []
        preset = TrainConfig.preset_srgan if objective == "srgan" else TrainConfig.preset_srresnet
        config = preset(steps=steps, batch_size=batch_size, hr_patch=hr_patch, learning_rate=learning_rate, seed=seed,
                        checkpoint_every=checkpoint_every, eval_every=checkpoint_every, init_from=str(base_path),
                        generator=generator_config, content_loss=content_loss)  # fmt: skip
        discriminator_path, note = self._discriminator_for(objective, base, discriminator)
        notes += [note] if note else []
        if discriminator_path is not None:
            d_config = DiscriminatorConfig(**read_metadata(discriminator_path).get("config") or {})
            config = replace(config, discriminator=d_config)
        lr_image, hr_image = preview_pair(scale)

        with self._lock:  # check again: another request may have started while the data loaded
            if self._status.active:
                raise RunBusyError(self._busy_message(self._status))
            self.root.mkdir(parents=True, exist_ok=True)
            short_base = re.sub(r"^\d{8}-\d{6}_", "", base_label)  # a run's name without its timestamp
            run_name = self._unique_name(make_run_name(name, default=f"{short_base}-{objective}"))
            out_dir = self.root / run_name
            out_dir.mkdir()
            settings = {
                "name": run_name, "base": base_label, "base_path": str(base_path), "data": data.label,
                "data_names": data.names, "objective": objective, "objective_label": OBJECTIVES[objective],
                "content_loss": content_loss, "steps": steps, "learning_rate": learning_rate,
                "batch_size": batch_size, "hr_patch": hr_patch, "seed": seed,
                "checkpoint_every": checkpoint_every, "device": device,
                "discriminator_init": str(discriminator_path) if discriminator_path else None,
                "created": time.time(), "state": "running", "steps_done": 0, "notes": notes,
            }  # fmt: skip
            _write_json(out_dir / "run.json", settings)
            self._stop = threading.Event()
            self._status = RunStatus(name=run_name, state="running", total=steps, notes=tuple(notes),
                                     settings=settings, device=device, preview_lr=lr_image,
                                     preview_hr=hr_image)  # fmt: skip
            job = _Job(self, out_dir, config, data, base_path, discriminator_path, (lr_image, hr_image), device,
                       self._stop)  # fmt: skip
            self._thread = threading.Thread(target=job.run, name=f"finetune-{run_name}", daemon=True)
            self._thread.start()
        self._prune(keep_also={run_name, base_label})  # the new run and its base are never deleted
        return run_name

    def stop(self) -> bool:
        """Ask the run in progress to stop: train() saves a checkpoint at the end of the current step.

        Returns:
            True if a run was asked to stop, False if none was running.
        """
        with self._lock:
            if self._status.state != "running":
                return False
            self._stop.set()
            self._status = replace(self._status, state="stopping")
            return True

    def wait(self, timeout: float | None = None) -> RunStatus:
        """Wait for the run's thread to end (tests, scripts); returns the final status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    # -- helpers -----------------------------------------------------------------------------

    def _raise_if_busy(self) -> None:
        with self._lock:
            if self._status.active:
                raise RunBusyError(self._busy_message(self._status))

    @staticmethod
    def _busy_message(s: RunStatus) -> str:
        return (f"a fine-tuning run is already in progress on this server: {s.name} (step {s.step} of {s.total}, "
                f"{s.settings.get('objective_label', '')}). One run at a time: watch it, or start yours when it "
                "ends.")  # fmt: skip

    def _resolve_base(self, base: str | Path) -> tuple[str, Path]:
        """("srresnet" | run name | file name, checkpoint path). Strings are names, never paths."""
        if isinstance(base, Path):
            return sanitise_run_name(base.stem) or "checkpoint", resolve_checkpoint(base)
        base = str(base)
        if base in BUNDLED_BASES:
            return base, resolve_checkpoint(base)
        if _NAME_OK.match(base) and (self.root / base / "generator.safetensors").is_file():
            return base, self.checkpoint(base)
        raise CheckpointError(f"unknown base model {base!r}: choose {', '.join(BUNDLED_BASES)} or an earlier run")

    def _discriminator_for(self, objective: str, base: str | Path, choice: str | Path | None
                           ) -> tuple[Path | None, str]:  # fmt: skip
        """Where the SRGAN objective's discriminator starts, and a sentence for the user."""
        if objective != "srgan":
            return None, ""
        if isinstance(base, str) and base not in BUNDLED_BASES:
            own = self.root / base / "discriminator.safetensors"
            if own.is_file():
                return own, f"the discriminator continues from run {base}'s"
        if choice is None:
            return None, "the discriminator starts from scratch (random weights)"
        try:
            path = resolve_checkpoint(choice)
            load_discriminator(path)  # fails now, with a message, rather than in the thread
        except CheckpointError as e:
            return None, f"the discriminator starts from scratch: {e}"
        label = "the bundled SRGAN discriminator" if str(choice) == "srgan_discriminator" else Path(path).name
        return path, f"the discriminator starts from {label}"

    def _unique_name(self, name: str) -> str:
        candidate, k = name, 2
        while (self.root / candidate).exists():
            candidate, k = f"{name}-{k}", k + 1
        return candidate

    def _prune(self, *, keep_also: set[str]) -> None:
        """Delete the oldest run folders beyond `keep` (never `keep_also` nor the active run; only our folders)."""
        folders = [f for f, _ in self._run_folders()]  # oldest first
        excess = len(folders) - self.keep
        protected = keep_also | {self.active_run()}
        for folder in folders:
            if excess <= 0:
                break
            if folder.name not in protected:
                shutil.rmtree(folder, ignore_errors=True)
                excess -= 1

    def cleanup(self, *, max_age_s: float | None = RUN_MAX_AGE_S, now: float | None = None) -> list[str]:
        """The scheduled clean-up: old runs, runs beyond `keep`, and temporary files a killed server left.

        The run in progress and its base are never touched, nor any folder that is not a run.

        Args:
            max_age_s: delete finished runs created longer ago than this (None: keep them, only `keep` counts).
            now: the current time (tests).

        Returns:
            The names of the run folders deleted.
        """
        now = time.time() if now is None else now
        status = self.status()
        protected = {status.name, status.settings.get("base")} if status.active else set()
        deleted = []
        for folder, meta in self._run_folders():
            too_old = max_age_s is not None and now - float(meta.get("created", now)) > max_age_s
            if too_old and folder.name not in protected:
                shutil.rmtree(folder, ignore_errors=True)
                deleted.append(folder.name)
        before = {f.name for f, _ in self._run_folders()}
        self._prune(keep_also={n for n in protected if n})
        deleted += sorted(before - {f.name for f, _ in self._run_folders()})
        self._remove_stale_temp_files(now)
        return deleted

    def _remove_stale_temp_files(self, now: float) -> None:
        """atomic_write's ".<name>.*.tmp" files older than an hour: a server killed mid-write leaves them."""
        if not self.root.is_dir():
            return
        for tmp in self.root.glob("*/.*.tmp"):
            try:
                if now - tmp.stat().st_mtime > STALE_TEMP_S:
                    tmp.unlink()
            except OSError:
                pass  # another process removed it, or it is not ours to remove

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)


def schedule_cleanup(every_s: float = CLEANUP_EVERY_S, *, max_age_s: float | None = RUN_MAX_AGE_S,
                     also: Any = None) -> threading.Event:  # fmt: skip
    """Run `get_manager().cleanup()` (and `also()`, if given) every `every_s` seconds in a daemon thread.

    Args:
        every_s: seconds between clean-ups (the first one runs at once).
        max_age_s: passed to `RunManager.cleanup`.
        also: another clean-up to run each time (the app prunes its temporary downloads).

    Returns:
        An event: set it to stop the schedule.
    """
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                get_manager().cleanup(max_age_s=max_age_s)
                if also is not None:
                    also()
            except Exception:  # a clean-up must never take the server down; try again next time
                log.exception("scheduled clean-up failed")
            stop.wait(every_s)

    threading.Thread(target=loop, name="srgan-cleanup", daemon=True).start()
    return stop


class _Job:
    """One run's thread body: preview of the base, train(), then the final metadata."""

    def __init__(self, manager: RunManager, out_dir: Path, config: TrainConfig, data: TrainingData, base_path: Path,
                 discriminator_path: Path | None, preview: tuple[Image.Image, Image.Image], device: str,
                 stop: threading.Event) -> None:  # fmt: skip
        self.manager, self.out_dir, self.config, self.data = manager, out_dir, config, data
        self.base_path, self.discriminator_path, self.preview, self.device, self.stop = \
            base_path, discriminator_path, preview, device, stop  # fmt: skip
        self.checkpoint = out_dir / "generator.safetensors"
        self.checkpoint_seen: tuple[int, int] = (0, 0)  # (inode, mtime) of the checkpoint the preview shows
        self.times: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step): steps/s over the last steps
        self.last_eval: float | None = None

    def run(self) -> None:
        state, error = "done", ""
        try:
            self._preview_base()
            self.times.append((time.perf_counter(), 0))
            train(self.config, images=self.data.images, image_names=self.data.names, out_dir=self.out_dir,
                  initial_discriminator=self.discriminator_path, callback=self._on_step, stop=self.stop, device=self.device,
                  eval_pairs=[self.preview], progress=False, data_label=self.data.label,
                  save_state=False)  # fmt: skip
            if self.stop.is_set() and self.manager.status().step < self.config.steps:
                state = "stopped"
        except Exception as e:  # TrainingError (NaN), bad data, out of memory...: the message is the user's
            state = "failed"
            error = str(e) if isinstance(e, (TrainingError, ValueError)) else f"{type(e).__name__}: {e}"
            if not isinstance(e, (TrainingError, ValueError)):
                log.exception("fine-tuning run %s failed", self.out_dir.name)
        finally:
            self._finish(state, error)

    def _preview_base(self) -> None:
        """The base model's result on the preview crop: the "before" picture and PSNR."""
        from ..metrics import psnr_y

        generator, _ = load_generator(self.base_path)
        before = upscale_preview(generator, self.preview[0])
        psnr = psnr_y(before, self.preview[1], border=generator.scale)
        self.manager._update(preview_before=before, preview_now=before, base_psnr_y=psnr)

    def _on_step(self, entry: Any) -> None:
        """train()'s callback (in this thread): record the step, refresh the preview after each checkpoint."""
        now = time.perf_counter()
        self.times.append((now, entry.step))
        (t0, s0), (t1, s1) = self.times[0], self.times[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else entry.steps_per_second
        if entry.eval_psnr_y is not None:
            self.last_eval = entry.eval_psnr_y
        with self.manager._lock:
            s = self.manager._status
            s.log.append(json.loads(entry.to_json()))  # the list is ours; snapshots copy it
            self.manager._status = replace(s, step=entry.step, steps_per_second=rate, eval_psnr_y=self.last_eval,
                                           eta_seconds=(entry.total_steps - entry.step) / rate if rate else None)
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        """Upscale the preview with the last checkpoint train() saved, if it is new."""
        try:
            stat = self.checkpoint.stat()
        except FileNotFoundError:
            return
        seen = (stat.st_ino, stat.st_mtime_ns)  # atomic_write replaces the file: a new inode each save
        if seen == self.checkpoint_seen:
            return
        self.checkpoint_seen = seen
        generator, meta = load_generator(self.checkpoint)
        steps_done = int(meta.get("recipe", {}).get("steps_done", 0))
        self.manager._update(preview_now=upscale_preview(generator, self.preview[0]), preview_step=steps_done,
                             checkpoint=self.checkpoint)  # fmt: skip
        self._write_run_json(state=self.manager.status().state, steps_done=steps_done)

    def _finish(self, state: str, error: str) -> None:
        """Final preview and metadata, the run's state, and no training state left behind."""
        try:
            if self.checkpoint.is_file():
                self._refresh_preview()
                self._finalise_checkpoint(state)
        except Exception as e:
            log.exception("finishing run %s", self.out_dir.name)
            if state != "failed":  # a failed run keeps its own message, which matters more
                state, error = "failed", f"the run ended but its checkpoint could not be finalised: {e}"
        # state.pt only serves to resume, which the app does not do; it is 3x the weights (~300 MB for SRGAN).
        (self.out_dir / "state.pt").unlink(missing_ok=True)
        status = self.manager.status()
        checkpoint = self.checkpoint if self.checkpoint.is_file() else None
        self._write_run_json(state=state, error=error, steps_done=status.preview_step if checkpoint else 0,
                             eval_psnr_y=status.eval_psnr_y, base_psnr_y=status.base_psnr_y,
                             finished=time.time())  # fmt: skip
        self.manager._update(state=state, error=error, checkpoint=checkpoint, eta_seconds=None,
                             elapsed_seconds=time.time() - status.settings["created"])  # fmt: skip

    def _finalise_checkpoint(self, state: str) -> None:
        """Rewrite the last checkpoint's metadata with the fine-tune's own fields (base, objective, metrics)."""
        generator, meta = load_generator(self.checkpoint)
        s = self.manager.status()
        recipe = {**meta.get("recipe", {}), "run_name": self.out_dir.name, "base": s.settings["base"],
                  "objective": s.settings["objective"], "objective_label": s.settings["objective_label"],
                  "discriminator_init": s.settings["discriminator_init"], "finetune_state": state}  # fmt: skip
        metrics = {**meta.get("metrics", {}), "preview_psnr_y": s.eval_psnr_y, "preview_psnr_y_base": s.base_psnr_y,
                   "preview": f"{PREVIEW_IMAGE} {PREVIEW_BOX}"}  # fmt: skip
        save_checkpoint(generator, self.checkpoint, recipe=recipe, metrics=metrics)
        stat = self.checkpoint.stat()
        self.checkpoint_seen = (stat.st_ino, stat.st_mtime_ns)

    def _write_run_json(self, **changes: Any) -> None:
        path = self.out_dir / "run.json"
        meta = json.loads(path.read_text()) | changes
        _write_json(path, meta)


def _write_json(path: Path, data: dict) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))


def _as_int(value: Any, what: str) -> int:
    """An integer from a form field (5, 5.0, "5"); a clear ValueError otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the {what} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"the {what} must be a whole number, got {value!r}")
    return int(number)


def _content_loss_for(objective: str) -> tuple[str, str]:
    """The content loss of an objective, and a note when the ImageNet VGG19 is not on this server."""
    if objective == "mse":
        return "mse", ""
    from ..vgg import resolve_vgg19_weights

    pretrained = resolve_vgg19_weights(download=False).pretrained  # local files only: never wait for a download
    if objective == "srgan":
        if pretrained:
            return "vgg54", ""
        return "mse", ("no ImageNet VGG19 weights on this server (set SRGAN_VGG19_WEIGHTS): the content term is "
                       "MSE, the paper's SRGAN-MSE variant")  # fmt: skip
    if pretrained:
        return "vgg54", ""
    return "vgg54", ("no ImageNet VGG19 weights on this server (set SRGAN_VGG19_WEIGHTS): VGG54 is measured on a "
                     "randomly initialised VGG19, an experiment rather than the paper's loss")  # fmt: skip


_manager: RunManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> RunManager:
    """The server's one `RunManager` (one run at a time per process)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = RunManager()
        return _manager
