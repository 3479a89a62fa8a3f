"""Fine-tuning runs for the app: one training at a time, in a background thread, watched live.

The loop is `srgan.training.train`, the very code behind `python -m srgan train`; this module only
decides what goes into it (base model, data, objective) and keeps a live, thread-safe view of it
for any number of watchers (`RunManager.status()`), so a browser refresh or a second user can
reattach to the run in progress. The training images come from `srgan.classroom.uploads`; the thread
body and the held-out preview are `srgan.classroom.job`.

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

import json
import logging
import math
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from ..checkpoints import CheckpointError, load_discriminator, read_metadata
from ..checkpoints import resolve as resolve_checkpoint
from ..config import DiscriminatorConfig, GeneratorConfig, TrainConfig
from ..images import ImageError

# Some of these are not used here but re-exported (noqa: F401): ui/finetune.py, benchmarks/ and tests import
# them from srgan.classroom.runs, where they were before uploads.py and job.py were split off; ui/ needs no edit.
from .job import (  # noqa: F401
    PREVIEW_BOX,
    PREVIEW_IMAGE,
    FinetuneJob,
    _content_loss_for,
    preview_pair,
    upscale_preview,
    write_json,
)
from .uploads import (  # noqa: F401
    MAX_IMAGES,
    MAX_MEMBER_BYTES,
    MAX_TOTAL_PIXELS,
    MAX_ZIP_BYTES,
    MAX_ZIP_MEMBERS,
    TrainingData,
    builtin_data,
    uploaded_data,
)

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
    """A run folder's name, "<timestamp>_<sanitised name>": sorts by time, and can never leave the runs folder."""
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
        numbers = _checked_numbers(steps, learning_rate, batch_size, hr_patch, seed)
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
        plan = self._plan(base, data, objective, numbers, discriminator, checkpoint_every, device)
        run_name = self._launch(plan, name)
        self._prune(keep_also={run_name, plan.base_label})  # the new run and its base are never deleted
        return run_name

    def _plan(
        self,
        base: str | Path,
        data: TrainingData | None,
        objective: str,
        numbers: _Numbers,
        discriminator: str | Path | None,
        checkpoint_every: int | None,
        device: str | None,
    ) -> _RunPlan:
        """Step 2 of `start`: resolve the base, the data and the device; build train()'s config.

        Everything that can fail on the request fails here, before any folder is made.
        """
        base_label, base_path = self._resolve_base(base)
        generator_config = GeneratorConfig(**read_metadata(base_path).get("config") or {})
        data = data if data is not None else builtin_data()
        _check_patch(numbers.hr_patch, generator_config.scale, data)

        from ..device import pick_device

        device = str(pick_device(device))
        checkpoint_every = checkpoint_every or CHECKPOINT_EVERY["cpu" if device == "cpu" else "gpu"]
        notes = list(data.notes)
        content_loss, note = _content_loss_for(objective)
        notes += [note] if note else []
        config = _train_config(objective, numbers, checkpoint_every, base_path, generator_config, content_loss)
        discriminator_path, note = self._discriminator_for(objective, base, discriminator)
        notes += [note] if note else []
        if discriminator_path is not None:
            d_config = DiscriminatorConfig(**read_metadata(discriminator_path).get("config") or {})
            config = replace(config, discriminator=d_config)
        return _RunPlan(
            base_label=base_label,
            base_path=base_path,
            data=data,
            objective=objective,
            content_loss=content_loss,
            numbers=numbers,
            checkpoint_every=checkpoint_every,
            device=device,
            discriminator_path=discriminator_path,
            notes=notes,
            config=config,
            preview=preview_pair(generator_config.scale),
        )

    def _launch(self, plan: _RunPlan, name: str) -> str:
        """Step 3 of `start`: under the lock, make the run's folder and run.json and start its thread."""
        with self._lock:  # check again: another request may have started while the data loaded
            if self._status.active:
                raise RunBusyError(self._busy_message(self._status))
            self.root.mkdir(parents=True, exist_ok=True)
            short_base = re.sub(r"^\d{8}-\d{6}_", "", plan.base_label)  # a run's name without its timestamp
            run_name = self._unique_name(make_run_name(name, default=f"{short_base}-{plan.objective}"))
            out_dir = self.root / run_name
            out_dir.mkdir()
            settings = plan.settings(run_name)
            write_json(out_dir / "run.json", settings)
            self._stop = threading.Event()
            lr_image, hr_image = plan.preview
            self._status = RunStatus(
                name=run_name,
                state="running",
                total=plan.numbers.steps,
                notes=tuple(plan.notes),
                settings=settings,
                device=plan.device,
                preview_lr=lr_image,
                preview_hr=hr_image,
            )
            job = FinetuneJob(
                self,
                out_dir,
                plan.config,
                plan.data,
                plan.base_path,
                plan.discriminator_path,
                plan.preview,
                plan.device,
                self._stop,
            )
            self._thread = threading.Thread(target=job.run, name=f"finetune-{run_name}", daemon=True)
            self._thread.start()
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
        return (
            f"a fine-tuning run is already in progress on this server: {s.name} (step {s.step} of {s.total}, "
            f"{s.settings.get('objective_label', '')}). One run at a time: watch it, or start yours when it ends."
        )

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

    def _discriminator_for(
        self, objective: str, base: str | Path, choice: str | Path | None
    ) -> tuple[Path | None, str]:
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
        """Replace fields of the status (the job's reports)."""
        with self._lock:
            self._status = replace(self._status, **changes)

    def _record_step(self, entry: dict, **changes: Any) -> None:
        """Append a log.jsonl entry to the status and replace fields, in one locked update (the job's per step)."""
        with self._lock:
            s = self._status
            s.log.append(entry)  # the list is ours; snapshots copy it
            self._status = replace(s, **changes)


def schedule_cleanup(
    every_s: float = CLEANUP_EVERY_S, *, max_age_s: float | None = RUN_MAX_AGE_S, also: Any = None
) -> threading.Event:
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


# ----------------------------------------------------------------------------------------------
# The steps of RunManager.start


@dataclass(frozen=True)
class _Numbers:
    """A request's numeric settings, converted from form fields and range-checked (`_checked_numbers`)."""

    steps: int
    learning_rate: float
    batch_size: int
    hr_patch: int  # checked against the base's scale later (`_check_patch`)
    seed: int


@dataclass(frozen=True)
class _RunPlan:
    """Everything `RunManager.start` decided before making the run's folder (`RunManager._plan`)."""

    base_label: str  # "srresnet", "srgan", a run name or a file's stem
    base_path: Path
    data: TrainingData
    objective: str
    content_loss: str
    numbers: _Numbers
    checkpoint_every: int
    device: str
    discriminator_path: Path | None
    notes: list[str]  # for the user: what was skipped, what replaces what
    config: TrainConfig
    preview: tuple[Image.Image, Image.Image]  # (LR, HR), `preview_pair`

    def settings(self, run_name: str) -> dict:
        """The run's run.json (and `RunStatus.settings`) as it starts."""
        n = self.numbers
        return {
            "name": run_name,
            "base": self.base_label,
            "base_path": str(self.base_path),
            "data": self.data.label,
            "data_names": self.data.names,
            "objective": self.objective,
            "objective_label": OBJECTIVES[self.objective],
            "content_loss": self.content_loss,
            "steps": n.steps,
            "learning_rate": n.learning_rate,
            "batch_size": n.batch_size,
            "hr_patch": n.hr_patch,
            "seed": n.seed,
            "checkpoint_every": self.checkpoint_every,
            "device": self.device,
            "discriminator_init": str(self.discriminator_path) if self.discriminator_path else None,
            "created": time.time(),
            "state": "running",
            "steps_done": 0,
            "notes": self.notes,
        }


def _checked_numbers(steps: Any, learning_rate: Any, batch_size: Any, hr_patch: Any, seed: Any) -> _Numbers:
    """Step 1 of `start`: the numeric settings as numbers, each within its range (a clear ValueError if not)."""
    steps, batch_size = _as_int(steps, "steps"), _as_int(batch_size, "batch size")
    hr_patch, seed = _as_int(hr_patch, "patch size"), _as_int(seed, "seed")
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
    return _Numbers(steps, learning_rate, batch_size, hr_patch, seed)


def _check_patch(hr_patch: int, scale: int, data: TrainingData) -> None:
    """The patch size fits the base's scale and every training image (ValueError, ImageError if not)."""
    if not (PATCH_RANGE[0] <= hr_patch <= PATCH_RANGE[1] and hr_patch % scale == 0):
        raise ValueError(
            f"the patch size must be a multiple of {scale} between {PATCH_RANGE[0]} and "
            f"{PATCH_RANGE[1]} pixels, got {hr_patch}"
        )
    for image, image_name in zip(data.images, data.names, strict=True):
        if min(image.size) < hr_patch:
            raise ImageError(
                f"{image_name} is {image.width}x{image.height}, smaller than the {hr_patch}px "
                "patch: choose a smaller patch size or a larger image"
            )


def _train_config(
    objective: str, n: _Numbers, checkpoint_every: int, base_path: Path, generator: GeneratorConfig, content_loss: str
) -> TrainConfig:
    """train()'s config: the objective's preset (§3.2) with the request's settings, starting from the base."""
    preset = TrainConfig.preset_srgan if objective == "srgan" else TrainConfig.preset_srresnet
    return preset(
        steps=n.steps,
        batch_size=n.batch_size,
        hr_patch=n.hr_patch,
        learning_rate=n.learning_rate,
        seed=n.seed,
        checkpoint_every=checkpoint_every,
        eval_every=checkpoint_every,
        init_from=str(base_path),
        generator=generator,
        content_loss=content_loss,
    )


def _as_int(value: Any, what: str) -> int:
    """An integer from a form field (5, 5.0, "5"); a clear ValueError otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the {what} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"the {what} must be a whole number, got {value!r}")
    return int(number)


_manager: RunManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> RunManager:
    """The server's one `RunManager` (one run at a time per process)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = RunManager()
        return _manager
