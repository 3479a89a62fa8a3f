import numpy as np
import pytest
import torch
from PIL import Image

from srgan import data


def test_builtin_images_are_found_and_split():
    all_images = data.builtin_image_paths()
    train, heldout = data.builtin_image_paths(split="train"), data.builtin_image_paths(split="heldout")
    assert len(all_images) >= 10
    assert set(heldout) == set(data.HELD_OUT) and not set(train) & set(heldout)
    assert set(train) | set(heldout) == set(all_images)


def test_bicubic_downsample_requires_a_multiple_and_matches_pil(photo):
    lr = data.bicubic_downsample(photo, 4)
    assert lr.size == (24, 24)
    assert np.array_equal(np.asarray(lr), np.asarray(photo.resize((24, 24), Image.Resampling.BICUBIC)))
    with pytest.raises(ValueError, match="multiple"):
        data.bicubic_downsample(photo.crop((0, 0, 95, 96)), 4)


def test_pairs_are_aligned_crops_of_the_whole_downsampled_image(photo):
    ds = data.PairedPatchDataset([photo], scale=4, hr_patch=32, augment=False, seed=3)
    lr_full = np.asarray(data.bicubic_downsample(photo, 4))
    hr_full = np.asarray(photo)
    lr, hr = ds[7]
    assert lr.shape == (3, 8, 8) and hr.shape == (3, 32, 32)
    assert 0 <= lr.min() and lr.max() <= 1 and -1 <= hr.min() and hr.max() <= 1
    lr_u8 = (lr * 255).round().byte().permute(1, 2, 0).numpy()
    hr_u8 = ((hr + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    # Find where the LR crop came from, then check the HR crop is the matching x4 region.
    ys, xs = np.where((lr_full[:-7, :-7, 0] == lr_u8[0, 0, 0]))
    match = [(y, x) for y, x in zip(ys, xs) if np.array_equal(lr_full[y : y + 8, x : x + 8], lr_u8)]
    assert match, "the LR crop is not a crop of the downsampled image"
    y, x = match[0]
    assert np.array_equal(hr_full[4 * y : 4 * y + 32, 4 * x : 4 * x + 32], hr_u8)


def test_batches_are_a_pure_function_of_the_step(photo):
    ds = data.PairedPatchDataset([photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], hr_patch=32, seed=1)
    a, b = ds.batch(5, 4), ds.batch(5, 4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(ds.batch(6, 4)[1], a[1])
    r0, r1 = ds.batch(5, 4, rank=0, world_size=2), ds.batch(5, 4, rank=1, world_size=2)
    assert not torch.equal(r0[1], r1[1])


def test_images_smaller_than_the_patch_are_refused(photo):
    with pytest.raises(ValueError, match="smaller than"):
        data.PairedPatchDataset([photo.resize((40, 40))], hr_patch=96)
    with pytest.raises(ValueError, match="no training images"):
        data.PairedPatchDataset([], hr_patch=96)


def test_folder_loading(tmp_path, photo):
    photo.save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not an image")
    images, names = data.load_training_images(str(tmp_path))
    assert names == ["a.png"] and images[0].size == (96, 96)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        data.load_training_images(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        data.load_training_images(str(tmp_path / "missing"))


def test_corpus_photos_come_at_several_scales_with_their_sharp_crop(tmp_path, photo):
    import json

    from srgan.data import load_corpus

    (tmp_path / "train").mkdir()
    big = photo.resize((960, 960))
    big.save(tmp_path / "train" / "big.png")
    photo.save(tmp_path / "train" / "small.png")
    entries = [
        {"name": "big", "split": "train", "file": "train/big.png", "crop": [0, 0, 960, 480]},
        {"name": "small", "split": "train", "file": "train/small.png", "crop": None},
        {"name": "held", "split": "heldout", "file": None},
    ]
    (tmp_path / "corpus.json").write_text(json.dumps({"photos": entries}))
    images, names = load_corpus(tmp_path, sides=(800, 400))
    assert names == ["big@800", "big@400", "small"]
    assert [im.size for im in images] == [(800, 400), (400, 200), photo.size]
    with pytest.raises(ValueError, match="corpus.json"):
        load_corpus(tmp_path / "nowhere")


def test_soft_copies_are_blurred_photos_with_their_own_lr_drawn_at_their_share():
    from PIL import ImageFilter

    from srgan.config import TrainConfig
    from srgan.data import PairedPatchDataset, bicubic_downsample

    photo = Image.fromarray((np.random.default_rng(1).random((64, 96, 3)) * 255).astype(np.uint8))
    data = PairedPatchDataset([photo], hr_patch=32, soft_sigmas=(1.5,), soft_share=0.25, augment=False)
    assert data.weights.tolist() == [0.75, 0.25]
    soft_hr = photo.filter(ImageFilter.GaussianBlur(1.5))
    assert np.array_equal(data.pairs[1].hr.permute(1, 2, 0).numpy(), np.asarray(soft_hr))
    assert np.array_equal(data.pairs[1].lr.permute(1, 2, 0).numpy(), np.asarray(bicubic_downsample(soft_hr, 4)))
    draws = [int(torch.multinomial(data.weights, 1, generator=torch.Generator().manual_seed(i))) for i in range(2000)]
    assert 0.21 < np.mean(draws) < 0.29
    config = TrainConfig(soft_sigmas=(1.0, 2.0), soft_share=0.3)
    assert TrainConfig.from_dict(config.to_dict()) == config  # what a resumed run reads back
    for bad in (dict(soft_sigmas=(1.0,)), dict(soft_sigmas=(0.0,), soft_share=0.3), dict(soft_share=0.3)):
        with pytest.raises(ValueError, match="soft-copy"):
            TrainConfig(**bad)
