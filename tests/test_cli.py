"""The command line end to end, in a subprocess, as a user runs it (and one in-process test that counts memory)."""

import json
import subprocess
import sys

import pytest
from PIL import Image


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "srgan", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_upscale_writes_png_at_4x(tmp_path, tiny_checkpoint, photo):
    photo.resize((20, 12)).save(tmp_path / "a.jpg")
    photo.convert("L").resize((8, 8)).save(tmp_path / "b.png")
    out = tmp_path / "out"
    result = run("upscale", "--model", tiny_checkpoint, "--out-dir", out, tmp_path / "a.jpg", tmp_path / "b.png")
    assert result.returncode == 0, result.stderr
    assert Image.open(out / "a.png").size == (80, 48) and Image.open(out / "b.png").size == (32, 32)


def test_upscale_holds_one_decoded_photo_at_a_time(tmp_path, photo, monkeypatch):
    """A batch is checked first, then decoded again one file at a time: memory does not grow with the batch."""
    import weakref

    from srgan import cli, images
    from srgan.engine import inference

    decoded: list[weakref.ref] = []
    decode, upscale, seen = images.open_image, inference.BicubicUpscaler.__call__, []

    def tracked_open(path, **kwargs):
        image = decode(path, **kwargs)
        decoded.append(weakref.ref(image))
        return image

    def tracked_upscale(self, image, **kwargs):
        seen.append(sum(ref() is not None for ref in decoded))  # decoded photos alive while this one is upscaled
        return upscale(self, image, **kwargs)

    monkeypatch.setattr(images, "open_image", tracked_open)
    monkeypatch.setattr(inference.BicubicUpscaler, "__call__", tracked_upscale)
    paths = [tmp_path / f"{k}.png" for k in range(4)]
    for k, path in enumerate(paths):
        photo.resize((8 + k, 8)).save(path)
    assert cli.main(["upscale", "--model", "bicubic", "--out-dir", str(tmp_path / "o"), *map(str, paths)]) == 0
    assert seen == [1, 1, 1, 1] and Image.open(tmp_path / "o" / "3.png").size == (44, 32)


def test_upscale_bicubic_needs_no_weights(tmp_path, photo):
    photo.resize((10, 10)).save(tmp_path / "x.png")
    assert run("upscale", "--model", "bicubic", "--out-dir", tmp_path / "o", tmp_path / "x.png").returncode == 0
    assert Image.open(tmp_path / "o" / "x.png").size == (40, 40)


@pytest.mark.parametrize("content", [b"", b"this is text, not a PNG", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_unreadable_images_exit_2_with_one_line(tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    result = run("upscale", "--model", "bicubic", "--out-dir", tmp_path / "o", bad)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.png" in result.stderr
    assert not (tmp_path / "o" / "bad.png").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["upscale", "--out-dir", "x"],  # no input
        ["upscale", "--model", "no-such-model", "--out-dir", "o", "missing.png"],
        ["train", "--preset", "srresnet", "--steps", "0", "--out", "r"],
        ["train", "--preset", "nope", "--steps", "1", "--out", "r"],
        ["train", "--preset", "srgan", "--steps", "1", "--soft-share", "0.3", "--out", "r"],  # no blurs given
        ["train", "--preset", "srgan", "--steps", "1", "--content-loss", "l1", "--content-weight", "0", "--out", "r"],
        ["train", "--preset", "srgan", "--steps", "1", "--soft-copies", "9", "--soft-share", "0.3", "--out", "r"],
        ["train", "--preset", "srgan", "--steps", "1", "--content-loss", "l1", "--flat-boost", "0.5", "--out", "r"],
        ["evaluate", "--hr-dir", "does-not-exist", "--json"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, args):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("srgan: error:")


def test_evaluate_prints_one_json_object(tmp_path, tiny_checkpoint, photo):
    hr_dir = tmp_path / "hr"
    hr_dir.mkdir()
    photo.save(hr_dir / "one.png")
    photo.transpose(Image.Transpose.ROTATE_90).save(hr_dir / "two.png")
    result = run("evaluate", "--hr-dir", hr_dir, "--models", "bicubic", tiny_checkpoint, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["images"] == 2 and report["protocol"]["border_crop"] == 4
    bicubic = report["models"]["bicubic"]
    assert {"psnr_y", "ssim_y", "gradient_ratio"} <= bicubic.keys()
    assert 20 < bicubic["psnr_y"] < 40 and bicubic["gradient_ratio"] < 1
    assert "grid_score" in bicubic and report["hr_grid_score"] is not None
    per_image = report["per_image"]["bicubic"]  # one row per photo; the summary is their mean (PSNR)
    assert set(per_image) == {"one", "two"}
    assert bicubic["psnr_y"] == pytest.approx(sum(r["psnr_y"] for r in per_image.values()) / 2, abs=1e-3)
    table = run("evaluate", "--hr-dir", hr_dir, "--models", "bicubic", "--per-image")
    rows = [line.split() for line in table.stdout.splitlines() if line.startswith(("one ", "two "))]
    assert [r[:2] for r in rows] == [["one", "bicubic"], ["two", "bicubic"]], table.stdout
    assert float(rows[0][2]) == pytest.approx(per_image["one"]["psnr_y"], abs=0.01)


def test_train_then_resume_from_the_cli(tmp_path, photo):
    data = tmp_path / "data"
    data.mkdir()
    photo.save(data / "p.png")
    common = [
        "train",
        "--preset",
        "srresnet",
        "--data",
        data,
        "--out",
        tmp_path / "run",
        "--hr-patch",
        "32",
        "--batch-size",
        "2",
        "--num-residual-blocks",
        "1",
        "--checkpoint-every",
        "2",
    ]
    assert run(*common, "--steps", "2").returncode == 0
    result = run(*common, "--steps", "3", "--resume")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3]


def test_bench_prints_figures_as_json():
    result = run("bench", "--sizes", "16", "--repeats", "1", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    row = report["rows"][0]
    assert row["size"] == 16 and row["gflop"] == pytest.approx(72.685 * (16 * 16) / (128 * 128), abs=0.01)
    assert row["plain_ms"] > 0 and row["upscaler_ms"] > 0 and report["matmul_peak_gflops"] > 0
    assert row["plain_ms_same_allocator"] > 0 and row["speedup_same_allocator"] > 0
