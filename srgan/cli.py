"""Command line: `python -m srgan {upscale, evaluate, train, bench, app}`.

Every user error (bad argument, unreadable image, bad checkpoint) prints one line on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr and exit code 2 (argparse prints the whole usage otherwise).

    Shared by `python -m srgan`, `python app.py` and the tools: "srgan: error: ...", "app.py: error: ...".
    """

    def error(self, message: str) -> None:
        words = [w for w in self.prog.split() if w not in ("python", "python3", "-m")]
        print(f"{Path(words[0]).name if words else self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m srgan", description="SRGAN Studio: super-resolution x4 (Ledig et al. 2017).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    up = sub.add_parser("upscale", help="upscale images x4 and write DIR/<stem>.png")
    up.add_argument("inputs", nargs="+", metavar="INPUT", help="image files")
    up.add_argument("--model", default="srgan", help="bicubic, srresnet, srgan, or a checkpoint path (default: srgan)")
    up.add_argument("--out-dir", required=True, type=Path, help="output folder (created)")
    up.add_argument("--device", default=None, help="cuda, mps or cpu (default: automatic)")
    up.add_argument("--bf16", action="store_true",
                    help="bf16 on a CPU with AVX512-BF16/AMX (oneDNN, not the Winograd kernel): "
                         "no faster than fp32 on the development machine, some pixels off by up to 6 levels")

    ev = sub.add_parser("evaluate", help="PSNR-Y / SSIM-Y / gradient ratio of each model on HR images (paper protocol)")
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--hr-dir", type=Path, help="folder of HR images (downsampled x4 with PIL bicubic)")
    src.add_argument("--heldout", action="store_true", help="the built-in photos kept out of training")
    ev.add_argument("--models", nargs="+", default=["bicubic", "srresnet", "srgan"], help="models to compare")
    ev.add_argument("--json", action="store_true", help="print one JSON object (default: a table)")
    ev.add_argument("--max-side", type=int, default=0, help="centre-crop HR images to this side first (0: whole)")
    ev.add_argument("--per-image", action="store_true", help="then a row per image and model (the table)")

    tr = sub.add_parser("train", help="train SRResNet (MSE) or SRGAN (content + 1e-3 adversarial)")
    tr.add_argument("--preset", choices=["srresnet", "srgan"], required=True)
    tr.add_argument("--data", default="builtin",
                    help="'builtin', 'corpus:FOLDER' (tools/build_corpus.py's photos, at 3 scales) or a folder of HR images")
    tr.add_argument("--steps", type=int, required=True)
    tr.add_argument("--out", type=Path, required=True, help="run folder (state.pt, generator.safetensors, log.jsonl)")
    tr.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--hr-patch", type=int, default=96)
    tr.add_argument("--learning-rate", type=float, default=1e-4)
    tr.add_argument("--lr-milestones", type=int, nargs="*", default=[], help="steps where the learning rate x0.1")
    tr.add_argument("--lr-gamma", type=float, default=0.1)
    tr.add_argument("--content-loss", choices=["mse", "l1", "vgg22", "vgg54"], default=None,
                    help="default: mse for srresnet; vgg54 for srgan where ImageNet VGG19 exists, else mse "
                         "(l1: beyond the paper)")
    tr.add_argument("--init-from", default=None, help="generator to start from (srgan default: bundled srresnet)")
    tr.add_argument("--no-icnr", action="store_true", help="plain random init of the sub-pixel convs (default: ICNR)")
    tr.add_argument("--num-residual-blocks", type=int, default=16)
    tr.add_argument("--scale", type=int, default=4)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--checkpoint-every", type=int, default=100)
    tr.add_argument("--eval-every", type=int, default=100)
    tr.add_argument("--device", default=None)
    tr.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    tr.add_argument("--amp", action="store_true", help="bf16 mixed precision for the forward passes (for CUDA)")
    tr.add_argument("--init-discriminator", default=None,
                    help="srgan: start D from this checkpoint (e.g. srgan_discriminator) instead of a fresh one")
    _add_beyond_the_paper_options(tr)

    ex = sub.add_parser("export", help="publish a training run as bundled weights (fp16, held-out metrics)")
    ex.add_argument("run", type=Path, help="a run folder made by `train`")
    ex.add_argument("--name", choices=["srresnet", "srgan"], required=True)
    ex.add_argument("--weights", choices=["ema", "last"], default="ema",
                    help="a run with an EMA (--ema-decay): ship its average (default) or G's last weights")
    ex.add_argument("--generator-only", action="store_true",
                    help="srgan: leave the bundled discriminator as it is (it is refit against the new G afterwards)")

    rp = sub.add_parser("report", help="model-card figures: training curves and a side-by-side crop")
    rp.add_argument("--runs", type=Path, nargs="+", required=True, help="run folders, in training order")
    rp.add_argument("--out", type=Path, default=Path("assets/weights"))

    be = sub.add_parser("bench", help="inference speed: plain eager vs Upscaler")
    be.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    be.add_argument("--repeats", type=int, default=3)
    be.add_argument("--json", action="store_true")
    be.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    be.add_argument("--large", type=int, nargs="*", default=[], metavar="SIDE",
                    help="also measure the peak RSS of upscaling a SIDE x SIDE image on the CPU (e.g. 1024 2048)")
    be.add_argument("--profile", action="store_true", help="also time each part of the generator at 128²")
    be.add_argument("--train", action="store_true", help="also measure training samples/s on the CPU")
    be.add_argument("--peers", action="store_true",
                    help="also run the same network through ONNX Runtime and OpenVINO (pip install -e '.[peers]')")
    sub.add_parser("app", add_help=False,
                   help="serve the teaching app (its flags: python -m srgan app --help; also `srgan-studio`)")
    return p


def _add_beyond_the_paper_options(tr: argparse.ArgumentParser) -> None:
    """`train`'s options that go beyond the paper (each off by default, so the default recipe is the paper's)."""
    group = tr.add_argument_group("beyond the paper (off by default)")
    group.add_argument("--content-weight", type=float, default=1.0,
                       help="the content loss's weight (1 in Eq. 3; about 0.1 with l1)")
    group.add_argument("--flat-boost", type=float, default=1.0,
                       help="mse/l1 weighted by where HR is flat: this many times the content weight at the flattest "
                       "pixel, 1 at the busiest (e.g. 3)")
    group.add_argument("--relativistic", action="store_true",
                       help="ESRGAN's relativistic average discriminator in place of Eq. 2 and 6 (SRGAN only)")
    group.add_argument("--feature-matching-weight", type=float, default=0.0,
                       help="+ this times pix2pixHD's feature matching on D's maps, a content loss without ImageNet "
                       "weights (SRGAN only; e.g. 0.01)")
    group.add_argument("--ema-decay", type=float, default=0.0,
                       help="keep an EMA of G's weights (e.g. 0.999), saved as generator_ema.safetensors")
    group.add_argument("--artifact-weight", type=float, default=0.0,
                       help="LDL's artifact loss weight (Liang et al. 2022; needs --ema-decay)")
    group.add_argument("--soft-copies", type=float, nargs="+", default=[], metavar="SIGMA",
                       help="also train on every photo blurred by these Gaussian sigmas (HR px)")
    group.add_argument("--soft-share", type=float, default=0.0,
                       help="the share of patches drawn from those soft copies, e.g. 0.3")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["app"]:  # the app's own flags (ui/launch.py), passed on whole
        from ui.app import main as app_main

        return app_main(argv[1:], prog="python -m srgan app")
    args = _parser().parse_args(argv)
    from .checkpoints import CheckpointError
    from .images import ImageError
    from .training import TrainingError

    try:
        commands = {"upscale": _upscale, "evaluate": _evaluate, "train": _train, "bench": _bench,
                    "export": _export, "report": _report}  # fmt: skip
        return commands[args.command](args)
    except (ImageError, CheckpointError, TrainingError, ValueError, FileNotFoundError) as e:
        print(f"srgan: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("srgan: interrupted", file=sys.stderr)
        return 130


def _upscale(args: argparse.Namespace) -> int:
    from .images import open_image, split_image

    for p in args.inputs:  # decode every file first, so that a bad one fails before anything is written...
        open_image(p)
    from .engine.inference import upscaler_for

    upscaler = upscaler_for(args.model, device=args.device, bf16=args.bf16)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    from .checkpoints import atomic_write

    for path in map(Path, args.inputs):
        image = open_image(path)  # ...then again one at a time: memory holds one photo, not the whole batch
        result = upscaler(image)
        out = args.out_dir / f"{path.stem}.png"
        # zlib level 4 writes SR outputs as small as PIL's default level 6, three times faster
        # (a 2048x2048 result: 0.6 s against 1.6 s, 4.6 MB both; 8192x8192 is 16 times that).
        atomic_write(out, lambda tmp, result=result: result.save(tmp, format="PNG", compress_level=4))
        note = split_image(image).note  # e.g. an animated GIF: say that only its first frame was used
        print(f"{path} -> {out} ({image.width}x{image.height} -> {result.width}x{result.height})"
              + (f" ({note})" if note else ""))  # fmt: skip
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_models, format_table

    report = evaluate_models(args.models, hr_dir=args.hr_dir, heldout=args.heldout, max_side=args.max_side)
    print(json.dumps(report, indent=2) if args.json else format_table(report, per_image=args.per_image))
    return 0


def _train(args: argparse.Namespace) -> int:
    import torch

    from .config import GeneratorConfig, TrainConfig
    from .data import load_training_images
    from .training import heldout_eval_pairs, train

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.steps < 1:
        raise ValueError("--steps must be at least 1")
    generator = GeneratorConfig(scale=args.scale, num_residual_blocks=args.num_residual_blocks)
    common = dict(steps=args.steps, batch_size=args.batch_size, hr_patch=args.hr_patch,
                  learning_rate=args.learning_rate, lr_milestones=tuple(args.lr_milestones), lr_gamma=args.lr_gamma,
                  seed=args.seed, checkpoint_every=args.checkpoint_every, eval_every=args.eval_every,
                  generator=generator, icnr_init=not args.no_icnr, ema_decay=args.ema_decay,
                  artifact_weight=args.artifact_weight, soft_sigmas=tuple(args.soft_copies),
                  soft_share=args.soft_share, content_weight=args.content_weight,
                  flat_boost=args.flat_boost, relativistic=args.relativistic,
                  feature_matching_weight=args.feature_matching_weight)  # fmt: skip
    if args.preset == "srresnet":
        content = args.content_loss or "mse"
        config = TrainConfig.preset_srresnet(content_loss=content, init_from=args.init_from, **common)
    else:
        content = args.content_loss
        if content is None:  # the paper's SRGAN uses VGG54; without ImageNet weights, its SRGAN-MSE variant
            from .vgg import resolve_vgg19_weights

            content = "vgg54" if resolve_vgg19_weights().pretrained else "mse"
        from .checkpoints import resolve

        init = str(resolve(args.init_from or "srresnet"))  # a bundled name or a checkpoint path
        config = TrainConfig.preset_srgan(content_loss=content, init_from=init, **common)  # validates
        if args.content_loss is None and content == "mse":  # said once the options are known to be valid
            print("srgan: no ImageNet VGG19 weights: training the paper's SRGAN-MSE variant", file=sys.stderr)
    images, names = load_training_images(args.data, min_size=args.hr_patch)
    builtin_heldout = args.data == "builtin" or args.data.startswith("corpus:")  # neither trains on them
    eval_pairs = heldout_eval_pairs(scale=args.scale) if builtin_heldout else None
    initial_discriminator = None
    if args.init_discriminator:
        from .checkpoints import resolve

        initial_discriminator = resolve(args.init_discriminator)
    path = train(config, images=images, image_names=names, out_dir=args.out, resume=args.resume,
                 device=args.device, eval_pairs=eval_pairs, data_label=args.data, amp=args.amp,
                 initial_discriminator=initial_discriminator)  # fmt: skip
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 saved the checkpoint
        from .checkpoints import read_metadata

        print(f"saved {path} sha256={read_metadata(path)['sha256']}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import layer_profile, peak_rss_of_upscale, run_bench, training_samples_per_second

    report = run_bench(sizes=args.sizes, repeats=args.repeats, device=args.device, peers=args.peers)
    lines = [report["table"]]
    if args.profile:
        import torch

        from .models import Generator

        torch.manual_seed(0)
        report["profile_128"] = layer_profile(Generator().eval(), 128, repeats=args.repeats)
        lines += ["", "where the time goes at 128² (CPU, folded, channels_last):"]
        lines += [f"  {r['part']:<34}{r['ms']:>8} ms{r['gflop']:>8} GFLOP{r['gflops']:>8} GFLOP/s"
                  for r in report["profile_128"]]  # fmt: skip
    if args.large:
        report["large"] = [peak_rss_of_upscale(side) for side in args.large]
        lines += [""] + [f"upscale {r['input'][0]}² -> {r['output'][0]}x{r['output'][1]} on the CPU: "
                         f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB" for r in report["large"]]  # fmt: skip
    if args.train:
        report["train_samples_per_s"] = {p: round(training_samples_per_second(preset=p), 2) for p in ("srresnet", "srgan")}
        lines += ["", f"training on the CPU, batch 16, 96² patches: {report['train_samples_per_s']} HR patches/s"]
    print(json.dumps(report, indent=2) if args.json else "\n".join(lines))
    return 0


def _export(args: argparse.Namespace) -> int:
    from .checkpoints import ASSETS, BUNDLED, load_discriminator, load_generator, save_checkpoint
    from .evaluate import evaluate_models

    source = args.run / "generator.safetensors"
    if args.weights == "ema" and (args.run / "generator_ema.safetensors").is_file():  # its average (--ema-decay)
        source = args.run / "generator_ema.safetensors"
    generator, meta = load_generator(source)
    report = evaluate_models([str(source)], heldout=True)
    metrics = {"heldout": report["models"][str(source)], "heldout_images": report["image_names"],
               "protocol": report["protocol"]}  # fmt: skip
    target = ASSETS / BUNDLED[args.name]
    save_checkpoint(generator, target, recipe=meta["recipe"], metrics=metrics, half=True)
    print(f"{source} -> {target} (fp16) {json.dumps(metrics['heldout'])}")
    if args.name == "srgan" and not args.generator_only:
        discriminator, dmeta = load_discriminator(args.run / "discriminator.safetensors")
        dtarget = ASSETS / BUNDLED["srgan_discriminator"]
        save_checkpoint(discriminator, dtarget, recipe=dmeta["recipe"], half=True)
        print(f"discriminator -> {dtarget} (fp16)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .data import builtin_image_paths, load_rgb
    from .report import side_by_side, training_curves

    print(training_curves(args.runs, args.out))
    heldout = builtin_image_paths(split="heldout")
    # fur; a face and flat skin; an older face, fabric and hair
    boxes = {"chelsea": (150, 60, 278, 188), "astronaut": (180, 60, 308, 188), "grace_hopper": (190, 150, 318, 278)}
    crops = [(load_rgb(heldout[name]), box) for name, box in boxes.items() if name in heldout]
    if crops:
        print(side_by_side(crops, args.out))
    return 0
