"""Checkpoints and files: weights only, clear messages, no escape from a folder, atomic writes, a full disk, clean-up.

A full disk is simulated by making the write raise OSError(ENOSPC) after writing part of the file: the
user must get a sentence (not a traceback) and no half-written file may be left, anywhere.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from srgan import cli
from srgan.checkpoints import (
    CheckpointError,
    DiskFullError,
    atomic_write,
    load_checkpoint,
    load_generator,
    save_checkpoint,
)
from srgan.classroom.runs import (
    RunManager,
    TrainingData,
    make_run_name,
    run_checkpoint,
    sanitise_run_name,
    schedule_cleanup,
)
from srgan.config import GeneratorConfig
from srgan.models import Generator

TINY = GeneratorConfig(scale=4, num_residual_blocks=1, channels=8)


class _Exploit:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _cli(capsys, *args) -> tuple[int, str]:
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


def _no_temp_files(folder: Path) -> bool:
    return not list(folder.rglob(".*.tmp"))


def _disk_full_after(original=None, *, target: int = 0):
    """A stand-in for a writer: writes part of the file, then finds the disk full.

    Args:
        original: the real writer, still used for in-memory targets (matplotlib draws into BytesIO).
        target: the position of the file argument (save_file(tensors, filename): 1; Image.save(self, fp): 1).
    """

    def write(*args, **kwargs):
        path = args[target]
        if not isinstance(path, (str, os.PathLike)):
            return original(*args, **kwargs)
        Path(path).write_bytes(b"\x00" * 500)
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


# -- weights only ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".ckpt", ".bin", ".safetensors"])
def test_a_planted_pickle_is_refused_and_never_executed(tmp_path, suffix, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / f"model{suffix}"
    torch.save({"head.0.weight": _Exploit(marker)}, evil)  # torch's zip format, as such files arrive
    raw = tmp_path / f"raw{suffix}"
    raw.write_bytes(pickle.dumps({"head.0.weight": _Exploit(marker)}))  # and a bare pickle
    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(photo)
    for path in (evil, raw):
        with pytest.raises(CheckpointError, match="refused|not a readable safetensors"):
            load_checkpoint(path)
        code, err = _cli(capsys, "upscale", "--model", path, "--out-dir", tmp_path / "out", photo)
        assert code == 2 and len(err.strip().splitlines()) == 1 and path.name in err
    assert not marker.exists()


def test_the_cli_refuses_a_code_carrying_pickle_in_one_line(tmp_path):
    """`python -m srgan upscale --model evil.pth`: one line of our own, exit 2, no torch warning or advice.

    torch warns (two lines) about the pickle protocol and then advises re-running with weights_only=False,
    i.e. turning the protection off for a malicious file; neither may reach the user. In a subprocess, as a
    user runs it, so that the warnings go to a real stderr (pytest would otherwise capture them).
    """
    marker = tmp_path / "pwned"
    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(photo)
    zipped, bare = tmp_path / "evil.pth", tmp_path / "evil_bare.pth"
    torch.save({"head.0.weight": _Exploit(marker)}, zipped)
    bare.write_bytes(pickle.dumps({"head.0.weight": _Exploit(marker)}, protocol=4))  # torch warns about 4
    for evil in (zipped, bare):
        done = subprocess.run(
            [sys.executable, "-m", "srgan", "upscale", "--model", str(evil), "--out-dir", str(tmp_path / "o"),
             str(photo)],
            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "default"},
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert f"{evil.name} was refused for safety: it is not a plain weights file" in done.stderr
        assert "weights_only" not in output and "UserWarning" not in output and "Traceback" not in output
    assert not marker.exists()  # the payload never ran
    assert not (tmp_path / "o").exists()


def _state(**changes) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    state = Generator.from_config(TINY).state_dict()
    return {**state, **changes}


def test_wrong_shapes_get_a_clear_message(tmp_path, capsys):
    from safetensors.torch import save_file

    state = _state()
    state["residual_blocks.0.conv1.weight"] = torch.zeros(8, 8, 5, 5)
    path = tmp_path / "wrong_shape.safetensors"
    save_file(state, str(path), metadata={"kind": "generator", "config": json.dumps(TINY.to_dict())})
    with pytest.raises(CheckpointError, match=r"wrong shape: residual_blocks\.0\.conv1\.weight \(8, 8, 5, 5\)"):
        load_generator(path)
    pth = tmp_path / "wrong_shape.pth"
    torch.save(state, pth)
    code, err = _cli(capsys, "upscale", "--model", pth, "--out-dir", tmp_path / "o", tmp_path / "missing.png")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_wrong_keys_get_a_clear_message(tmp_path):
    state = _state()
    state["not.a.layer"] = state.pop("body_tail.0.weight")
    path = tmp_path / "wrong_keys.pth"
    torch.save(state, path)
    with pytest.raises(
        CheckpointError,
        match=r"does not fit this architecture: missing \['body_tail\.0\.weight'\]"
        r", unexpected \['not\.a\.layer'\]",
    ):
        load_generator(path)
    foreign = tmp_path / "foreign.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, foreign)
    with pytest.raises(CheckpointError, match="not an SRGAN Studio generator"):
        load_generator(foreign)


# -- names cannot escape --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=120))
def test_any_run_name_stays_in_the_runs_folder(name):
    root = Path("/srv/runs")
    safe = make_run_name(name)
    assert (root / safe).parent == root and safe.split("_", 1)[1]
    assert set(sanitise_run_name(name)) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "/etc/passwd", "x\\..\\y", "a.b", "", "run\x00"])
def test_a_run_name_that_could_escape_is_refused(name, tmp_path):
    with pytest.raises(CheckpointError, match="not a run name"):
        run_checkpoint(name, root=tmp_path)


def test_an_upload_name_cannot_escape_the_upload_folder(app_url):
    import httpx

    png = tmp_png_bytes()
    with httpx.Client(base_url=app_url, timeout=30) as client:
        names = ["../../../../tmp/escaped.png", "..\\..\\escaped2.png", "/etc/escaped3.png"]
        response = client.post("gradio_api/upload", files=[("files", (n, png, "image/png")) for n in names])
    assert response.status_code == 200, response.text
    for stored in response.json():
        path = Path(stored).resolve()
        assert ".." not in Path(stored).parts and "escaped" in path.name
        assert "gradio" in str(path.parent.parent)  # <gradio cache>/<hash>/<name>, nowhere else
    assert not Path("/tmp/escaped.png").exists() and not Path("/etc/escaped3.png").exists()


def tmp_png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="PNG")
    return buf.getvalue()


# -- atomic writes and a full disk ----------------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("old")

    def half_then_crash(tmp: str) -> None:
        Path(tmp).write_text("ne")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_crash)
    assert path.read_text() == "old" and _no_temp_files(tmp_path)
    atomic_write(path, lambda tmp: Path(tmp).write_text("new"))
    assert path.read_text() == "new" and _no_temp_files(tmp_path)


def test_a_full_disk_is_a_clear_error_and_leaves_nothing_half_written(tmp_path, tiny_generator, monkeypatch):
    import safetensors.torch

    path = tmp_path / "model.safetensors"
    save_checkpoint(tiny_generator, path, recipe={"steps_done": 1})
    before = path.read_bytes()
    monkeypatch.setattr(safetensors.torch, "save_file", _disk_full_after(target=1))
    with pytest.raises(DiskFullError, match="disk is full: model.safetensors was not written") as caught:
        save_checkpoint(tiny_generator, path)
    assert isinstance(caught.value, ValueError) and caught.value.errno == errno.ENOSPC  # shown like any user error
    assert path.read_bytes() == before and _no_temp_files(tmp_path)
    load_generator(path)  # still the good checkpoint


def test_a_full_disk_in_the_cli_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (6, 6)).save(photo)
    monkeypatch.setattr(Image.Image, "save", _disk_full_after(Image.Image.save, target=1))
    code, err = _cli(capsys, "upscale", "--model", "bicubic", "--out-dir", tmp_path / "out", photo)
    assert code == 2 and err.strip().splitlines() == [err.strip()] and "disk is full" in err
    assert list((tmp_path / "out").iterdir()) == []  # no half PNG, no temporary file


def test_a_full_disk_in_the_compare_tab_is_a_gr_error(monkeypatch):
    import gradio as gr

    from ui import compare
    from ui.common import user_errors

    monkeypatch.setattr(Image.Image, "save", _disk_full_after(Image.Image.save, target=1))
    with pytest.raises(gr.Error, match="disk is full"):
        user_errors(compare.upscale)(Image.new("RGB", (6, 6)))


def test_a_full_disk_during_fine_tuning_fails_the_run_with_the_message(tmp_path, monkeypatch, photo):
    import safetensors.torch

    monkeypatch.setenv("SRGAN_RUNS_DIR", str(tmp_path / "runs"))
    base = tmp_path / "base.safetensors"
    torch.manual_seed(0)
    save_checkpoint(Generator.from_config(TINY), base, recipe={"steps_done": 1})
    monkeypatch.setattr(safetensors.torch, "save_file", _disk_full_after(target=1))
    manager = RunManager()
    manager.start(
        base=base,
        data=TrainingData([photo], ["p"], "test"),
        steps=2,
        hr_patch=32,
        batch_size=1,
        device="cpu",
        checkpoint_every=1,
    )
    status = manager.wait(120)
    assert status.state == "failed" and "disk is full" in status.error and "Traceback" not in status.error
    run = manager.root / status.name
    assert not (run / "generator.safetensors").exists() and _no_temp_files(run)
    assert json.loads((run / "run.json").read_text())["state"] == "failed"


# -- clean-up on a schedule -----------------------------------------------------------------------


def _old_run(root: Path, name: str, created: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"created": created, "state": "done"}))
    return folder


def test_cleanup_deletes_old_runs_and_stale_temp_files_only(tmp_path):
    root, now = tmp_path / "runs", time.time()
    old = _old_run(root, "20200101-000000_old", now - 30 * 86400)
    recent = _old_run(root, "20200102-000000_recent", now - 3600)
    (root / "not-a-run").mkdir()  # someone's folder: never touched
    stale, fresh = recent / ".generator.safetensors.abc.tmp", recent / ".generator.safetensors.def.tmp"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(stale, (now - 7200, now - 7200))
    deleted = RunManager(root, keep=10).cleanup(max_age_s=7 * 86400, now=now)
    assert deleted == [old.name] and not old.exists() and recent.is_dir() and (root / "not-a-run").is_dir()
    assert not stale.exists() and fresh.exists()  # a write in progress is left alone


def test_cleanup_keeps_only_the_last_n(tmp_path):
    root, now = tmp_path / "runs", time.time()
    for k in range(5):
        _old_run(root, f"2020010{k}-000000_r", now - 100 + k)
    deleted = RunManager(root, keep=2).cleanup(max_age_s=None, now=now)
    assert len(deleted) == 3 and sorted(p.name for p in root.iterdir()) == ["20200103-000000_r", "20200104-000000_r"]


def test_the_schedule_runs_again_and_again(tmp_path, monkeypatch):
    import srgan.classroom.runs

    root = tmp_path / "runs"
    monkeypatch.setattr(srgan.classroom.runs, "_manager", RunManager(root))
    calls = []
    stop = schedule_cleanup(0.05, max_age_s=60, also=lambda: calls.append(1))
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        late = _old_run(root, "20200101-000000_late", time.time() - 3600)  # appears after the first pass
        while late.exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        stop.set()


def test_old_temporary_downloads_are_pruned(tmp_path):
    from ui.launch import prune_temp_folders

    now = time.time()
    old, new, other = tmp_path / "srgan-compare-old", tmp_path / "srgan-compare-new", tmp_path / "someone-else"
    for folder in (old, new, other):
        folder.mkdir()
        (folder / "x.png").write_bytes(b"png")
    for folder in (old, other):
        os.utime(folder, (now - 3 * 3600, now - 3 * 3600))
    assert prune_temp_folders(root=tmp_path, max_age_s=2 * 3600, now=now) == 1
    assert not old.exists() and new.is_dir() and other.is_dir()
