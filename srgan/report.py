"""Figures for the model card: training curves of both stages and a side-by-side crop.

python -m srgan report --runs train_runs/srresnet_x4 train_runs/srgan_x4 --out assets/weights
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from .training import read_log

TERMS = ("content", "adversarial", "discriminator", "perceptual")


def _smooth(values: list[float], k: int = 25) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= k:
            acc -= values[i - k]
        out.append(acc / min(i + 1, k))
    return out


def training_curves(runs: list[Path], out: Path) -> Path:
    """One panel per loss term, D(HR)/D(SR), and held-out PSNR-Y, for every run (stage) in order."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 8.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    offset = 0
    for run in runs:
        log = read_log(run)
        if not log:
            continue
        name = Path(run).name
        steps = [offset + e["step"] for e in log]
        for ax, term in zip(axes[:4], TERMS):
            values = [e[term] for e in log if term in e]
            if values:
                ax.plot(steps[-len(values) :], _smooth(values), label=name)
                ax.set_title(f"{term} loss (smoothed)", fontsize=13)
        d = [(offset + e["step"], e["d_hr"], e["d_sr"]) for e in log if e.get("d_hr") is not None]
        if d:
            axes[4].plot([s for s, _, _ in d], _smooth([a for _, a, _ in d]), label=f"D(HR) {name}")
            axes[4].plot([s for s, _, _ in d], _smooth([b for _, _, b in d]), label=f"D(SR) {name}")
            axes[4].axhline(0.5, color="gray", linestyle=":")
            axes[4].set_title("discriminator output (smoothed)", fontsize=13)
        ev = [(offset + e["step"], e["eval_psnr_y"]) for e in log if "eval_psnr_y" in e]
        if ev:
            axes[5].plot([s for s, _ in ev], [p for _, p in ev], "o-", label=name)
            axes[5].set_title("held-out PSNR-Y (dB)", fontsize=13)
        offset = steps[-1]
    for ax in axes:
        ax.set_xlabel("step (stages in sequence)")
        if ax.lines:
            ax.legend(fontsize=9)
            ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "training_curves.png"
    fig.savefig(path, dpi=90)
    return path


def side_by_side(crops: list[tuple[Image.Image, tuple[int, int, int, int]]], out: Path, *, tile: int = 256) -> Path:
    """One row per (HR image, box): HR | bicubic | SRResNet | SRGAN, x4 from the image's bicubic downsample."""
    from .data import bicubic_downsample, mod_crop
    from .engine.inference import upscaler_for

    names = ["HR", "bicubic", "SRResNet (MSE)", "SRGAN"]
    canvas = Image.new("RGB", (len(names) * (tile + 6), 30 + len(crops) * (tile + 6)), "white")
    draw = ImageDraw.Draw(canvas)
    for k, name in enumerate(names):
        draw.text((k * (tile + 6) + 4, 4), name, fill="black", font_size=20)
    for row, (hr_image, box) in enumerate(crops):
        hr = mod_crop(hr_image, 4)
        lr = bicubic_downsample(hr, 4)
        images = [hr, upscaler_for("bicubic")(lr), upscaler_for("srresnet")(lr), upscaler_for("srgan")(lr)]
        for k, image in enumerate(images):
            crop = image.crop(box).resize((tile, tile), Image.Resampling.NEAREST)
            canvas.paste(crop, (k * (tile + 6), 30 + row * (tile + 6)))
    path = out / "side_by_side.png"
    canvas.save(path)
    return path
