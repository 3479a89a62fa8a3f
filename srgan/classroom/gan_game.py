"""The GAN game one step at a time (in the style of GAN Lab, Kahng et al. 2018): a tiny run that stays on the server.

Lesson: [the architecture, block by block](../../lessons/en/10_architecture.md) and
[the adversarial loss](../../lessons/en/05_adversarial_loss.md). Tab: Architecture, "The GAN game".

Ledig et al. 2017 (arXiv 1609.04802) train SRGAN by alternating two updates (§2.2): D on Eq. 2, then G on the
perceptual loss of Eq. 3, whose adversarial term is Eq. 6. Here a student presses one button per update and sees
that step's losses, D(HR) and D(SR) before and after it, and the SR crops change. The updates are the training
loop's own (`srgan.training.discriminator_step`, `generator_step`, `training_step`), on `Players` made by
`srgan.training.build_players`: nothing of the paper's update is written twice.

The run (all on the CPU):

- G: the bundled SRResNet, the real network (1,550,659 parameters); the paper's SRGAN stage starts from it (§3.2).
- D: a fresh discriminator with the paper's layout (eight conv blocks, Dense, LeakyReLU, Dense) at a quarter of its
  width, 16 -> 128 channels and Dense(256) (about 0.6 M parameters instead of 23.6 M). A game holds both networks
  and their Adam moments; at full width D alone would take about 280 MB per student, this one about 7 MB. It starts
  from PyTorch's initialisation, as D does at the start of the paper's stage 2.
- Data: 4 fixed 64x64 HR crops of one image (LR 16x16), batch 4, the same at every step, so "before" and "after"
  are measured on the same inputs. Content loss: MSE (Eq. 4); adversarial weight 10⁻³ (Eq. 3) unless changed.

"Before" and "after" are measured in training mode (BatchNorm on the batch, as the loss sees it) without touching
the running statistics (`_frozen_buffers`); each press measures once, after its update (the "before" of a press is
the "after" of the previous one), and a D step reuses G's SR crops, which it does not change.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import nn

from .. import training
from ..checkpoints import load_pretrained, resolve
from ..config import DiscriminatorConfig, TrainConfig
from ..data import PairedPatchDataset, tensor_to_pil
from ..losses import mse_content_loss

BATCH = 4
HR_PATCH = 64  # LR 16x16
SMALL_D = DiscriminatorConfig(channels=16, dense_features=256)
MAX_GAMES = 48  # games alive at once in one server (about 35 MB each): a class, with room to spare
MAX_RUN = 50  # the most steps one "run n steps" may take


class GameError(ValueError):
    """The game cannot start or go on (the message is for the user)."""


@dataclass(frozen=True)
class Snapshot:
    """The two players' view of the batch at one moment."""

    d_hr: float  # mean D(I_HR) = σ(D's logit) over the 4 HR crops
    d_sr: float  # mean D(G(I_LR)) over the 4 SR crops
    sr: Image.Image  # the 4 SR crops as a 2x2 mosaic (128x128)


@dataclass(frozen=True)
class StepRecord:
    """What one button press did."""

    kind: str  # "D" (Eq. 2), "G" (Eq. 3 with Eq. 6) or "DG" (one full step of `training_step`, run n times)
    steps: int  # updates of that kind in this press (1, or n for a run)
    losses: dict[str, float]  # "discriminator"; "content", "adversarial", "perceptual"
    before: Snapshot
    after: Snapshot
    d_steps: int  # D updates so far in this game
    g_steps: int  # G updates so far


def mosaic(batch: torch.Tensor) -> Image.Image:
    """(4, 3, p, p) in [-1, 1] -> one 2x2 RGB mosaic (2p x 2p)."""
    top = torch.cat([batch[0], batch[1]], dim=2)  # (3, p, 2p)
    bottom = torch.cat([batch[2], batch[3]], dim=2)
    return tensor_to_pil(torch.cat([top, bottom], dim=1), value_range=(-1, 1))  # (3, 2p, 2p)


@contextlib.contextmanager
def _frozen_buffers(*modules: nn.Module) -> Iterator[None]:
    """Run forward passes in training mode, then put BatchNorm's running statistics back as they were."""
    saved = [{k: v.clone() for k, v in m.state_dict().items() if k.endswith(("running_mean", "running_var",
             "num_batches_tracked"))} for m in modules]  # fmt: skip
    try:
        with torch.no_grad():
            yield
    finally:
        for m, state in zip(modules, saved, strict=True):
            m.load_state_dict(state, strict=False)


_LIVE: weakref.WeakSet[GanGame] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def live_games() -> int:
    """How many games are open in this process."""
    return len(_LIVE)


@dataclass(eq=False)  # compared and hashed by identity (a member of the live set)
class GanGame:
    """One student's tiny SRGAN run, stepped by hand.

    Args:
        hr_image: the photo the 4 crops come from (RGB, at least 64x64).
        adversarial_weight: the 10⁻³ of Eq. 3 (larger makes G's answer to D visible sooner).
        generator: G's starting point, a bundled name or a checkpoint ("srresnet": the paper's).
        seed: D's initialisation and where the crops fall.

    Raises:
        GameError: image too small, or too many games open.
    """

    hr_image: Image.Image
    adversarial_weight: float = 1e-3
    generator: str = "srresnet"
    seed: int = 0
    history: list[StepRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        if min(self.hr_image.size) < HR_PATCH:
            raise GameError(f"the image must be at least {HR_PATCH}x{HR_PATCH} pixels for the game's crops")
        if not 0 < self.adversarial_weight <= 1:
            raise GameError(f"the adversarial weight must be between 0 and 1, got {self.adversarial_weight}")
        with _LIVE_LOCK:
            if len(_LIVE) >= MAX_GAMES:
                raise GameError(f"{MAX_GAMES} games are already open on this server; try again in a while")
            _LIVE.add(self)
        self.config = TrainConfig(
            preset="srgan", content_loss="mse", batch_size=BATCH, hr_patch=HR_PATCH, init_from=str(resolve(self.generator)),
            adversarial_weight=self.adversarial_weight, discriminator=SMALL_D, seed=self.seed, augment=False,
            generator=load_pretrained(self.generator).config,  # G's architecture is the checkpoint's
        )  # fmt: skip
        device = torch.device("cpu")
        torch.manual_seed(self.seed)  # D's initialisation
        self.players = training.build_players(self.config, device, training.Distributed(0, 1, device))
        data = PairedPatchDataset([self.hr_image.convert("RGB")], scale=4, hr_patch=HR_PATCH, augment=False,
                                  seed=self.seed)  # fmt: skip
        lr_image, hr_image = data.batch(0, BATCH)  # (4, 3, 16, 16) in [0, 1], (4, 3, 64, 64) in [-1, 1]
        self.lr = lr_image.contiguous(memory_format=torch.channels_last)
        self.hr = hr_image.contiguous(memory_format=torch.channels_last)
        self.d_steps = self.g_steps = 0
        self._lock = threading.Lock()
        self._now, self._sr = self._measure()  # the state before the first press

    @property
    def hr_mosaic(self) -> Image.Image:
        return mosaic(self.hr)

    @property
    def lr_mosaic(self) -> Image.Image:
        return mosaic(self.lr * 2 - 1)

    def snapshot(self) -> Snapshot:
        """D(HR), D(SR) and the SR crops as they are now (measured after every press, so free to read)."""
        return self._now

    def _measure(self, sr: torch.Tensor | None = None) -> tuple[Snapshot, torch.Tensor]:
        """D(HR) and D(SR) in training mode, leaving every running statistic as it was; G runs unless `sr` is given
        (after a D step G has not changed, so its SR crops have not either)."""
        p = self.players
        with _frozen_buffers(p.generator, p.discriminator):
            sr = p.generator(self.lr) if sr is None else sr  # (4, 3, 64, 64)
            d_hr = torch.sigmoid(p.discriminator(self.hr)).mean()
            d_sr = torch.sigmoid(p.discriminator(sr)).mean()
        return Snapshot(float(d_hr), float(d_sr), mosaic(sr)), sr

    def discriminator_step(self) -> StepRecord:
        """One update of D on Eq. 2 (`srgan.training.discriminator_step`); G is not touched."""
        with self._lock:
            before = self._now
            terms = training.discriminator_step(self.players, self.hr, self._sr, autocast=contextlib.nullcontext())
            self.d_steps += 1
            self._now, self._sr = self._measure(self._sr)
            return self._record("D", 1, {"discriminator": float(terms["discriminator"])}, before)

    def generator_step(self) -> StepRecord:
        """One update of G on Eq. 3 with Eq. 6 (`srgan.training.generator_step`), through the current D."""
        with self._lock:
            before = self._now
            sr = self.players.g_train(self.lr)  # (4, 3, 64, 64), with its graph
            terms = training.generator_step(self.players, self.hr, sr, mse_content_loss,
                                            adversarial_weight=self.adversarial_weight,
                                            autocast=contextlib.nullcontext())  # fmt: skip
            self.g_steps += 1
            self._now, self._sr = self._measure()
            return self._record("G", 1, {k: float(v) for k, v in terms.items()}, before)

    def run(self, steps: int = 10) -> StepRecord:
        """`steps` full steps of the paper's loop (`srgan.training.training_step`: D on Eq. 2, then G on Eq. 3).

        Returns:
            One record: the losses of the last step, D(HR) and D(SR) before the first and after the last.
        """
        if not 1 <= int(steps) <= MAX_RUN:
            raise GameError(f"a run takes 1 to {MAX_RUN} steps, got {steps}")
        with self._lock:
            before = self._now
            for _ in range(int(steps)):
                terms = training.training_step(self.players, self.lr, self.hr, mse_content_loss, self.config,
                                               contextlib.nullcontext())  # fmt: skip
                self.d_steps += 1
                self.g_steps += 1
            self._now, self._sr = self._measure()
            losses = {k: float(v) for k, v in terms.items() if k not in ("d_hr", "d_sr")}
            return self._record("DG", int(steps), losses, before)

    def _record(self, kind: str, steps: int, losses: dict[str, float], before: Snapshot) -> StepRecord:
        record = StepRecord(kind, steps, losses, before, self._now, self.d_steps, self.g_steps)
        self.history.append(record)
        return record

    def close(self) -> None:
        """Free the networks (Gradio's State calls this when the student's session ends)."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self.players = None  # type: ignore[assignment]
