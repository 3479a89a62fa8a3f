"""The training loop shared by `python -m srgan train` and the app: both stages of the paper (§3.2).

Lessons: [perceptual loss](../lessons/en/06_perceptual_loss.md),
[adversarial loss](../lessons/en/05_adversarial_loss.md).

Stage 1, SRResNet: the generator alone, minimising the MSE content loss (Eq. 4).
Deviation: a stage trained from scratch ICNR-initialises its sub-pixel convolutions (`icnr_init`;
Aitken et al. 2017), so the upsampling starts without the checkerboard that a random init gives.

Stage 2, SRGAN: the generator initialised from SRResNet, minimising the perceptual loss
l^SR = l_X^SR + 10^-3 l_Gen^SR (Eq. 3), alternating with one discriminator update per step (Eq. 2).

The loop is a plain function with a per-step callback. Its state (both networks, both optimisers,
the step) is saved atomically every `checkpoint_every` steps to `out_dir/state.pt`; mini-batches are
a pure function of (seed, step) (see `PairedPatchDataset`), so `resume=True` continues exactly where
the run stopped. Every loss term, D(HR) and D(SR) go to `out_dir/log.jsonl`.

Several processes (`torchrun --nproc_per_node=N -m srgan train ...`): DistributedDataParallel, gloo on
the CPU and NCCL on CUDA. `batch_size` stays the global batch: rank k takes the k-th slice of the very
mini-batch a single process would draw at that step, so the data stream is the same for any N. DDP
averages the gradients; the logged losses are averaged over the ranks; rank 0 alone evaluates, logs
and saves. Deviations: BatchNorm statistics are per rank (no SyncBatchNorm: gloo does not implement it),
and DDP does not broadcast buffers (the discriminator runs twice before each backward; broadcasting BN
buffers in between would modify them in place under autograd). With `amp=True` the forward passes run
under bf16 autocast (no loss scaling is needed with bf16's fp32 exponent range).

Run directory:
    state.pt                     resumable training state (weights-only pickle of tensors)
    generator.safetensors        the generator, with metadata (recipe, metrics)
    discriminator.safetensors    the discriminator (SRGAN stage)
    log.jsonl                    one JSON line per step; evaluations add "eval_psnr_y" and "eval_grid"
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from . import losses
from .checkpoints import atomic_write, load_discriminator, load_generator, save_checkpoint
from .config import TrainConfig
from .data import PairedPatchDataset, bicubic_downsample, builtin_image_paths, centre_crop, images_fingerprint, load_rgb
from .device import pick_device
from .metrics import grid_artifact_score, psnr_y
from .models import Discriminator, Generator


class TrainingError(RuntimeError):
    """Training cannot go on (diverged, bad data); the message is for the user."""


@dataclass
class StepLog:
    """What one step measured, handed to callbacks and written to log.jsonl."""

    step: int  # steps done so far (1-based after the first update)
    total_steps: int
    losses: dict[str, float]  # "content", "adversarial", "perceptual", "discriminator"
    d_hr: float | None  # mean D(I_HR) = sigmoid(logit) on the batch
    d_sr: float | None  # mean D(G(I_LR))
    learning_rate: float
    steps_per_second: float
    eval_psnr_y: float | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        d = {
            "step": self.step,
            **self.losses,
            "d_hr": self.d_hr,
            "d_sr": self.d_sr,
            "learning_rate": self.learning_rate,
            "steps_per_second": self.steps_per_second,
        }
        if self.eval_psnr_y is not None:
            d["eval_psnr_y"] = self.eval_psnr_y
        return json.dumps(d | self.extra)


def heldout_eval_pairs(*, scale: int, size: int = 192) -> list[tuple[Image.Image, Image.Image]]:
    """(LR, HR) centre crops of the held-out built-in photos, for the PSNR curve during training."""
    pairs = []
    for path in builtin_image_paths(split="heldout").values():
        hr = centre_crop(load_rgb(path), size, square=True, multiple=scale)
        pairs.append((bicubic_downsample(hr, scale), hr))
    return pairs


@torch.no_grad()
def evaluate_heldout(
    generator: Generator, pairs: list[tuple[Image.Image, Image.Image]], device: torch.device
) -> dict[str, float]:
    """Mean PSNR-Y (border = scale) and mean checkerboard score (`grid_artifact_score`) on (LR, HR) pairs."""
    from .data import pil_to_tensor, tensor_to_pil

    was_training = generator.training
    generator.eval()
    psnrs, grids = [], []
    for lr_image, hr_image in pairs:
        sr = generator(pil_to_tensor(lr_image)[None].to(device))[0]  # (3, rH, rW) in [-1, 1]
        sr_image = tensor_to_pil(sr, value_range=(-1, 1))
        psnrs.append(psnr_y(sr_image, hr_image, border=generator.scale))
        grids.append(grid_artifact_score(sr_image, period=generator.scale))
    generator.train(was_training)
    return {"psnr_y": sum(psnrs) / len(psnrs), "grid": sum(grids) / len(grids)}


def _content_loss_fn(config: TrainConfig, device: torch.device) -> tuple[Callable, str]:
    if config.flat_boost != 1:  # beyond the paper: the pull grows where HR is flat (losses.flatness_weights)
        def weighted(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
            weights = losses.flatness_weights(hr, boost=config.flat_boost)  # (B, 1, p, p) in [1, boost]
            return config.content_weight * losses.weighted_pixel_loss(sr, hr, weights, kind=config.content_loss)

        name = "MSE (Eq. 4)" if config.content_loss == "mse" else "L1 (beyond the paper)"
        return weighted, f"{config.content_weight:g} · {name}, x{config.flat_boost:g} where HR is flattest"
    fn, label = _unweighted_content_loss_fn(config, device)
    if config.content_weight == 1:
        return fn, label
    return (lambda sr, hr: config.content_weight * fn(sr, hr)), f"{config.content_weight:g} · {label}"


def _unweighted_content_loss_fn(config: TrainConfig, device: torch.device) -> tuple[Callable, str]:
    if config.content_loss == "mse":
        return losses.mse_content_loss, "MSE (Eq. 4)"
    if config.content_loss == "l1":
        return losses.l1_content_loss, "L1 (beyond the paper)"
    from .vgg import VGGFeatures

    vgg = VGGFeatures(config.content_loss).to(device)
    label = f"{config.content_loss.upper()} (Eq. 5)" if vgg.pretrained else f"{config.content_loss} on a RANDOM VGG19"

    def fn(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return losses.vgg_content_loss(sr, hr, vgg, rescale=config.vgg_rescale)

    return fn, label


@dataclass
class Distributed:
    """This process's place in a `torchrun` job (or a single process: rank 0 of 1)."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: torch.device) -> Distributed:
        """Join the process group that `torchrun` describes in the environment (WORLD_SIZE, RANK, ...)."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls(0, 1, device)
        import torch.distributed as torch_dist

        if device.type == "cuda":  # one GPU per process
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not torch_dist.is_initialized():
            torch_dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(torch_dist.get_rank(), world_size, device)

    def wrap(self, module: nn.Module) -> nn.Module:
        if self.world_size == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)

    def mean_over_ranks(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        """Average scalar tensors over the ranks (one all-reduce) and return them as floats."""
        stacked = torch.stack([v.float() for v in values.values()])  # (K,)
        if self.world_size > 1:
            import torch.distributed as torch_dist

            torch_dist.all_reduce(stacked)
            stacked /= self.world_size
        return dict(zip(values, stacked.tolist(), strict=True))

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as torch_dist

            torch_dist.barrier()


def initialise_upsampling_icnr(generator: Generator) -> None:
    """ICNR-initialise every sub-pixel convolution of `generator` (weights repeated per sub-pixel, bias 0)."""
    from .teaching import icnr_

    with torch.no_grad():
        for block in generator.upsample:
            icnr_(block.conv.weight, block.shuffle.upscale_factor)
            block.conv.bias.zero_()


@dataclass
class Players:
    """The two networks of the game, their optimisers, and what a step calls (their DDP wrappers, or themselves)."""

    generator: Generator
    opt_g: torch.optim.Optimizer
    discriminator: Discriminator | None = None
    opt_d: torch.optim.Optimizer | None = None
    g_train: nn.Module | None = None
    d_train: nn.Module | None = None
    ema: Generator | None = None  # the moving average of G's weights (beyond the paper; `update_ema`)

    def set_learning_rate(self, learning_rate: float) -> None:
        for group in self.opt_g.param_groups + (self.opt_d.param_groups if self.opt_d else []):
            group["lr"] = learning_rate


def build_players(
    config: TrainConfig,
    device: torch.device,
    dist: Distributed,
    *,
    initial_discriminator: str | Path | Discriminator | None = None,
) -> Players:
    """The generator (from `config.init_from`, ICNR or PyTorch's init) and, for SRGAN, the discriminator.

    Args:
        config: the stage.
        device: where they train.
        dist: this process's place in a `torchrun` job.
        initial_discriminator: start D from these weights (a checkpoint or a module) instead of PyTorch's init;
            the app's fine-tunes continue the bundled SRGAN's discriminator this way.

    Returns:
        `Players`, in train mode, channels-last, with fresh Adam optimisers (β1 from the config, §3.2).
    """
    generator = Generator.from_config(config.generator)
    if config.init_from:  # §3.2: SRGAN starts from the trained SRResNet
        init, _ = load_generator(config.init_from)
        generator.load_state_dict(init.state_dict())
    elif config.icnr_init:  # no checkerboard at step 0 (not in the paper; see srgan.teaching.icnr_)
        initialise_upsampling_icnr(generator)
    generator = generator.to(device, memory_format=torch.channels_last).train()
    adam = {"lr": config.learning_rate, "betas": (config.beta1, 0.999)}
    players = Players(generator, torch.optim.Adam(generator.parameters(), **adam))
    players.g_train = dist.wrap(generator)
    if config.ema_decay:
        players.ema = copy.deepcopy(generator).eval().requires_grad_(False)
    if config.uses_discriminator:
        discriminator = Discriminator.from_config(config.discriminator)
        if isinstance(initial_discriminator, Discriminator):
            discriminator.load_state_dict(initial_discriminator.state_dict())
        elif initial_discriminator is not None:
            discriminator.load_state_dict(load_discriminator(initial_discriminator)[0].state_dict())
        discriminator = discriminator.to(device, memory_format=torch.channels_last).train()
        players.discriminator, players.opt_d = discriminator, torch.optim.Adam(discriminator.parameters(), **adam)
        players.d_train = dist.wrap(discriminator)
    return players


def discriminator_step(
    players: Players,
    hr_image: torch.Tensor,
    sr_image: torch.Tensor,
    *,
    autocast: contextlib.AbstractContextManager,
    relativistic: bool = False,
) -> dict[str, torch.Tensor]:
    """One update of D on Eq. 2: min −log D(I_HR) − log(1 − D(G(I_LR))), real HR -> 1, generated SR -> 0.

    Lesson: [adversarial loss](../lessons/en/05_adversarial_loss.md).

    Args:
        players: D and its optimiser are updated; G is not (the SR batch is detached).
        hr_image: (B, 3, p, p) real patches in [-1, 1].
        sr_image: (B, 3, p, p) G's output for their LR patches.
        autocast: bf16 autocast, or a context that does nothing.
        relativistic: beyond the paper: ESRGAN's relativistic average loss in place of Eq. 2
            (`losses.relativistic_discriminator_loss`).

    Returns:
        "discriminator" (the loss), "d_hr" and "d_sr" (mean probabilities D gave the batch), detached.
    """
    with autocast:
        real_logits = players.d_train(hr_image)  # (B, 1)
        fake_logits = players.d_train(sr_image.detach())  # (B, 1): no gradient reaches G
        d_loss_fn = losses.relativistic_discriminator_loss if relativistic else losses.discriminator_loss
        d_loss = d_loss_fn(real_logits.float(), fake_logits.float())
    players.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    players.opt_d.step()
    return {
        "discriminator": d_loss.detach(),
        "d_hr": torch.sigmoid(real_logits.detach().float()).mean(),
        "d_sr": torch.sigmoid(fake_logits.detach().float()).mean(),
    }


def generator_step(
    players: Players,
    hr_image: torch.Tensor,
    sr_image: torch.Tensor,
    content_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    adversarial_weight: float,
    autocast: contextlib.AbstractContextManager,
    ema_image: torch.Tensor | None = None,
    artifact_weight: float = 0.0,
    relativistic: bool = False,
    feature_matching_weight: float = 0.0,
) -> dict[str, torch.Tensor]:
    """One update of G on the perceptual loss l^SR = l_X^SR + 10⁻³ l_Gen^SR (Eq. 3), or on l_X alone (SRResNet).

    l_Gen^SR = −log D(G(I_LR)) (Eq. 6) is computed through the discriminator just updated by
    `discriminator_step`, so G answers the D of this step.

    Lessons: [perceptual loss](../lessons/en/06_perceptual_loss.md), [adversarial loss](../lessons/en/05_adversarial_loss.md).

    Args:
        players: G and its optimiser are updated (D's gradients are computed but never stepped here).
        hr_image: (B, 3, p, p) targets in [-1, 1].
        sr_image: (B, 3, p, p) G's output, with its graph.
        content_fn: l_X^SR, MSE (Eq. 4) or a VGG loss (Eq. 5).
        adversarial_weight: 10⁻³ in the paper.
        autocast: bf16 autocast, or a context that does nothing.
        ema_image: (B, 3, p, p) the EMA generator's output for the same LR batch, when `artifact_weight` is on.
        artifact_weight: beyond the paper: + this · LDL's artifact loss (`losses.artifact_loss`).
        relativistic: beyond the paper: ESRGAN's relativistic generator loss in place of Eq. 6
            (`losses.relativistic_adversarial_loss`), which also looks at D's logits for the HR batch.
        feature_matching_weight: beyond the paper: + this · the feature-matching loss on D's maps
            (`losses.discriminator_feature_loss`).

    Returns:
        "content", "perceptual" (the total) and, for SRGAN, "adversarial" (and "artifact", "feature_matching"),
        detached.
    """
    with autocast:
        content = content_fn(sr_image.float(), hr_image)
        terms = {"content": content.detach()}
        total = content
        if players.d_train is not None:
            fake_logits, real_logits, matching = _discriminator_views(
                players, hr_image, sr_image, need_real=relativistic, need_maps=feature_matching_weight > 0
            )
            if relativistic:  # ESRGAN: SR should look more real than the average HR
                adversarial = losses.relativistic_adversarial_loss(real_logits, fake_logits)
            else:
                adversarial = losses.adversarial_loss(fake_logits)  # Eq. 6
            total = losses.perceptual_loss(content, adversarial, weight=adversarial_weight)  # Eq. 3
            terms["adversarial"] = adversarial.detach()
            if matching is not None:
                total = total + feature_matching_weight * matching
                terms["feature_matching"] = matching.detach()
        if artifact_weight and ema_image is not None:  # LDL: no detail where it is an artifact
            weight_map = losses.artifact_map(hr_image, sr_image.detach().float(), ema_image.float())  # (B, 1, p, p)
            artifact = losses.artifact_loss(sr_image.float(), hr_image, weight_map)
            total = total + artifact_weight * artifact
            terms["artifact"] = artifact.detach()
    players.opt_g.zero_grad(set_to_none=True)
    total.backward()
    players.opt_g.step()
    return terms | {"perceptual": total.detach()}


def _discriminator_views(
    players: Players, hr_image: torch.Tensor, sr_image: torch.Tensor, *, need_real: bool, need_maps: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """What G's step needs from D: the SR logits, the HR logits (relativistic game) and the feature-matching loss.

    D runs block by block (`Discriminator.feature_maps`) and its logits come from the last map, so the SR batch
    crosses D once whatever is asked. It is the unwrapped D: G's step never updates D, so a `torchrun` job has no
    D gradients to synchronise here. The HR side never carries a gradient to G.
    """
    discriminator = players.discriminator
    sr_maps = discriminator.feature_maps(sr_image)  # 8 maps, (B, 64, p, p) ... (B, 512, p/16, p/16)
    fake_logits = discriminator.head(sr_maps[-1]).float()  # (B,)
    if not (need_real or need_maps):
        return fake_logits, None, None
    with torch.no_grad():
        hr_maps = discriminator.feature_maps(hr_image)
        real_logits = discriminator.head(hr_maps[-1]).float() if need_real else None  # (B,)
    matching = losses.discriminator_feature_loss(sr_maps, hr_maps) if need_maps else None
    return fake_logits, real_logits, matching


@torch.no_grad()
def update_ema(players: Players, decay: float) -> None:
    """θ_EMA ← decay · θ_EMA + (1 − decay) · θ_G after each G update, BatchNorm's running statistics included.

    Beyond the paper (ESRGAN and LDL ship their EMA): averaging the last few thousand updates removes the
    step-to-step jitter that a GAN's generator shows as noise, at no training cost. ESRGAN's and LDL's generators
    have no BatchNorm; SRGAN's has, so its running means and variances are averaged with the same decay: copying
    G's would pair the averaged weights with statistics of other weights (on a held-out crop: 28.4 dB against 36.2).

    Lesson: [adversarial loss, beyond the paper](../lessons/en/05_adversarial_loss.md).
    """
    for ema_p, p in zip(players.ema.parameters(), players.generator.parameters(), strict=True):
        ema_p.lerp_(p.detach(), 1 - decay)
    for ema_b, b in zip(players.ema.buffers(), players.generator.buffers(), strict=True):
        if ema_b.is_floating_point():
            ema_b.lerp_(b, 1 - decay)
        else:
            ema_b.copy_(b)  # num_batches_tracked


def learning_rate_at(config: TrainConfig, step: int) -> float:
    """The step schedule: `learning_rate` times `lr_gamma` for every milestone passed."""
    return config.learning_rate * config.lr_gamma ** sum(step >= m for m in config.lr_milestones)


def _check_finite(terms: dict[str, float], step: int, learning_rate: float) -> None:
    if not all(math.isfinite(v) for v in terms.values()):
        bad = ", ".join(k for k, v in terms.items() if not math.isfinite(v))
        raise TrainingError(
            f"training diverged at step {step} ({bad} is not a number); the learning rate "
            f"{learning_rate:g} is probably too high. The last good checkpoint was kept."
        )


@dataclass
class _Run:
    """A run directory: what `train` resumes from and saves to (state.pt, the two safetensors, log.jsonl)."""

    out_dir: Path
    players: Players
    config: TrainConfig
    recipe: dict
    save_state: bool

    @property
    def state_path(self) -> Path:
        return self.out_dir / "state.pt"

    @property
    def log_path(self) -> Path:
        return self.out_dir / "log.jsonl"

    def start(self, device: torch.device, *, resume: bool, is_main: bool) -> int:
        """Create the folder, load state.pt when resuming, and drop log lines of steps to redo; returns the step."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        step = self.resume(device) if resume else 0
        if is_main:
            _truncate_log(self.log_path, step)  # all of them on a fresh start
        return step

    def resume(self, device: torch.device) -> int:
        """Load state.pt into the players and return its step (0 if there is none)."""
        if not self.state_path.is_file():
            return 0
        state = torch.load(self.state_path, map_location=device, weights_only=True)
        p = self.players
        p.generator.load_state_dict(state["generator"])
        p.opt_g.load_state_dict(state["opt_g"])
        if p.discriminator is not None:
            p.discriminator.load_state_dict(state["discriminator"])
            p.opt_d.load_state_dict(state["opt_d"])
        if p.ema is not None:
            p.ema.load_state_dict(state.get("ema", state["generator"]))
        return int(state["step"])

    def save(self, steps_done: int, last_eval: float | None) -> None:
        """Both networks as safetensors with the recipe, and (if `save_state`) the resumable state, atomically."""
        p = self.players
        metrics = {"eval_psnr_y": last_eval} if last_eval is not None else {}
        run_recipe = {**self.recipe, "steps_done": steps_done}
        if self.save_state:
            payload = {
                "generator": p.generator.state_dict(),
                "opt_g": p.opt_g.state_dict(),
                "step": steps_done,
                "config": json.dumps(self.config.to_dict()),
            }
            if p.discriminator is not None:
                payload |= {"discriminator": p.discriminator.state_dict(), "opt_d": p.opt_d.state_dict()}
            if p.ema is not None:
                payload["ema"] = p.ema.state_dict()
            atomic_write(self.state_path, lambda tmp: torch.save(payload, tmp))
        save_checkpoint(p.generator, self.out_dir / "generator.safetensors", recipe=run_recipe, metrics=metrics)
        if p.ema is not None:  # the average is the one to ship (`python -m srgan export` takes it)
            save_checkpoint(p.ema, self.out_dir / "generator_ema.safetensors", recipe=run_recipe | {"ema": True})
        if p.discriminator is not None:
            save_checkpoint(p.discriminator, self.out_dir / "discriminator.safetensors", recipe=run_recipe)


def _recipe(
    config: TrainConfig,
    content_label: str,
    images: list,
    image_names: list[str],
    data_label: str,
    device: torch.device,
    dist: Distributed,
    amp: bool,
) -> dict:
    """What the checkpoints' metadata records about how they were trained."""
    return {
        **config.to_dict(),
        "content_loss_label": content_label,
        "data": data_label or f"{len(images)} images",
        "data_names": image_names,
        "data_fingerprint": images_fingerprint(image_names, images),
        "device": str(device),
        "world_size": dist.world_size,
        "amp": amp,
    }


def _dataset(config: TrainConfig, images: list[Image.Image]) -> PairedPatchDataset:
    try:
        return PairedPatchDataset(
            images, scale=config.generator.scale, hr_patch=config.hr_patch, augment=config.augment, seed=config.seed,
            soft_sigmas=config.soft_sigmas, soft_share=config.soft_share,
        )
    except ValueError as e:
        raise TrainingError(str(e)) from None


def _setup(config: TrainConfig, device: torch.device | str | None) -> tuple[Distributed, torch.device]:
    """Join the torchrun job (if any), check the batch splits over it, seed, and set CUDA's fast paths."""
    device = torch.device(device) if device is not None else pick_device()
    dist = Distributed.from_env(device)
    if config.batch_size % dist.world_size:
        raise TrainingError(f"batch size {config.batch_size} is not divisible by the {dist.world_size} processes")
    torch.manual_seed(config.seed)  # same seed on every rank: identical initial weights
    if dist.device.type == "cuda":
        # TF32 matrix units for fp32 convolutions and matmuls; cuDNN picks the fastest kernels per shape.
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return dist, dist.device


def train(
    config: TrainConfig,
    *,
    images: list[Image.Image],
    image_names: list[str],
    out_dir: str | Path,
    resume: bool = False,
    callback: Callable[[StepLog], None] | None = None,
    stop: threading.Event | None = None,
    device: torch.device | str | None = None,
    eval_pairs: list[tuple[Image.Image, Image.Image]] | None = None,
    progress: bool = True,
    data_label: str = "",
    amp: bool = False,
    save_state: bool = True,
    initial_discriminator: str | Path | Discriminator | None = None,
) -> Path:
    """Train one stage and return the path of the saved generator.

    Each step: G(I_LR), then `discriminator_step` (Eq. 2, SRGAN only), then `generator_step` (Eq. 3 with Eq. 6).

    Args:
        config: the stage (see `TrainConfig.preset_srresnet` / `preset_srgan`).
        images: HR training images (RGB PIL); `image_names` name them in the metadata.
        out_dir: run directory (created). With `resume=True`, continues from `out_dir/state.pt`.
        callback: called after every step with a `StepLog` (the app draws its curves from these).
        stop: when set, the loop saves a checkpoint and returns at the end of the current step.
        device: defaults to `pick_device()` (cuda > mps > cpu).
        eval_pairs: (LR, HR) pairs for the held-out PSNR-Y curve every `eval_every` steps.
        progress: show a tqdm progress bar.
        amp: bf16 autocast for the forward passes (mixed precision; meant for CUDA).
        save_state: write `state.pt` (weights and optimiser moments, what `resume` reads) at every checkpoint.
            The app's fine-tunes never resume, and for SRGAN the file is about 300 MB: they pass False.
        initial_discriminator: SRGAN only: start D from these weights (see `build_players`).

    Raises:
        TrainingError: a loss became NaN/inf (nothing is saved from that step), or bad data.
    """
    dist, device = _setup(config, device)
    dataset = _dataset(config, images)
    players = build_players(config, device, dist, initial_discriminator=initial_discriminator)
    content_fn, content_label = _content_loss_fn(config, device)
    recipe = _recipe(config, content_label, images, image_names, data_label, device, dist, amp)
    run = _Run(Path(out_dir), players, config, recipe, save_state)
    step = run.start(device, resume=resume, is_main=dist.is_main)
    dist.barrier()  # no rank starts before rank 0 has tidied the log

    bar = _progress_bar(config, step) if progress and dist.is_main else None
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)
    clock = (time.perf_counter(), step)  # (start time, steps done at the start): steps/s of this session
    last_eval: float | None = None
    with open(run.log_path, "a") if dist.is_main else contextlib.nullcontext() as log:
        while step < config.steps:
            learning_rate = learning_rate_at(config, step)
            players.set_learning_rate(learning_rate)
            per_rank = config.batch_size // dist.world_size
            lr_image, hr_image = dataset.batch(step, per_rank, rank=dist.rank, world_size=dist.world_size)
            raw = training_step(players, lr_image.to(device), hr_image.to(device), content_fn, config, autocast)
            terms = dist.mean_over_ranks(raw)  # every rank gets the same numbers, so all stop together on NaN
            d_hr, d_sr = terms.pop("d_hr", None), terms.pop("d_sr", None)
            _check_finite(terms, step + 1, learning_rate)
            step += 1
            if not dist.is_main:
                continue
            speed = (step - clock[1]) / max(time.perf_counter() - clock[0], 1e-9)
            entry = StepLog(step, config.steps, terms, d_hr, d_sr, learning_rate, speed)
            if eval_pairs and (step % config.eval_every == 0 or step == config.steps):
                last_eval = _evaluate_into(entry, players.generator, eval_pairs, device)
            _report(entry, log, bar, callback, last_eval)
            stopping = stop is not None and stop.is_set()
            if step % config.checkpoint_every == 0 or step == config.steps or stopping:
                run.save(step, last_eval)
            if stopping:
                break
    dist.barrier()  # the other ranks wait for rank 0's last checkpoint
    if bar is not None:
        bar.close()
    return run.out_dir / "generator.safetensors"


def training_step(
    players: Players,
    lr_image: torch.Tensor,
    hr_image: torch.Tensor,
    content_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    config: TrainConfig,
    autocast: contextlib.AbstractContextManager,
) -> dict[str, torch.Tensor]:
    """One step of the game (§2.2): G(I_LR), then `discriminator_step` (Eq. 2, SRGAN only), then `generator_step`.

    Args:
        players: both networks and their optimisers (and the EMA, updated last).
        lr_image: (B, 3, p/r, p/r) in [0, 1]; hr_image: (B, 3, p, p) in [-1, 1].
        content_fn, config, autocast: as for `generator_step`.

    Returns:
        Every term of the step, detached (see the two updates).
    """
    lr_image = lr_image.contiguous(memory_format=torch.channels_last)
    hr_image = hr_image.contiguous(memory_format=torch.channels_last)
    with autocast:
        sr_image = players.g_train(lr_image)  # (B, 3, p, p)
    terms = {}
    if players.d_train:
        terms = discriminator_step(players, hr_image, sr_image, autocast=autocast, relativistic=config.relativistic)
    ema_image = _ema_output(players, lr_image, config, autocast)
    terms |= generator_step(
        players,
        hr_image,
        sr_image,
        content_fn,
        adversarial_weight=config.adversarial_weight,
        autocast=autocast,
        ema_image=ema_image,
        artifact_weight=config.artifact_weight,
        relativistic=config.relativistic,
        feature_matching_weight=config.feature_matching_weight,
    )
    if players.ema is not None:
        update_ema(players, config.ema_decay)
    return terms


def _ema_output(players: Players, lr_image: torch.Tensor, config: TrainConfig, autocast) -> torch.Tensor | None:
    """The EMA generator's SR batch, which LDL's artifact map compares with G's (None when the loss is off)."""
    if players.ema is None or not config.artifact_weight:
        return None
    with torch.no_grad(), autocast:
        return players.ema(lr_image)  # (B, 3, p, p)


def _evaluate_into(entry: StepLog, generator: Generator, pairs: list, device: torch.device) -> float:
    """The held-out PSNR-Y and checkerboard figure into the step's log line; returns the PSNR-Y."""
    scores = evaluate_heldout(generator, pairs, device)
    entry.eval_psnr_y = scores["psnr_y"]
    entry.extra["eval_grid"] = scores["grid"]
    return scores["psnr_y"]


def _progress_bar(config: TrainConfig, step: int):
    from tqdm import tqdm

    return tqdm(total=config.steps, initial=step, desc=config.preset, unit="step", dynamic_ncols=True)


def _report(entry: StepLog, log, bar, callback: Callable[[StepLog], None] | None, last_eval: float | None) -> None:
    """A step's line in log.jsonl, the progress bar's figures, and the caller's callback."""
    log.write(entry.to_json() + "\n")
    log.flush()
    if bar is not None:
        bar.update(1)
        shown = {k: f"{v:.4g}" for k, v in entry.losses.items()}
        bar.set_postfix(shown | ({"psnr_y": f"{last_eval:.2f}"} if last_eval else {}))
    if callback is not None:
        callback(entry)


def _truncate_log(log_path: Path, step: int) -> None:
    """Drop log lines past the resumed step (they belong to steps that will be redone)."""
    if not log_path.is_file():
        return
    keep = [line for line in log_path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    atomic_write(log_path, lambda tmp: Path(tmp).write_text("".join(k + "\n" for k in keep)))


def read_log(out_dir: str | Path) -> list[dict]:
    """The run's log.jsonl as a list of dicts (empty if none)."""
    path = Path(out_dir) / "log.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
