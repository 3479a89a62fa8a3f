"""tools/refit_discriminator.py (stage 3): a tiny refit runs, checkpoints, resumes exactly; bad arguments exit 2."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def refit_module():
    spec = importlib.util.spec_from_file_location("refit_discriminator", ROOT / "tools" / "refit_discriminator.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three 128x128 crops of training photos in a folder."""
    from srgan.data import builtin_image_paths, load_rgb

    folder = tmp_path / "photos"
    folder.mkdir()
    paths = builtin_image_paths(split="train")
    for name in ("brick", "china", "flower"):
        load_rgb(paths[name]).crop((100, 100, 228, 228)).save(folder / f"{name}.png")
    return folder


def _args(photos: Path, generator: Path, out: Path, steps: int) -> list[str]:
    return [
        "--data",
        str(photos),
        "--generator",
        str(generator),
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--init",
        "fresh",
        "--channels",
        "8",
        "--dense-features",
        "16",
        "--patch",
        "32",
        "--batch-size",
        "2",
        "--scales",
        "1,0.5",
        "--blurs",
        "0,1",
        "--max-side",
        "96",
        "--validation",
        "flower",
        "--eval-every",
        "1",
        "--checkpoint-every",
        "1",
        "--quiet",
    ]


def test_tiny_refit_checkpoints_and_resumes_exactly(refit_module, photos, tiny_checkpoint, tmp_path):
    from srgan.checkpoints import load_discriminator

    straight, split = tmp_path / "straight", tmp_path / "split"
    assert refit_module.main(_args(photos, tiny_checkpoint, straight, 2)) == 0
    assert refit_module.main(_args(photos, tiny_checkpoint, split, 1)) == 0
    assert refit_module.main(_args(photos, tiny_checkpoint, split, 2) + ["--resume"]) == 0
    a, meta = load_discriminator(straight / "discriminator.safetensors")
    b, _ = load_discriminator(split / "discriminator.safetensors")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(x.float(), y.float(), atol=1e-6), k
    log = [json.loads(line) for line in (split / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2]
    assert all(math.isfinite(e["loss"]) for e in log) and 0 <= log[-1]["val_accuracy"] <= 1
    assert meta["recipe"]["steps_done"] == 2 and meta["recipe"]["bank_photos"] == ["brick", "china"]
    assert a.config.channels == 8 and (straight / "state.pt").is_file() and (straight / "bank.pt").is_file()


def test_bank_pairs_are_aligned_and_the_same_size(refit_module, photos, tiny_checkpoint):
    config = refit_module.RefitConfig(
        data=str(photos),
        generator=str(tiny_checkpoint),
        patch=32,
        batch_size=3,
        scales=[1.0, 0.5],
        blurs=[0.0, 1.0],
        max_side=96,
        validation=["flower"],
    )
    bank = refit_module.build_bank(config, log=False)
    assert len(bank.hr) == 2 * 2 * 2 and all(h.shape == s.shape for h, s in zip(bank.hr, bank.sr))
    hr, sr = refit_module.batch_at(bank, 0, config)
    assert hr.shape == sr.shape == (3, 3, 32, 32) and hr.min() >= -1 and hr.max() <= 1
    assert torch.equal(refit_module.batch_at(bank, 0, config)[0], hr)  # a pure function of (seed, step)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--steps", "0"], "--steps"),
        (["--learning-rate", "-1"], "--learning-rate"),
        (["--scales", "1,2"], "--scales"),
        (["--validation", "astronaut"], "not training photos"),
        (["--dense-rank", "-1"], "--dense-rank"),
        (["--dense-rank", "2000", "--publish", "d.safetensors"], "--dense-rank"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(refit_module, capsys, argv, words):
    with pytest.raises(SystemExit) as exit_info:
        refit_module.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_a_refit_does_not_start_from_a_refit(refit_module):
    # The bundled discriminator is the stage-3 refit: "--init bundled" must not silently refit it again.
    from srgan.checkpoints import read_metadata, resolve

    assert str(read_metadata(resolve("srgan_discriminator"))["recipe"]["stage"]).startswith("3")  # it is one
    with pytest.raises(ValueError, match="already a stage-3 refit"):
        refit_module.initial_discriminator(refit_module.RefitConfig(init="bundled"))
