"""Stage 3: refit the SRGAN discriminator against the frozen bundled generator.

    .venv/bin/python tools/refit_discriminator.py --steps 500 --out train_runs/d_refit --resume \
        --publish assets/weights/srgan_x4_discriminator.safetensors

(`--init bundled`, the default, starts from the bundled stage-2 discriminator, as `tools/train_demo_weights.sh`
exports it just before; once the bundled file is a refit, a new run names the stage-2 file with `--init`.)

Paper: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network", CVPR 2017 (arXiv 1609.04802). The discriminator D_θD (Fig. 4) is trained to maximise
log D(I^HR) + log(1 − D(G(I^LR))) (Eq. 2); we minimise the equivalent binary cross-entropy with logits,
`srgan.losses.discriminator_loss`.

**Deviation from the paper.** The paper trains D only alongside G (stage 2). Here D is trained *again*, with
the bundled SRGAN generator frozen, because the jointly-trained D, fed 11 photos for 6,800 steps, memorised
them: it tells HR from SR on the training photos and not on photos it never saw. What it learnt there was
mostly "more fine texture = real": on brick, grass and gravel HR has more texture than SR, on the soft
held-out faces SRGAN adds texture that HR lacks. This stage removes that shortcut from the data:

- a **bank of (HR', SR') image pairs** from the training photos only. Each photo at several scales
  (an antialiased downscale of a photo is still a natural photo, with more detail per pixel), each also
  softened by a slight Gaussian blur (so "soft" does not mean "fake"); LR = bicubic x4 downsample of HR',
  SR' = the frozen generator's output, 8-bit like everything the app shows. Computed once, cached.
- **aligned crops**: the HR and SR crops of a mini-batch come from the same places of the same pairs,
  with the same of the 8 square symmetries, so the content carries no label; only what G does to it does
  (its period-4 grid, its invented textures).
- HR and SR crops go through D in **one forward pass**, so BatchNorm normalises them with the same
  statistics and D cannot separate them by batch statistics (which eval mode would not reproduce).
- **model selection without the held-out photos**: `--validation` photos (default china, rocket) are taken
  out of the bank and scored every `--eval-every` steps with the protocol of `benchmarks/discriminator_check.py`.
  The held-out figures are measured once, by `--publish`, and only recorded.

The run directory holds `state.pt` (D, Adam, step: resumes exactly, checkpointed atomically), `log.jsonl`
(one line per step; validation adds `val_*`), `bank.pt` (the cached pairs) and `discriminator.safetensors`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from PIL import Image, ImageFilter

from srgan import losses
from srgan.checkpoints import atomic_write, load_checkpoint, load_discriminator, resolve, save_checkpoint
from srgan.cli import OneLineParser
from srgan.config import SCALE, DiscriminatorConfig
from srgan.data import (
    HELD_OUT,
    bicubic_downsample,
    builtin_image_paths,
    centre_crop,
    folder_image_paths,
    load_rgb,
    mod_crop,
    pil_to_tensor,
)
from srgan.evaluate import discriminator_pair_accuracy, patches
from srgan.models import Discriminator

EVAL_SIDE = 480  # centre-crop side of the validation photos (as in benchmarks/discriminator_check.py)


@dataclass
class RefitConfig:
    """Everything that defines a refit run (recorded in the checkpoint's metadata).

    Attributes:
        steps: total discriminator updates.
        batch_size: HR crops per step (as many SR crops: 2 x batch_size images per forward pass).
        patch: side of the crops (96, the paper's).
        learning_rate: Adam's step size (constant).
        beta1: Adam's β1 (0.9, §3.2).
        scales: downscale factors applied to each training photo before making its pair.
        blurs: Gaussian blur radii (HR' pixels; 0 = none) applied after the downscale.
        jpeg_qualities: extra unblurred copies re-encoded as JPEG at these qualities.
        max_side: centre-crop each HR' to at most this side (bounds the bank's size).
        validation: photos left out of the bank and used to pick hyper-parameters.
        init: "fresh" (PyTorch's init), "bundled" (the stage-2 discriminator) or a checkpoint path.
        generator: the frozen generator (bundled name or path).
        channels, dense_features: the discriminator's width (Fig. 4: 64, 1024).
        seed: seeds the initial weights and every mini-batch (a pure function of seed and step).
    """

    steps: int = 500
    batch_size: int = 16
    patch: int = 96
    learning_rate: float = 1e-4
    beta1: float = 0.9
    scales: list[float] = field(default_factory=lambda: [1.0, 0.75, 0.55, 0.4])
    blurs: list[float] = field(default_factory=lambda: [0.0, 0.7])
    jpeg_qualities: list[int] = field(default_factory=list)
    max_side: int = 768
    validation: list[str] = field(default_factory=lambda: ["china", "rocket"])
    init: str = "bundled"
    generator: str = "srgan"
    channels: int = 64
    dense_features: int = 1024
    seed: int = 0
    data: str = "builtin"
    eval_every: int = 50
    checkpoint_every: int = 25

    def bank_key(self) -> str:
        """A short digest of everything the bank depends on (a changed recipe rebuilds it)."""
        parts = [
            self.scales,
            self.blurs,
            self.jpeg_qualities,
            self.max_side,
            self.validation,
            self.data,
            str(resolve(self.generator).resolve()),
            resolve(self.generator).stat().st_size,
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


@dataclass
class Bank:
    """The (HR', SR') pairs, as uint8 tensors (3, H, W), and the validation patches.

    Attributes:
        hr, sr: aligned training pairs, same size each.
        photo: index of the source photo of each pair (mini-batches draw photos uniformly).
        names: the source photos' names.
        val_hr, val_sr: (N, 3, p, p) uint8 non-overlapping patches of the validation photos.
        description: one line per pair (photo, scale, blur, JPEG quality, size).
    """

    hr: list[torch.Tensor]
    sr: list[torch.Tensor]
    photo: list[int]
    names: list[str]
    val_hr: torch.Tensor
    val_sr: torch.Tensor
    description: list[str]


def _uint8(image: Image.Image) -> torch.Tensor:
    return (pil_to_tensor(image) * 255).round().to(torch.uint8)  # (3, H, W)


def training_photos(data: str) -> dict[str, Path]:
    """The photos a refit may use: the built-in training split (never `HELD_OUT`) or a folder's images.

    Args:
        data: "builtin" or a folder.

    Returns:
        name -> path (a folder's images are named by their stem).
    """
    if data == "builtin":
        return builtin_image_paths(split="train")
    return {p.stem: p for p in folder_image_paths(data)}


def degraded_variant(photo: Image.Image, *, scale: float, blur: float, jpeg: int, max_side: int) -> Image.Image:
    """One HR' image: the photo downscaled (antialiased bicubic), centre-cropped, blurred, JPEG-encoded.

    Args:
        photo: RGB photo.
        scale: downscale factor in (0, 1].
        blur: Gaussian blur radius in pixels of the downscaled image (0: none).
        jpeg: JPEG quality (0: none).
        max_side: centre-crop to at most this side.

    Returns:
        An RGB image whose sides are multiples of 4 (mod-cropped).
    """
    w, h = photo.size
    image = photo if scale == 1 else photo.resize((round(w * scale), round(h * scale)), Image.Resampling.BICUBIC)
    image = centre_crop(image, max_side)
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if jpeg > 0:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=jpeg)
        image = Image.open(buffer).convert("RGB")
    return mod_crop(image, SCALE)


def build_bank(config: RefitConfig, *, log: bool = True) -> Bank:
    """Make the (HR', SR') pairs with the frozen generator (slow: every variant goes through G once).

    Args:
        config: the recipe (scales, blurs, JPEG qualities, validation photos, generator).
        log: print one line per photo.

    Returns:
        The bank; raises ValueError if no photo is left for training or a variant is smaller than a patch.
    """
    from srgan.engine.inference import upscaler_for

    upscale = upscaler_for(config.generator)
    photos = training_photos(config.data)
    train_names = [n for n in photos if n not in config.validation]
    if not train_names:
        raise ValueError("no training photo is left once the validation photos are taken out")
    hr, sr, photo_index, description = [], [], [], []
    variants = [(s, b, 0) for s in config.scales for b in config.blurs]
    variants += [(s, 0.0, q) for s in config.scales for q in config.jpeg_qualities]
    for k, name in enumerate(train_names):
        photo = load_rgb(photos[name])
        for scale, blur, jpeg in variants:
            image = degraded_variant(photo, scale=scale, blur=blur, jpeg=jpeg, max_side=config.max_side)
            if min(image.size) < config.patch:
                continue  # too small at this scale
            hr.append(_uint8(image))
            sr.append(_uint8(upscale(bicubic_downsample(image, SCALE))))
            photo_index.append(k)
            description.append(f"{name} scale={scale} blur={blur} jpeg={jpeg} {image.size[0]}x{image.size[1]}")
        if log:
            print(f"bank: {name} done ({len(hr)} pairs)", flush=True)
    if not hr:
        raise ValueError(f"every variant is smaller than the {config.patch}px patch")
    val_hr, val_sr = [], []
    for name in config.validation:
        image = mod_crop(centre_crop(load_rgb(photos[name]), EVAL_SIDE), config.patch)
        val_hr.append(patches(_uint8(image), config.patch))
        val_sr.append(patches(_uint8(upscale(bicubic_downsample(image, SCALE))), config.patch))
    empty = torch.empty(0, 3, config.patch, config.patch, dtype=torch.uint8)
    return Bank(
        hr=hr,
        sr=sr,
        photo=photo_index,
        names=train_names,
        val_hr=torch.cat(val_hr) if val_hr else empty,
        val_sr=torch.cat(val_sr) if val_sr else empty,
        description=description,
    )


def load_or_build_bank(config: RefitConfig, out_dir: Path) -> Bank:
    """The cached bank of `out_dir/bank.pt` if it was built with this recipe, else a new one (then cached)."""
    path, key = out_dir / "bank.pt", config.bank_key()
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        if cached.get("key") == key:
            return Bank(**cached["bank"])
    bank = build_bank(config)
    atomic_write(path, lambda tmp: torch.save({"key": key, "bank": asdict(bank)}, tmp))
    return bank


def batch_at(bank: Bank, step: int, config: RefitConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The mini-batch of a step: aligned (HR, SR) crops in [-1, 1], a pure function of (seed, step).

    Args:
        bank: the pairs.
        step: the step (0-based).
        config: batch size, patch and seed.

    Returns:
        (hr, sr), each (B, 3, p, p); crop k of both comes from the same place of the same pair, with the same
        one of the 8 symmetries of the square.
    """
    g = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    photos = torch.tensor(bank.photo)
    hr_crops, sr_crops, p = [], [], config.patch
    for _ in range(config.batch_size):
        k = int(torch.randint(0, len(bank.names), (1,), generator=g))  # every photo equally likely
        candidates = torch.nonzero(photos == k).flatten()
        i = int(candidates[int(torch.randint(0, len(candidates), (1,), generator=g))])
        _, h, w = bank.hr[i].shape
        y, x = int(torch.randint(0, h - p + 1, (1,), generator=g)), int(torch.randint(0, w - p + 1, (1,), generator=g))
        rot, flip = int(torch.randint(0, 4, (1,), generator=g)), bool(torch.randint(0, 2, (1,), generator=g))
        for source, crops in ((bank.hr[i], hr_crops), (bank.sr[i], sr_crops)):
            crop = source[:, y : y + p, x : x + p].rot90(rot, (1, 2))  # (3, p, p)
            crops.append(crop.flip(2) if flip else crop)
    return torch.stack(hr_crops).float() / 127.5 - 1, torch.stack(sr_crops).float() / 127.5 - 1  # (B, 3, p, p)


@torch.inference_mode()
def validate(discriminator: Discriminator, bank: Bank) -> dict[str, float]:
    """D in eval mode on the validation patches: pair accuracy (D(HR) > D(SR)) and mean D(HR), D(SR).

    Args:
        discriminator: left in the mode it was in.
        bank: its `val_hr`, `val_sr` patches.

    Returns:
        {"val_accuracy", "val_d_hr", "val_d_sr", "val_pairs"}; empty without validation photos.
    """
    if not len(bank.val_hr):
        return {}
    was_training = discriminator.training
    discriminator.eval()
    d_hr = torch.sigmoid(discriminator(bank.val_hr.float() / 127.5 - 1))  # (N,)
    d_sr = torch.sigmoid(discriminator(bank.val_sr.float() / 127.5 - 1))  # (N,)
    discriminator.train(was_training)
    return {
        "val_accuracy": round(float((d_hr > d_sr).float().mean()), 4),
        "val_d_hr": round(float(d_hr.mean()), 4),
        "val_d_sr": round(float(d_sr.mean()), 4),
        "val_pairs": len(d_hr),
    }


def initial_discriminator(config: RefitConfig) -> tuple[Discriminator, str]:
    """A `Discriminator` of the configured width: fresh (seeded) or loaded from `config.init`.

    Returns:
        (model, the sha256 of the weights it starts from: "" when fresh).

    Raises:
        ValueError: `init="bundled"` while the bundled discriminator is already a stage-3 refit (a refit starts
            from the stage-2 discriminator: name its file, e.g. train_runs/srgan_x4/discriminator.safetensors).
    """
    torch.manual_seed(config.seed)
    model = Discriminator.from_config(
        DiscriminatorConfig(channels=config.channels, dense_features=config.dense_features)
    )
    if config.init == "fresh":
        return model, ""
    state, meta = load_checkpoint(resolve("srgan_discriminator" if config.init == "bundled" else config.init))
    if config.init == "bundled" and str(meta.get("recipe", {}).get("stage", "")).startswith("3"):
        raise ValueError(
            "the bundled discriminator is already a stage-3 refit; pass --init with the stage-2 "
            "discriminator (e.g. train_runs/srgan_x4/discriminator.safetensors)"
        )
    model.load_state_dict(state)
    return model, meta.get("sha256", "")


@dataclass
class RefitState:
    """What `state.pt` holds between processes: D, Adam, the step, the validation so far, the time spent.

    Attributes:
        discriminator, optimiser: the model in train mode and its Adam.
        step: updates done.
        last_val: the last `validate` figures ({} before the first).
        best: {"val_accuracy", "step"} of the best validation so far.
        elapsed: training seconds before this process (a resumed run's log continues its clock).
        init_sha256: the sha256 of the weights the run started from ("" when fresh).
    """

    discriminator: Discriminator
    optimiser: torch.optim.Optimizer
    step: int = 0
    last_val: dict = field(default_factory=dict)
    best: dict = field(default_factory=lambda: {"val_accuracy": -1.0, "step": 0})
    elapsed: float = 0.0
    init_sha256: str = ""


def refit(config: RefitConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True) -> Path:
    """Train the discriminator on the bank and return `out_dir/discriminator.safetensors` (fp32).

    Args:
        config: the recipe.
        out_dir: run directory (created); `state.pt` is written atomically every `checkpoint_every` steps.
        resume: continue from `out_dir/state.pt` (the same batches follow: the run ends as if never stopped).
        progress: print a line every 10 steps.

    Returns:
        The path of the discriminator checkpoint (its metadata has the recipe and the last validation).

    Raises:
        RuntimeError: the loss became NaN or infinite (the last checkpoint is kept).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bank = load_or_build_bank(config, out_dir)
    state_path, log_path = out_dir / "state.pt", out_dir / "log.jsonl"
    run = start_or_resume(config, state_path, log_path, resume=resume)
    recipe = _recipe(config, bank, run.init_sha256)
    t0, start = time.perf_counter(), run.step

    def save() -> None:
        _save(run, config, out_dir, recipe, seconds=run.elapsed + time.perf_counter() - t0)

    with open(log_path, "a") as log:
        while run.step < config.steps:
            entry = train_step(run, bank, config)
            entry["seconds"] = round(run.elapsed + time.perf_counter() - t0, 1)
            if run.step % config.eval_every == 0 or run.step == config.steps:
                run.last_val = validate(run.discriminator, bank)
                entry |= run.last_val
                if run.last_val and run.last_val["val_accuracy"] > run.best["val_accuracy"]:
                    run.best = {"val_accuracy": run.last_val["val_accuracy"], "step": run.step}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            if progress and (run.step % 10 == 0 or run.step == config.steps):
                rate = (run.step - start) / max(time.perf_counter() - t0, 1e-9)
                print(
                    f"step {run.step}/{config.steps} loss {entry['loss']:.4f} D(HR) {entry['d_hr']:.3f} "
                    f"D(SR) {entry['d_sr']:.3f} {rate:.2f} steps/s {run.last_val}",
                    flush=True,
                )
            if run.step % config.checkpoint_every == 0 or run.step == config.steps:
                save()
    if not state_path.is_file() or int(torch.load(state_path, weights_only=True)["step"]) != run.step:
        save()
    return out_dir / "discriminator.safetensors"


def start_or_resume(config: RefitConfig, state_path: Path, log_path: Path, *, resume: bool) -> RefitState:
    """The run's starting point: fresh from `config.init`, or (with `resume` and a `state.pt`) where it stopped.

    A fresh run deletes an old `log.jsonl`; a resumed one keeps the log's lines up to its step.

    Raises:
        ValueError: `state.pt` was written by another recipe (only steps, eval_every, checkpoint_every may change).
    """
    resuming = resume and state_path.is_file()
    if resuming:  # the weights come from the state below
        discriminator = Discriminator.from_config(DiscriminatorConfig(config.channels, config.dense_features))
        init_sha256 = ""
    else:
        discriminator, init_sha256 = initial_discriminator(config)
    discriminator.train()
    optimiser = torch.optim.Adam(discriminator.parameters(), lr=config.learning_rate, betas=(config.beta1, 0.999))
    run = RefitState(discriminator, optimiser, init_sha256=init_sha256)
    if resuming:
        _load_state(run, config, state_path)
        lines = log_path.read_text().splitlines() if log_path.is_file() else []
        kept = "".join(line + "\n" for line in lines if line and json.loads(line)["step"] <= run.step)
        atomic_write(log_path, lambda tmp: Path(tmp).write_text(kept))
    elif log_path.exists():
        log_path.unlink()
    return run


def _load_state(run: RefitState, config: RefitConfig, state_path: Path) -> None:
    """Load `state.pt` into `run`, after checking it was written by the same recipe."""
    state = torch.load(state_path, weights_only=True)
    run_only = ("steps", "eval_every", "checkpoint_every")  # may change between the run and its resumption
    written = {k: v for k, v in json.loads(state["config"]).items() if k not in run_only}
    if written != {k: v for k, v in asdict(config).items() if k not in run_only}:
        raise ValueError(f"{state_path} was written by another recipe; use another --out or drop --resume")
    run.discriminator.load_state_dict(state["discriminator"])
    run.optimiser.load_state_dict(state["optimiser"])
    run.step, run.last_val, run.best = int(state["step"]), json.loads(state["last_val"]), json.loads(state["best"])
    run.elapsed = float(state["seconds"])  # training time before this process
    run.init_sha256 = state.get("init_sha256", "")


def _recipe(config: RefitConfig, bank: Bank, init_sha256: str) -> dict:
    """The checkpoint's recipe: the config, the bank, and the weights the run depends on."""
    return {
        "stage": "3: discriminator refit against the frozen generator (tools/refit_discriminator.py)",
        **asdict(config),
        "bank_pairs": len(bank.hr),
        "bank_photos": bank.names,
        "generator_sha256": load_checkpoint(resolve(config.generator))[1].get("sha256", ""),
        "init_sha256": init_sha256,
    }


def train_step(run: RefitState, bank: Bank, config: RefitConfig) -> dict:
    """One update of D on the mini-batch of `run.step` (Eq. 2); returns the log entry's step, loss, D(HR), D(SR).

    Raises:
        RuntimeError: the loss is NaN or infinite (D is left as it was).
    """
    hr, sr = batch_at(bank, run.step, config)
    logits = run.discriminator(torch.cat([hr, sr]))  # one pass: HR and SR share the BatchNorm statistics
    real, fake = logits[: len(hr)], logits[len(hr) :]
    loss = losses.discriminator_loss(real, fake)  # Eq. 2
    if not math.isfinite(float(loss.detach())):
        raise RuntimeError(f"the loss is not a number at step {run.step + 1}; lower --learning-rate")
    run.optimiser.zero_grad(set_to_none=True)
    loss.backward()
    run.optimiser.step()
    run.step += 1
    return {
        "step": run.step,
        "loss": round(float(loss.detach()), 5),
        "d_hr": round(float(torch.sigmoid(real.detach()).mean()), 4),
        "d_sr": round(float(torch.sigmoid(fake.detach()).mean()), 4),
    }


def _save(run: RefitState, config: RefitConfig, out_dir: Path, recipe: dict, *, seconds: float) -> None:
    """Checkpoint atomically: `state.pt` (to resume) and `discriminator.safetensors` (the weights, with the recipe)."""
    payload = {
        "discriminator": run.discriminator.state_dict(),
        "optimiser": run.optimiser.state_dict(),
        "step": run.step,
        "config": json.dumps(asdict(config)),
        "last_val": json.dumps(run.last_val),
        "best": json.dumps(run.best),
        "seconds": seconds,
        "init_sha256": run.init_sha256,
    }
    atomic_write(out_dir / "state.pt", lambda tmp: torch.save(payload, tmp))
    save_checkpoint(
        run.discriminator,
        out_dir / "discriminator.safetensors",
        recipe={**recipe, "steps_done": run.step},
        metrics={"validation": run.last_val},
    )


@torch.inference_mode()
def publish(run_checkpoint: Path, dest: Path, *, wall_time_s: float | None = None, dense_rank: int = 128) -> dict:
    """Write the run's discriminator as fp16 to `dest`, with its held-out and train figures in the metadata.

    The figures are measured on the weights as stored (what `load_pretrained_discriminator` gives back): fp16,
    and the dense layer at rank `dense_rank` (`srgan.checkpoints.low_rank_factors`); the held-out figure of
    the full-rank fp16 layer is recorded beside them, so the cost of the compression is on record.

    Args:
        run_checkpoint: the fp32 `discriminator.safetensors` of a run.
        dest: e.g. assets/weights/srgan_x4_discriminator.safetensors.
        wall_time_s: the training wall time, recorded in the recipe.
        dense_rank: the stored rank of the 1024 x 18432 dense layer; 0 stores it whole (47 MB instead of 14).

    Returns:
        The metrics written.
    """
    model, meta = load_discriminator(run_checkpoint)
    recipe = {**meta.get("recipe", {}), "previous_heldout_accuracy_vs_srgan": 0.5}
    if wall_time_s is not None:
        recipe["wall_time_s"] = round(wall_time_s)
    rank = dense_rank or None
    save_checkpoint(model, dest, recipe=recipe, half=True)
    full_rank = discriminator_pair_accuracy(load_discriminator(dest)[0], "heldout")  # fp16, whole dense layer
    save_checkpoint(model, dest, recipe=recipe, half=True, dense_rank=rank)
    stored, _ = load_discriminator(dest)  # the weights as stored: fp16, and the dense layer at `rank`
    metrics = {
        "heldout": discriminator_pair_accuracy(stored, "heldout"),
        "train": discriminator_pair_accuracy(stored, "train"),
        "heldout_full_rank": full_rank,
        "heldout_images": list(HELD_OUT),
        "validation": meta.get("metrics", {}).get("validation", {}),
        "protocol": "benchmarks/discriminator_check.py: non-overlapping 96x96 patches of 480-px centre "
        "crops; accuracy = share of (HR, SR) patch pairs with D(HR) > D(SR)",
    }
    save_checkpoint(model, dest, recipe=recipe, metrics=metrics, half=True, dense_rank=rank)
    return metrics


def plot_curves(out_dir: str | Path, dest: str | Path) -> None:
    """Draw the run's curves as a PNG: the loss, and D(HR), D(SR) on the mini-batches and on the validation photos.

    Args:
        out_dir: the run directory (its log.jsonl).
        dest: the PNG to write (atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = [json.loads(line) for line in (Path(out_dir) / "log.jsonl").read_text().splitlines() if line.strip()]
    steps = [e["step"] for e in log]

    def smooth(key: str, k: int = 20) -> list[float]:  # the trailing mean over k steps
        return [
            sum(e[key] for e in log[max(0, i - k + 1) : i + 1]) / len(log[max(0, i - k + 1) : i + 1])
            for i in range(len(log))
        ]

    val = [e for e in log if "val_accuracy" in e]
    fig, (ax_loss, ax_d, ax_val) = plt.subplots(1, 3, figsize=(14, 3.8))
    ax_loss.plot(steps, [e["loss"] for e in log], color="0.8", lw=0.8, label="per step")
    ax_loss.plot(steps, smooth("loss"), color="C0", label="mean of 20 steps")
    ax_loss.axhline(2 * math.log(2), color="0.5", ls=":", lw=1, label="chance (2 ln 2)")
    ax_loss.set(title="discriminator loss (Eq. 2), training batches", xlabel="step")
    ax_loss.legend(fontsize=8)
    ax_d.plot(steps, smooth("d_hr"), color="C2", label="D(HR')")
    ax_d.plot(steps, smooth("d_sr"), color="C3", label="D(SR')")
    ax_d.set(title="training batches (train mode, mean of 20 steps)", xlabel="step", ylim=(0, 1))
    ax_d.legend(fontsize=8)
    if val:
        vs = [e["step"] for e in val]
        ax_val.plot(vs, [e["val_d_hr"] for e in val], "o-", color="C2", label="D(HR)")
        ax_val.plot(vs, [e["val_d_sr"] for e in val], "o-", color="C3", label="D(SR)")
        ax_val.plot(vs, [e["val_accuracy"] for e in val], "s-", color="k", label="pair accuracy")
        ax_val.axhline(0.5, color="0.5", ls=":", lw=1)
    ax_val.set(title="validation photos (china, rocket; eval mode)", xlabel="step", ylim=(0, 1))
    ax_val.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(Path(dest), lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)


def _comma_list(kind: type, what: str):
    """An argparse type: "1,0.75,0.5" -> [1.0, 0.75, 0.5] with `kind` for each item, one clear error otherwise."""

    def parse(text: str) -> list:
        try:
            return [kind(t) for t in text.split(",") if t.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None

    return parse


_floats, _ints = _comma_list(float, "numbers"), _comma_list(int, "integers")


def parse_args(argv: Sequence[str] | None) -> tuple[RefitConfig, argparse.Namespace]:
    """The command line -> (RefitConfig, the other options). Bad values exit 2 with one line."""
    ap = _parser(RefitConfig())
    a = ap.parse_args(argv)
    validation = _checked_args(ap, a)
    config = RefitConfig(
        steps=a.steps,
        batch_size=a.batch_size,
        patch=a.patch,
        learning_rate=a.learning_rate,
        scales=a.scales,
        blurs=a.blurs,
        jpeg_qualities=a.jpeg,
        max_side=a.max_side,
        validation=validation,
        init=a.init,
        generator=a.generator,
        channels=a.channels,
        dense_features=a.dense_features,
        seed=a.seed,
        data=a.data,
        eval_every=a.eval_every,
        checkpoint_every=a.checkpoint_every,
    )
    return config, a


def _parser(d: RefitConfig) -> argparse.ArgumentParser:
    """The command line's options, with `d`'s values as defaults."""
    ap = OneLineParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=d.steps)
    ap.add_argument("--batch-size", type=int, default=d.batch_size, help="HR crops per step (as many SR)")
    ap.add_argument("--patch", type=int, default=d.patch)
    ap.add_argument("--learning-rate", type=float, default=d.learning_rate)
    ap.add_argument(
        "--scales", type=_floats, default=d.scales, help="downscale factors in (0, 1], e.g. 1,0.75,0.55,0.4"
    )
    ap.add_argument("--blurs", type=_floats, default=d.blurs, help="Gaussian blur radii, 0 = none, e.g. 0,0.7")
    ap.add_argument("--jpeg", type=_ints, default=d.jpeg_qualities, help="extra JPEG copies at these qualities")
    ap.add_argument("--max-side", type=int, default=d.max_side)
    ap.add_argument("--validation", default=",".join(d.validation), help="training photos kept for validation")
    ap.add_argument("--init", default=d.init, help="'fresh', 'bundled' or a discriminator checkpoint")
    ap.add_argument("--generator", default=d.generator, help="the frozen generator (bundled name or checkpoint)")
    ap.add_argument("--channels", type=int, default=d.channels)
    ap.add_argument("--dense-features", type=int, default=d.dense_features)
    ap.add_argument("--data", default=d.data, help="'builtin' (the training split) or a folder of images")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--eval-every", type=int, default=d.eval_every)
    ap.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    ap.add_argument("--out", default="train_runs/d_refit", help="run directory")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    ap.add_argument("--publish", default="", help="then write the fp16 discriminator here, with its figures")
    ap.add_argument("--dense-rank", type=int, default=128,
                    help="--publish stores the dense layer at this rank (0: whole, 47 MB instead of 14)")
    ap.add_argument("--plot", default="", help="then draw the curves to this PNG")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--quiet", action="store_true")
    return ap


_POSITIVE = ("steps", "batch_size", "patch", "max_side", "channels", "dense_features", "eval_every", "checkpoint_every")


def _checked_args(ap: argparse.ArgumentParser, a: argparse.Namespace) -> list[str]:
    """Check the parsed values (`ap.error`, exit 2, on the first bad one); returns the validation photos."""
    for name in _POSITIVE:
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(a, name)}")
    if a.dense_rank < 0 or (a.publish and a.dense_rank > a.dense_features):
        ap.error(f"--dense-rank must be 0 (whole) to --dense-features ({a.dense_features}), got {a.dense_rank}")
    if not (0 < a.learning_rate < 1):
        ap.error(f"--learning-rate must be in (0, 1), got {a.learning_rate}")
    if not a.scales or any(not 0 < s <= 1 for s in a.scales):
        ap.error(f"--scales must be numbers in (0, 1], got {a.scales}")
    if not a.blurs or any(b < 0 for b in a.blurs):
        ap.error(f"--blurs must be non-negative numbers, got {a.blurs}")
    if any(not 1 <= q <= 100 for q in a.jpeg):
        ap.error(f"--jpeg qualities must be in 1..100, got {a.jpeg}")
    if a.init not in ("fresh", "bundled") and not Path(a.init).is_file():
        ap.error(f"--init must be 'fresh', 'bundled' or a checkpoint file, got {a.init!r}")
    if a.data != "builtin" and not Path(a.data).is_dir():
        ap.error(f"--data must be 'builtin' or a folder, got {a.data!r}")
    validation = [v.strip() for v in a.validation.split(",") if v.strip()]
    photos = training_photos(a.data)
    unknown = [v for v in validation if v not in photos]
    if unknown:
        ap.error(f"--validation names {unknown} are not training photos (choose from {', '.join(photos)})")
    try:
        resolve(a.generator)
    except ValueError as e:
        ap.error(str(e))
    return validation


def main(argv: Sequence[str] | None = None) -> int:
    """Refit (or resume), then optionally publish. Returns the exit status."""
    config, a = parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    try:
        checkpoint = refit(config, a.out, resume=a.resume, progress=not a.quiet)
    except (ValueError, RuntimeError) as e:
        print(f"refit_discriminator.py: error: {e}", file=sys.stderr)
        return 1
    log = [json.loads(line) for line in (Path(a.out) / "log.jsonl").read_text().splitlines() if line.strip()]
    if a.plot:
        plot_curves(a.out, a.plot)
    if a.publish:
        wall = log[-1]["seconds"] if log else time.perf_counter() - t0
        print(json.dumps(publish(checkpoint, Path(a.publish), wall_time_s=wall, dense_rank=a.dense_rank), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
