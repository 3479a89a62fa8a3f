"""Fine-tuning, measured through the same RunManager the app's Fine-tune tab uses (figures, not a test).

    .venv/bin/python benchmarks/finetune_bench.py speed      # 100 MSE steps, batch 4, 96x96, SRResNet
    .venv/bin/python benchmarks/finetune_bench.py demo       # the README's classroom demo (writes docs/)

`demo`: a 200-step SRGAN fine-tune (content + 1e-3 adversarial) of the bundled SRGAN on one "uploaded"
texture, a 256x256 crop of chelsea's fur (a held-out photo), then before/after crops of that texture
and the run's curves, saved as docs/finetune_demo.png.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def speed(steps: int) -> dict:
    from srgan.classroom.runs import RunManager

    manager = RunManager()
    start = time.perf_counter()
    manager.start(base="srresnet", objective="mse", steps=steps, batch_size=4, hr_patch=96, name="speed")
    status = manager.wait(3600)
    seconds = time.perf_counter() - start
    return {
        "steps": steps,
        "state": status.state,
        "wall_s": round(seconds, 1),
        "steps_per_second": round(steps / seconds, 2),
        "within_3_min": seconds < 180,
    }


def demo(steps: int) -> dict:
    from PIL import Image, ImageDraw

    from srgan.checkpoints import load_generator
    from srgan.classroom.runs import RunManager, TrainingData
    from srgan.data import bicubic_downsample, builtin_image_paths, load_rgb
    from srgan.engine.inference import Upscaler, upscaler_for
    from ui.finetune import curves_figure

    fur = load_rgb(builtin_image_paths()["chelsea"]).crop((150, 40, 406, 296))  # (256, 256) of fur and whiskers
    manager = RunManager()
    start = time.perf_counter()
    name = manager.start(
        base="srgan",
        data=TrainingData([fur], ["chelsea_fur.png"], "upload: 1 image"),
        objective="srgan",
        steps=steps,
        batch_size=4,
        hr_patch=96,
        name="fur-demo",
    )
    status = manager.wait(7200)
    seconds = time.perf_counter() - start
    generator, _ = load_generator(status.checkpoint)
    region = fur.crop((64, 64, 192, 192))  # (128, 128) HR
    lr = bicubic_downsample(region, 4)
    panels = {
        "HR (the uploaded texture)": region,
        "bicubic": lr.resize(region.size, Image.Resampling.BICUBIC),
        "SRGAN (bundled)": upscaler_for("srgan")(lr),
        f"after {steps} steps": Upscaler(generator)(lr),
    }
    tile = 256
    strip = Image.new("RGB", (len(panels) * (tile + 6), tile + 30), "white")
    draw = ImageDraw.Draw(strip)
    for k, (label, image) in enumerate(panels.items()):
        strip.paste(image.resize((tile, tile), Image.Resampling.NEAREST), (k * (tile + 6), 30))
        draw.text((k * (tile + 6) + 4, 4), label, fill="black", font_size=18)
    curves = curves_figure(status, "en")
    out = Image.new("RGB", (max(strip.width, curves.width), strip.height + curves.height), "white")
    out.paste(strip, (0, 0))
    out.paste(curves, (0, strip.height))
    (ROOT / "docs").mkdir(exist_ok=True)
    out.save(ROOT / "docs" / "finetune_demo.png")
    last = status.log[-1] if status.log else {}
    return {
        "run": name,
        "state": status.state,
        "steps": status.step,
        "wall_s": round(seconds, 1),
        "preview_psnr_y_before": status.base_psnr_y,
        "preview_psnr_y_after": status.eval_psnr_y,
        "last_d_hr": last.get("d_hr"),
        "last_d_sr": last.get("d_sr"),
        "image": "docs/finetune_demo.png",
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["speed", "demo"])
    p.add_argument("--steps", type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault("SRGAN_RUNS_DIR", tempfile.mkdtemp(prefix="srgan-runs-"))  # the repo stays clean
    result = speed(args.steps or 100) if args.what == "speed" else demo(args.steps or 200)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
