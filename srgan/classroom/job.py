"""One fine-tuning run's thread body (`FinetuneJob`), and the held-out preview it is watched on.

`RunManager.start` (srgan.classroom.runs) validates a request, writes the run's `run.json` and starts a
thread on `FinetuneJob.run`; the job calls `srgan.training.train` and reports to the manager, whose
status every watcher reads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from ..checkpoints import atomic_write, load_generator, save_checkpoint
from ..config import TrainConfig
from ..data import bicubic_downsample, builtin_image_paths, centre_crop, load_rgb
from ..training import TrainingError, train
from .uploads import TrainingData

if TYPE_CHECKING:
    from .runs import RunManager

log = logging.getLogger(__name__)

# The held-out preview: a 128x128 crop of 'chelsea' (her left eye and fur), 32x32 once downsampled.
PREVIEW_IMAGE = "chelsea"
PREVIEW_BOX = (112, 40, 240, 168)


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


def _content_loss_for(objective: str) -> tuple[str, str]:
    """The content loss of an objective, and a note when the ImageNet VGG19 is not on this server."""
    if objective == "mse":
        return "mse", ""
    from ..vgg import resolve_vgg19_weights

    pretrained = resolve_vgg19_weights(download=False).pretrained  # local files only: never wait for a download
    if objective == "srgan":
        if pretrained:
            return "vgg54", ""
        return "mse", (
            "no ImageNet VGG19 weights on this server (set SRGAN_VGG19_WEIGHTS): the content term is "
            "MSE, the paper's SRGAN-MSE variant"
        )
    if pretrained:
        return "vgg54", ""
    return "vgg54", (
        "no ImageNet VGG19 weights on this server (set SRGAN_VGG19_WEIGHTS): VGG54 is measured on a "
        "randomly initialised VGG19, an experiment rather than the paper's loss"
    )


def write_json(path: Path, data: dict) -> None:
    """Write `data` as indented JSON, atomically (run.json is read by other threads and processes)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))


class FinetuneJob:
    """One run's thread body: the base model's preview, `train()`, then the final metadata.

    `run()` never raises: whatever happens, the run ends as "done", "stopped" or "failed" (with a
    message for the user) in the manager's status and in `run.json`, and its last checkpoint, if any,
    carries the fine-tune's own metadata.

    Args:
        manager: the `RunManager` to report to (`_update`, `_record_step`, `status`).
        out_dir: the run's folder, with its `run.json` already written.
        config: what `train()` runs.
        data: the training images.
        base_path: the base generator's checkpoint (the "before" preview).
        discriminator_path: where the SRGAN objective's discriminator starts (None: fresh or no adversary).
        preview: the held-out (LR, HR) pair, from `preview_pair`.
        device: where `train()` runs ("cpu", "cuda", ...).
        stop: set by `RunManager.stop`; train() saves a checkpoint and returns at the end of the step.
    """

    def __init__(
        self,
        manager: RunManager,
        out_dir: Path,
        config: TrainConfig,
        data: TrainingData,
        base_path: Path,
        discriminator_path: Path | None,
        preview: tuple[Image.Image, Image.Image],
        device: str,
        stop: threading.Event,
    ) -> None:
        self.manager, self.out_dir, self.config, self.data = manager, out_dir, config, data
        self.base_path, self.discriminator_path = base_path, discriminator_path
        self.preview, self.device, self.stop = preview, device, stop
        self.checkpoint = out_dir / "generator.safetensors"
        self.checkpoint_seen: tuple[int, int] = (0, 0)  # (inode, mtime) of the checkpoint the preview shows
        self.times: deque[tuple[float, int]] = deque(maxlen=20)  # (time, step): steps/s over the last steps
        self.last_eval: float | None = None

    def run(self) -> None:
        """The thread's target: train, then record how the run ended."""
        state, error = "done", ""
        try:
            self._preview_base()
            self.times.append((time.perf_counter(), 0))
            self._train()
            if self.stop.is_set() and self.manager.status().step < self.config.steps:
                state = "stopped"
        except Exception as e:  # TrainingError (NaN), bad data, out of memory...: the message is the user's
            state = "failed"
            error = str(e) if isinstance(e, (TrainingError, ValueError)) else f"{type(e).__name__}: {e}"
            if not isinstance(e, (TrainingError, ValueError)):
                log.exception("fine-tuning run %s failed", self.out_dir.name)
        finally:
            self._finish(state, error)

    def _train(self) -> None:
        """`srgan.training.train` on the run's data, evaluated on the preview pair after each checkpoint."""
        train(
            self.config,
            images=self.data.images,
            image_names=self.data.names,
            out_dir=self.out_dir,
            initial_discriminator=self.discriminator_path,
            callback=self._on_step,
            stop=self.stop,
            device=self.device,
            eval_pairs=[self.preview],
            progress=False,
            data_label=self.data.label,
            save_state=False,
        )

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
        eta = (entry.total_steps - entry.step) / rate if rate else None
        self.manager._record_step(
            json.loads(entry.to_json()),
            step=entry.step,
            steps_per_second=rate,
            eval_psnr_y=self.last_eval,
            eta_seconds=eta,
        )
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
        self.manager._update(
            preview_now=upscale_preview(generator, self.preview[0]), preview_step=steps_done, checkpoint=self.checkpoint
        )
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
        self._write_run_json(
            state=state,
            error=error,
            steps_done=status.preview_step if checkpoint else 0,
            eval_psnr_y=status.eval_psnr_y,
            base_psnr_y=status.base_psnr_y,
            finished=time.time(),
        )
        self.manager._update(
            state=state,
            error=error,
            checkpoint=checkpoint,
            eta_seconds=None,
            elapsed_seconds=time.time() - status.settings["created"],
        )

    def _finalise_checkpoint(self, state: str) -> None:
        """Rewrite the last checkpoint's metadata with the fine-tune's own fields (base, objective, metrics)."""
        generator, meta = load_generator(self.checkpoint)
        status = self.manager.status()
        settings = status.settings
        recipe = {
            **meta.get("recipe", {}),
            "run_name": self.out_dir.name,
            "base": settings["base"],
            "objective": settings["objective"],
            "objective_label": settings["objective_label"],
            "discriminator_init": settings["discriminator_init"],
            "finetune_state": state,
        }
        metrics = {
            **meta.get("metrics", {}),
            "preview_psnr_y": status.eval_psnr_y,
            "preview_psnr_y_base": status.base_psnr_y,
            "preview": f"{PREVIEW_IMAGE} {PREVIEW_BOX}",
        }
        save_checkpoint(generator, self.checkpoint, recipe=recipe, metrics=metrics)
        stat = self.checkpoint.stat()
        self.checkpoint_seen = (stat.st_ino, stat.st_mtime_ns)

    def _write_run_json(self, **changes: Any) -> None:
        path = self.out_dir / "run.json"
        meta = json.loads(path.read_text()) | changes
        write_json(path, meta)
