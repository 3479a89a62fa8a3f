import json

import pytest
import torch

from srgan.checkpoints import load_generator
from srgan.config import GeneratorConfig, TrainConfig
from srgan.training import StepLog, TrainingError, read_log, train

TINY = GeneratorConfig(scale=4, num_residual_blocks=1, channels=8)


def _config(**overrides):
    base = dict(steps=4, batch_size=2, hr_patch=32, checkpoint_every=2, eval_every=2, generator=TINY, seed=0)
    return TrainConfig.preset_srresnet(**(base | overrides))


def test_overfits_one_batch(photo, tmp_path):
    # The same patch every step (a single 32x32 image, no augmentation): the MSE must fall fast.
    config = _config(steps=60, hr_patch=32, batch_size=1, augment=False, learning_rate=1e-3, checkpoint_every=60)
    seen: list[StepLog] = []
    train(
        config,
        images=[photo.crop((0, 0, 32, 32))],
        image_names=["crop"],
        out_dir=tmp_path,
        callback=seen.append,
        progress=False,
    )
    first, last = seen[0].losses["content"], seen[-1].losses["content"]
    assert len(seen) == 60 and last < 0.2 * first


def test_resume_is_exact(photo, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(_config(steps=4), images=[photo], image_names=["p"], out_dir=straight, progress=False)
    train(_config(steps=2), images=[photo], image_names=["p"], out_dir=split, progress=False)
    train(_config(steps=4), images=[photo], image_names=["p"], out_dir=split, resume=True, progress=False)
    a, _ = load_generator(straight / "generator.safetensors")
    b, meta = load_generator(split / "generator.safetensors")
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(x, y, atol=1e-6), k
    assert [e["step"] for e in read_log(split)] == [1, 2, 3, 4]
    assert meta["recipe"]["steps_done"] == 4


def test_without_save_state_no_training_state_is_written(photo, tmp_path):
    """What the app's fine-tunes do: checkpoints of the weights, never the ~300 MB resumable state."""
    train(_config(steps=4), images=[photo], image_names=["p"], out_dir=tmp_path, progress=False, save_state=False)
    assert (tmp_path / "generator.safetensors").is_file() and not (tmp_path / "state.pt").exists()
    assert load_generator(tmp_path / "generator.safetensors")[1]["recipe"]["steps_done"] == 4


def test_srgan_stage_logs_every_term_and_saves_the_discriminator(photo, tmp_path):
    init = tmp_path / "init"
    train(_config(steps=1), images=[photo], image_names=["p"], out_dir=init, progress=False)
    config = TrainConfig.preset_srgan(
        content_loss="mse",
        init_from=str(init / "generator.safetensors"),
        steps=2,
        batch_size=2,
        hr_patch=32,
        generator=TINY,
        checkpoint_every=2,
    )
    train(config, images=[photo], image_names=["p"], out_dir=tmp_path / "gan", progress=False)
    entry = read_log(tmp_path / "gan")[-1]
    assert {"content", "adversarial", "perceptual", "discriminator", "d_hr", "d_sr"} <= entry.keys()
    assert entry["perceptual"] == pytest.approx(entry["content"] + 1e-3 * entry["adversarial"], rel=1e-5)
    assert 0 < entry["d_hr"] < 1 and 0 < entry["d_sr"] < 1
    assert (tmp_path / "gan" / "discriminator.safetensors").is_file()


def test_divergence_stops_with_a_message_and_keeps_the_last_checkpoint(photo, tmp_path, monkeypatch):
    from srgan import losses

    train(_config(steps=2), images=[photo], image_names=["p"], out_dir=tmp_path, progress=False)
    before = (tmp_path / "generator.safetensors").read_bytes()
    real_mse = losses.mse_content_loss
    calls = []

    def exploding(sr, hr):  # what a far too large learning rate does after a few steps
        calls.append(1)
        return real_mse(sr, hr) * (float("nan") if len(calls) >= 3 else 1.0)

    monkeypatch.setattr(losses, "mse_content_loss", exploding)
    with pytest.raises(TrainingError, match="diverged at step 5"):
        train(
            _config(steps=30, checkpoint_every=1),
            images=[photo],
            image_names=["p"],
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )
    assert read_log(tmp_path)[-1]["step"] == 4
    after = load_generator(tmp_path / "generator.safetensors")[1]
    assert after["recipe"]["steps_done"] == 4 and (tmp_path / "generator.safetensors").read_bytes() != before


def test_stop_event_saves_and_returns(photo, tmp_path):
    import threading

    stop = threading.Event()
    train(
        _config(steps=50, checkpoint_every=100),
        images=[photo],
        image_names=["p"],
        out_dir=tmp_path,
        callback=lambda e: stop.set() if e.step == 3 else None,
        stop=stop,
        progress=False,
    )
    assert json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])["step"] == 3
    assert load_generator(tmp_path / "generator.safetensors")[1]["recipe"]["steps_done"] == 3


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="multiple of the scale"):
        TrainConfig(hr_patch=30)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)


def test_scratch_training_starts_checkerboard_free_with_icnr(photo, tmp_path):
    # ICNR (not in the paper): at step 0, the r*r sub-pixel filters of each output channel are equal,
    # so PixelShuffle's output has no r-periodic pattern. One step at a tiny learning rate keeps it so.
    from srgan.models import Generator
    from srgan.training import initialise_upsampling_icnr

    g = Generator.from_config(TINY)
    initialise_upsampling_icnr(g)
    for block in g.upsample:
        w = block.conv.weight  # (C*r*r, C, 3, 3)
        r = block.shuffle.upscale_factor
        grouped = w.reshape(-1, r * r, *w.shape[1:])  # (C, r*r, C, 3, 3)
        assert torch.equal(grouped, grouped[:, :1].expand_as(grouped))
        assert not block.conv.bias.any()
    assert _config().icnr_init and not TrainConfig.from_dict({"steps": 1}).icnr_init  # old recipes: no ICNR


def test_srgan_train_stays_the_function_after_the_classroom_imports_the_module():
    """`srgan.train` is a lazy export; the module is `srgan.training`, so importing it never shadows the function."""
    import srgan
    import srgan.classroom.runs  # noqa: F401 (imports srgan.training)

    assert callable(srgan.train) and srgan.train is train
    assert srgan.train.__module__ == "srgan.training"


def _srgan_config(init, **overrides):
    base = dict(
        content_loss="mse",
        init_from=str(init),
        steps=3,
        batch_size=2,
        hr_patch=32,
        generator=TINY,
        checkpoint_every=3,
        eval_every=3,
    )
    return TrainConfig.preset_srgan(**(base | overrides))


def test_ema_is_the_moving_average_of_the_generator_and_is_saved(photo, tmp_path):
    """θ_EMA after one step = d·θ_0 + (1 − d)·θ_1: the average the run ships beside G."""
    train(_config(steps=1), images=[photo], image_names=["p"], out_dir=tmp_path / "init", progress=False)
    init = tmp_path / "init" / "generator.safetensors"
    train(
        _srgan_config(init, steps=1, ema_decay=0.9, checkpoint_every=1),
        images=[photo],
        image_names=["p"],
        out_dir=tmp_path / "gan",
        progress=False,
    )
    theta0 = load_generator(init)[0].state_dict()
    theta1 = load_generator(tmp_path / "gan" / "generator.safetensors")[0].state_dict()
    ema, meta = load_generator(tmp_path / "gan" / "generator_ema.safetensors")
    for name in ("head.0.weight", "body_tail.1.running_mean", "body_tail.1.running_var"):  # weights and BN stats
        assert torch.allclose(ema.state_dict()[name], 0.9 * theta0[name] + 0.1 * theta1[name], atol=1e-6), name
    name = "head.0.weight"
    assert not torch.allclose(theta0[name], theta1[name]) and meta["recipe"]["ema"] is True


@pytest.mark.parametrize("weights", ["ema", "last"])
def test_export_ships_the_ema_or_the_last_weights_as_asked(photo, tmp_path, monkeypatch, weights):
    from srgan import checkpoints, cli

    train(_config(steps=1), images=[photo], image_names=["p"], out_dir=tmp_path / "init", progress=False)
    run = tmp_path / "gan"
    config = _srgan_config(tmp_path / "init" / "generator.safetensors", steps=1, ema_decay=0.9, checkpoint_every=1)
    train(config, images=[photo], image_names=["p"], out_dir=run, progress=False)
    monkeypatch.setattr(checkpoints, "ASSETS", tmp_path / "assets")  # never the bundled files
    (tmp_path / "assets").mkdir()
    only = ["--generator-only"] if weights == "last" else []  # and the discriminator only when not asked to keep it
    assert cli.main(["export", str(run), "--name", "srgan", "--weights", weights, *only]) == 0
    assert (tmp_path / "assets" / checkpoints.BUNDLED["srgan_discriminator"]).is_file() == (not only)
    shipped = load_generator(tmp_path / "assets" / checkpoints.BUNDLED["srgan"])[0].state_dict()
    source = load_generator(run / ("generator_ema.safetensors" if weights == "ema" else "generator.safetensors"))[0]
    other = load_generator(run / ("generator.safetensors" if weights == "ema" else "generator_ema.safetensors"))[0]
    for name in ("head.0.weight", "tail.weight"):  # fp16 on disk: closer to the chosen weights than to the others
        to_source = (shipped[name] - source.state_dict()[name]).abs().sum()
        assert to_source < (shipped[name] - other.state_dict()[name]).abs().sum() / 4, name


def test_artifact_loss_is_logged_and_adds_to_the_perceptual_loss(photo, tmp_path):
    train(_config(steps=1), images=[photo], image_names=["p"], out_dir=tmp_path / "init", progress=False)
    config = _srgan_config(tmp_path / "init" / "generator.safetensors", ema_decay=0.99, artifact_weight=5.0)
    train(config, images=[photo], image_names=["p"], out_dir=tmp_path / "gan", progress=False)
    entry = read_log(tmp_path / "gan")[-1]
    assert entry["artifact"] > 0
    expected = entry["content"] + 1e-3 * entry["adversarial"] + 5.0 * entry["artifact"]
    assert entry["perceptual"] == pytest.approx(expected, rel=1e-5)


def test_a_run_can_start_from_a_given_discriminator(photo, tmp_path):
    """What the app's fine-tunes use: D starts from a checkpoint (no fake state.pt to resume from)."""
    from srgan.checkpoints import load_discriminator

    train(_config(steps=1), images=[photo], image_names=["p"], out_dir=tmp_path / "init", progress=False)
    init = tmp_path / "init" / "generator.safetensors"
    train(
        _srgan_config(init, steps=1, checkpoint_every=1),
        images=[photo],
        image_names=["p"],
        out_dir=tmp_path / "a",
        progress=False,
    )
    start = tmp_path / "a" / "discriminator.safetensors"
    train(
        _srgan_config(init, steps=1, checkpoint_every=1, learning_rate=1e-12),
        images=[photo],
        image_names=["p"],
        out_dir=tmp_path / "b",
        progress=False,
        initial_discriminator=start,
    )
    a, b = (
        load_discriminator(start)[0].state_dict(),
        load_discriminator(tmp_path / "b" / "discriminator.safetensors")[0],
    )
    name = "features.0.weight" if "features.0.weight" in a else next(iter(a))
    assert torch.allclose(a[name], b.state_dict()[name], atol=1e-5)  # a tiny step from the given D, not a new one


def test_the_relativistic_game_trains_and_adds_its_adversarial_term(photo, tmp_path):
    train(_config(steps=1), images=[photo], image_names=["p"], out_dir=tmp_path / "init", progress=False)
    config = _srgan_config(tmp_path / "init" / "generator.safetensors", relativistic=True)
    train(config, images=[photo], image_names=["p"], out_dir=tmp_path / "gan", progress=False)
    entry = read_log(tmp_path / "gan")[-1]
    assert entry["perceptual"] == pytest.approx(entry["content"] + 1e-3 * entry["adversarial"], rel=1e-5)
    with pytest.raises(ValueError, match="relativistic"):
        TrainConfig.preset_srresnet(relativistic=True)


def test_each_step_scores_the_batch_with_the_chosen_game(tmp_path):
    import contextlib

    from srgan import losses
    from srgan.training import Distributed, build_players, discriminator_step, generator_step

    torch.manual_seed(0)
    config = TrainConfig.preset_srgan(content_loss="mse", generator=TINY, hr_patch=32)
    hr, sr = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    for relativistic, loss_fn in ((False, losses.discriminator_loss), (True, losses.relativistic_discriminator_loss)):
        players = build_players(config, torch.device("cpu"), Distributed.from_env(torch.device("cpu")))
        with torch.no_grad():
            expected = loss_fn(players.discriminator(hr).float(), players.discriminator(sr).float())  # before the step
        terms = discriminator_step(players, hr, sr, autocast=contextlib.nullcontext(), relativistic=relativistic)
        assert terms["discriminator"].item() == pytest.approx(expected.item(), rel=1e-5)
    g_losses = ((False, lambda r, f: losses.adversarial_loss(f)), (True, losses.relativistic_adversarial_loss))
    lr_image = torch.rand(2, 3, 8, 8)
    for relativistic, loss_fn in g_losses:
        players = build_players(config, torch.device("cpu"), Distributed.from_env(torch.device("cpu")))
        sr_image = players.generator(lr_image)  # (2, 3, 32, 32), with its graph
        with torch.no_grad():
            expected = loss_fn(players.discriminator(hr).float(), players.discriminator(sr_image).float())
        terms = generator_step(players, hr, sr_image, losses.mse_content_loss, adversarial_weight=1e-3,
                               autocast=contextlib.nullcontext(), relativistic=relativistic)  # fmt: skip
        assert terms["adversarial"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_feature_matching_adds_its_weighted_term_with_either_game():
    import contextlib

    from srgan import losses
    from srgan.training import Distributed, build_players, generator_step

    torch.manual_seed(0)
    config = TrainConfig.preset_srgan(content_loss="mse", generator=TINY, hr_patch=32)
    hr, lr_image = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 8, 8)
    g_losses = ((False, lambda r, f: losses.adversarial_loss(f)), (True, losses.relativistic_adversarial_loss))
    for relativistic, adversarial_fn in g_losses:
        players = build_players(config, torch.device("cpu"), Distributed.from_env(torch.device("cpu")))
        sr_image = players.generator(lr_image)  # (2, 3, 32, 32), with its graph
        d = players.discriminator
        with torch.no_grad():  # the same D and batch before the step
            matching = losses.discriminator_feature_loss(d.feature_maps(sr_image), d.feature_maps(hr))
            adversarial = adversarial_fn(d(hr).float(), d(sr_image).float())
            content = losses.mse_content_loss(sr_image, hr)
        terms = generator_step(players, hr, sr_image, losses.mse_content_loss, adversarial_weight=1e-3,
                               autocast=contextlib.nullcontext(), relativistic=relativistic,
                               feature_matching_weight=0.5)  # fmt: skip
        assert terms["feature_matching"].item() == pytest.approx(matching.item(), rel=1e-5)
        assert terms["adversarial"].item() == pytest.approx(adversarial.item(), rel=1e-5)
        expected = content + 1e-3 * adversarial + 0.5 * matching
        assert terms["perceptual"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_feature_matching_needs_a_discriminator_and_a_sane_weight():
    with pytest.raises(ValueError, match="feature matching needs an SRGAN"):
        TrainConfig.preset_srresnet(feature_matching_weight=0.01)
    with pytest.raises(ValueError, match="feature-matching weight"):
        TrainConfig.preset_srgan(content_loss="mse", feature_matching_weight=-1)


def test_the_artifact_loss_needs_the_ema():
    with pytest.raises(ValueError, match="EMA"):
        TrainConfig.preset_srgan(content_loss="mse", artifact_weight=1.0)


def test_the_content_weight_scales_the_content_term_and_is_named():
    from srgan.training import _content_loss_fn

    sr, hr = torch.full((1, 3, 8, 8), 0.5), torch.zeros(1, 3, 8, 8)
    fn, label = _content_loss_fn(TrainConfig(preset="srgan", content_loss="l1", content_weight=0.1), torch.device("cpu"))
    assert fn(sr, hr).item() == pytest.approx(0.05) and label == "0.1 · L1 (beyond the paper)"
    fn, label = _content_loss_fn(TrainConfig(preset="srgan", content_loss="mse"), torch.device("cpu"))
    assert fn(sr, hr).item() == pytest.approx(0.25) and label == "MSE (Eq. 4)"  # the paper's, unweighted
    with pytest.raises(ValueError, match="content weight"):
        TrainConfig(content_weight=0)


def test_the_flat_boost_weights_the_pixel_loss_and_is_named(photo):
    import numpy as np

    from srgan.training import _content_loss_fn

    hr = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1).unsqueeze(0)
    sr = hr + 0.1  # the same error everywhere: the loss is 0.1 times the mean weight
    config = TrainConfig(preset="srgan", content_loss="l1", content_weight=0.1, flat_boost=3.0)
    fn, label = _content_loss_fn(config, torch.device("cpu"))
    assert fn(sr, hr).item() == pytest.approx(0.1 * 0.1 * 2.0, rel=1e-3)  # linear ranks: mean weight (1 + 3) / 2
    assert label == "0.1 · L1 (beyond the paper), x3 where HR is flattest"
    for bad in (dict(flat_boost=0.5), dict(flat_boost=11.0), dict(flat_boost=2.0, content_loss="vgg54")):
        with pytest.raises(ValueError, match="flat boost"):
            TrainConfig(**bad)
