"""Two CPU processes under torchrun (gloo): DistributedDataParallel training through the CLI (issue #8)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from srgan.checkpoints import load_checkpoint, read_metadata, save_checkpoint, tensors_digest
from srgan.models import Generator

ROOT = Path(__file__).resolve().parent.parent


def test_two_processes_train_srgan_and_rank0_saves_what_it_reports(tmp_path, photo):
    data = tmp_path / "hr"
    data.mkdir()
    photo.save(data / "one.png")
    torch.manual_seed(0)
    init = tmp_path / "init.safetensors"
    save_checkpoint(Generator(num_residual_blocks=1), init, recipe={"preset": "test", "steps_done": 1})
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "srgan",
        "train",
        "--preset",
        "srgan",
        "--content-loss",
        "mse",
        "--data",
        str(data),
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--hr-patch",
        "32",
        "--num-residual-blocks",
        "1",
        "--init-from",
        str(init),
        "--checkpoint-every",
        "3",
        "--out",
        str(out),
    ]
    env = {**os.environ, "SRGAN_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]

    # Exactly one process (rank 0) reports the checkpoint, and the file holds what it reported.
    reports = re.findall(r"saved (\S+) sha256=([0-9a-f]{64})", result.stdout)
    assert len(reports) == 1, result.stdout
    path, digest = Path(reports[0][0]), reports[0][1]
    state, meta = load_checkpoint(path)
    assert tensors_digest(state) == digest == read_metadata(path)["sha256"]
    assert meta["recipe"]["world_size"] == 2 and meta["recipe"]["steps_done"] == 3
    assert (out / "discriminator.safetensors").is_file()

    # One log line per step, written once (by rank 0), with the losses averaged over both ranks.
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in lines] == [1, 2, 3]
    assert all(0 < e["d_hr"] < 1 and e["adversarial"] > 0 for e in lines)


def test_batch_must_split_evenly_over_the_processes(tmp_path, photo, monkeypatch):
    from srgan.config import GeneratorConfig, TrainConfig
    from srgan.training import Distributed, TrainingError, train

    monkeypatch.setattr(Distributed, "from_env", classmethod(lambda cls, device: cls(0, 2, device)))
    config = TrainConfig.preset_srresnet(
        steps=1, batch_size=3, hr_patch=32, generator=GeneratorConfig(num_residual_blocks=1, channels=8)
    )
    with pytest.raises(TrainingError, match="not divisible by the 2 processes"):
        train(config, images=[photo], image_names=["p"], out_dir=tmp_path, progress=False)


def test_mixed_precision_runs_and_stays_finite(tmp_path, photo):
    from srgan.config import GeneratorConfig, TrainConfig
    from srgan.training import read_log, train

    config = TrainConfig.preset_srresnet(
        steps=2,
        batch_size=2,
        hr_patch=32,
        checkpoint_every=2,
        generator=GeneratorConfig(num_residual_blocks=1, channels=8),
    )
    train(config, images=[photo], image_names=["p"], out_dir=tmp_path, progress=False, device="cpu", amp=True)
    log = read_log(tmp_path)
    assert len(log) == 2 and all(0 < e["content"] < 10 for e in log)
    assert read_metadata(tmp_path / "generator.safetensors")["recipe"]["amp"] is True
