"""Fine-tuning runs (srgan/classroom/runs.py, uploads.py, job.py): start, watch, stop, fail cleanly, bad inputs,
the runs folder.

Every run here trains a tiny generator (1 residual block, 8 channels) on 32x32 patches, so a step
takes milliseconds on the CPU.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
import torch
from PIL import Image

from srgan.checkpoints import CheckpointError, load_checkpoint, load_generator, read_metadata, save_checkpoint
from srgan.classroom.runs import RunBusyError, RunManager, make_run_name, run_checkpoint, sanitise_run_name
from srgan.classroom.uploads import TrainingData, uploaded_data
from srgan.config import GeneratorConfig
from srgan.images import ImageError
from srgan.models import Discriminator, Generator

TINY = GeneratorConfig(scale=4, num_residual_blocks=1, channels=8)
FAST = {"hr_patch": 32, "batch_size": 2, "device": "cpu"}


@pytest.fixture
def tiny_base(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny_base.safetensors"
    save_checkpoint(Generator.from_config(TINY), path, recipe={"preset": "test", "steps_done": 1})
    return path


@pytest.fixture
def manager(tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path / "runs"))
    m = RunManager()
    yield m
    m.stop()
    m.wait(30)


@pytest.fixture
def data(photo):
    return TrainingData([photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], ["a", "b"], "test")


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_short_run_saves_a_checkpoint_with_its_metadata(manager, tiny_base, data, tmp_path):
    name = manager.start(base=tiny_base, data=data, steps=5, **FAST)
    status = manager.wait(60)
    assert status.state == "done", status.error
    assert status.step == 5 and [e["step"] for e in status.log] == [1, 2, 3, 4, 5]
    assert status.eval_psnr_y is not None and status.base_psnr_y is not None
    assert status.preview_before.size == status.preview_now.size == (128, 128)
    path = run_checkpoint(name)
    assert path == tmp_path / "runs" / name / "generator.safetensors" == status.checkpoint
    recipe, metrics = read_metadata(path)["recipe"], read_metadata(path)["metrics"]
    assert recipe["base"] == "tiny_base" and recipe["data"] == "test" and recipe["objective"] == "mse"
    assert recipe["steps"] == 5 and recipe["steps_done"] == 5
    assert metrics["preview_psnr_y"] == pytest.approx(status.eval_psnr_y)
    generator, _ = load_generator(path)
    assert generator.config == TINY
    assert not list((tmp_path / "runs" / name).glob("state.pt"))  # only the app's weights are kept
    (run,) = manager.list_runs()
    assert run.name == name and run.metadata["state"] == "done" and run.metadata["steps_done"] == 5
    # An earlier run is a base like the bundled models.
    second = manager.start(base=name, data=data, steps=1, **FAST)
    assert manager.wait(60).state == "done"
    assert read_metadata(run_checkpoint(second))["recipe"]["base"] == name
    assert [r.name for r in manager.list_runs()] == [second, name]


def test_one_run_at_a_time_and_stop_keeps_a_loadable_checkpoint(manager, tiny_base, data, tmp_path):
    name = manager.start(base=tiny_base, data=data, steps=5000, **FAST)
    with pytest.raises(RunBusyError, match=name):
        manager.start(base=tiny_base, data=data, steps=5, **FAST)
    _wait_for(lambda: manager.status().step >= 3)
    live = manager.status()
    assert live.state == "running" and live.steps_per_second > 0 and live.eta_seconds > 0
    asked = time.monotonic()
    assert manager.stop()
    status = manager.wait(10)
    assert time.monotonic() - asked < 5
    assert status.state == "stopped" and 3 <= status.step < 5000
    _, meta = load_checkpoint(run_checkpoint(name))  # verifies the sha256 too
    assert meta["recipe"]["steps_done"] == status.step and meta["recipe"]["finetune_state"] == "stopped"
    assert not list((tmp_path / "runs").rglob("*.tmp"))
    assert not manager.stop()  # nothing left to stop


def test_nan_loss_fails_with_the_message_and_saves_nothing(manager, tiny_base, data, monkeypatch):
    from srgan import losses

    monkeypatch.setattr(losses, "mse_content_loss", lambda sr, hr: (sr - hr).mean() * float("nan"))
    name = manager.start(base=tiny_base, data=data, steps=5, **FAST)
    status = manager.wait(60)
    assert status.state == "failed" and "diverged" in status.error and "learning rate" in status.error
    assert status.checkpoint is None
    with pytest.raises(CheckpointError, match="no checkpoint"):
        run_checkpoint(name)
    assert manager.list_runs() == []
    assert json.loads((manager.root / name / "run.json").read_text())["state"] == "failed"


def test_srgan_objective_starts_from_the_given_discriminator(manager, tiny_base, data, tmp_path):
    torch.manual_seed(1)
    seed = Discriminator(channels=4, dense_features=8)
    save_checkpoint(seed, tmp_path / "d.safetensors", recipe={"steps_done": 1})
    name = manager.start(
        base=tiny_base,
        data=data,
        objective="srgan",
        steps=1,
        learning_rate=1e-9,
        discriminator=tmp_path / "d.safetensors",
        **FAST,
    )
    status = manager.wait(60)
    assert status.state == "done", status.error
    assert any("discriminator starts from" in n for n in status.notes)
    assert {"adversarial", "discriminator", "d_hr", "d_sr"} <= status.log[-1].keys()
    trained, _ = load_checkpoint(manager.root / name / "discriminator.safetensors")
    for key, value in seed.state_dict().items():  # one Adam step of 1e-9 from the seed, not a fresh D
        if "running" not in key and "num_batches" not in key:
            assert torch.allclose(trained[key], value, atol=1e-6), key


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"steps": 0}, "steps must be between 1"),
        ({"steps": 2.5}, "whole number"),
        ({"learning_rate": 5}, "learning rate must be between 0 and 1"),
        ({"batch_size": 0}, "batch size"),
        ({"hr_patch": 30}, "multiple of 4"),
        ({"objective": "l1"}, "unknown objective"),
        ({"base": "../../etc/passwd"}, "unknown base model"),
    ],
)
def test_bad_settings_are_refused_before_anything_starts(manager, tiny_base, data, settings, message):
    with pytest.raises(ValueError, match=message):
        manager.start(**({"base": tiny_base, "data": data, "steps": 5} | FAST | settings))
    assert manager.status().state == "idle" and not manager.root.exists()


def test_an_image_smaller_than_the_patch_is_named(manager, tiny_base, photo):
    small = TrainingData([photo, photo.crop((0, 0, 40, 24))], ["big.png", "small.png"], "test")
    with pytest.raises(ImageError, match=r"small\.png is 40x24, smaller than the 32px patch"):
        manager.start(base=tiny_base, data=small, steps=5, **FAST)


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_uploads_images_and_safe_zips(tmp_path, photo):
    with pytest.raises(ValueError, match="no images"):
        uploaded_data([])
    direct = tmp_path / "photo.png"
    photo.save(direct)
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("good/one.png", _png_bytes(photo))
        z.writestr("readme.txt", "not an image")
        z.writestr("fake.png", b"this is text, not a PNG")
        z.writestr("../../escape.png", _png_bytes(photo))
        z.writestr("/abs/path.png", _png_bytes(photo))
        z.writestr("__MACOSX/._one.png", b"resource fork")
    data = uploaded_data([str(direct), str(archive)])
    assert data.names == ["photo.png", "one.png"] and data.label == "upload: 2 images"
    notes = " | ".join(data.notes)
    assert "readme.txt skipped (not an image)" in notes and "fake.png skipped" in notes
    assert "../../escape.png skipped (unsafe path)" in notes and "/abs/path.png skipped (unsafe path)" in notes
    assert "MACOSX" not in notes
    assert not (tmp_path.parent / "escape.png").exists()

    only_bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(only_bad, "w") as z:
        z.writestr("notes.txt", "hello")
        z.writestr("../evil.png", _png_bytes(photo))
    with pytest.raises(ValueError, match=r"no usable images.*not an image.*unsafe path"):
        uploaded_data([str(only_bad)])
    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"PK nothing")
    with pytest.raises(ValueError, match="not a readable zip"):
        uploaded_data([str(not_zip)])
    not_image = tmp_path / "notes.png"
    not_image.write_bytes(b"text")
    with pytest.raises(ImageError, match="notes.png"):
        uploaded_data([str(not_image)])


def test_names_are_sanitised_and_stay_in_the_runs_folder(manager, tiny_base, data):
    assert sanitise_run_name("../../etc/passwd") == "etc-passwd"
    assert sanitise_run_name("mi modelo ñ!") == "mi-modelo"
    assert sanitise_run_name("x" * 100) == "x" * 40
    assert sanitise_run_name("../..") == ""
    assert make_run_name("../", default="srresnet-mse").endswith("_srresnet-mse")
    name = manager.start(base=tiny_base, data=data, steps=1, name="../../evil/..\\name", **FAST)
    manager.wait(60)
    assert name.endswith("_evil-name") and (manager.root / name / "generator.safetensors").is_file()
    for bad in ("../" + name, name + "/../x", "", "a.b"):
        with pytest.raises(CheckpointError):
            run_checkpoint(bad)


def test_the_runs_folder_keeps_the_last_n(tmp_path, tiny_base, data, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("SRGAN_RUNS_DIR", str(root))
    for k in range(4):  # older runs, as an earlier server left them
        (root / f"2020010{k}-000000_old").mkdir(parents=True)
        (root / f"2020010{k}-000000_old" / "run.json").write_text(json.dumps({"created": k, "state": "done"}))
    (root / "not-a-run").mkdir()  # a folder someone put there: never deleted
    manager = RunManager(keep=3)
    name = manager.start(base=tiny_base, data=data, steps=1, **FAST)
    manager.wait(60)
    assert sorted(p.name for p in root.iterdir()) == ["20200102-000000_old", "20200103-000000_old", name, "not-a-run"]


def test_a_finished_run_is_selectable_in_the_other_tabs(manager, tiny_base, data, photo):
    from ui import common, compare, prelu

    name = manager.start(base=tiny_base, data=data, steps=2, **FAST)
    assert manager.wait(60).state == "done"
    assert (f"fine-tuned: {name}", name) in common.generator_choices()
    result = compare.run_compare(photo.resize((12, 12)), gan_model=name)
    assert result.images["srgan"].size == (48, 48)
    _, figure, text = prelu.prelu_view(0.25, "en", run=name)
    assert figure is not None and name in text
    with pytest.raises(CheckpointError, match="has no checkpoint"):
        compare.run_compare(photo.resize((12, 12)), gan_model="20990101-000000_missing")
