"""srgan.classroom.gan_game: the GAN game stepped by hand, on the training loop's own updates."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from srgan import training
from srgan.classroom import gan_game
from srgan.classroom.gan_game import GameError, GanGame


@pytest.fixture
def game(tiny_checkpoint, photo):
    g = GanGame(photo, generator=str(tiny_checkpoint), adversarial_weight=1e-2)
    yield g
    g.close()


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_a_discriminator_step_moves_d_only_and_separates_hr_from_sr(game, monkeypatch):
    calls = []
    real = training.discriminator_step
    monkeypatch.setattr(training, "discriminator_step", lambda *a, **k: calls.append(1) or real(*a, **k))
    g_before, d_before = _params(game.players.generator), _params(game.players.discriminator)
    record = game.discriminator_step()
    assert calls == [1]  # the training loop's update, not a copy of it
    assert _same(g_before, _params(game.players.generator))
    assert not _same(d_before, _params(game.players.discriminator))
    assert set(record.losses) == {"discriminator"} and record.kind == "D" and record.d_steps == 1
    margin = lambda s: s.d_hr - s.d_sr
    assert margin(record.after) > margin(record.before)
    assert record.before.sr.size == record.after.sr.size == (128, 128)


def test_a_generator_step_moves_g_only_on_eq3(game):
    d_before = _params(game.players.discriminator)
    first = game.discriminator_step()
    d_after_d = _params(game.players.discriminator)
    record = game.generator_step()
    assert record.before == first.after  # the "before" of a press is the "after" of the last one
    assert _same(d_after_d, _params(game.players.discriminator)) and not _same(d_before, d_after_d)
    losses = record.losses
    assert set(losses) == {"content", "adversarial", "perceptual"}
    assert losses["perceptual"] == pytest.approx(losses["content"] + 1e-2 * losses["adversarial"], rel=1e-5)
    assert record.after.sr.tobytes() != record.before.sr.tobytes()  # the SR crops changed
    assert (record.d_steps, record.g_steps) == (1, 1)


def test_measuring_leaves_batchnorm_statistics_alone(game):
    bn = next(m for m in game.players.generator.modules() if isinstance(m, torch.nn.BatchNorm2d))
    mean = bn.running_mean.clone()
    game._measure()
    assert torch.equal(mean, bn.running_mean)


def test_run_takes_full_steps_and_refuses_silly_counts(game):
    record = game.run(3)
    assert record.kind == "DG" and (record.d_steps, record.g_steps) == (3, 3) and len(game.history) == 1
    assert {"discriminator", "content", "adversarial", "perceptual"} <= set(record.losses)
    with pytest.raises(GameError):
        game.run(0)
    with pytest.raises(GameError):
        game.run(gan_game.MAX_RUN + 1)


def test_games_are_counted_bounded_and_freed(tiny_checkpoint, photo, monkeypatch):
    start = gan_game.live_games()
    game = GanGame(photo, generator=str(tiny_checkpoint))
    assert gan_game.live_games() == start + 1
    monkeypatch.setattr(gan_game, "MAX_GAMES", gan_game.live_games())
    with pytest.raises(GameError, match="already open"):
        GanGame(photo, generator=str(tiny_checkpoint))
    game.close()
    assert gan_game.live_games() == start and game.players is None


def test_bad_inputs(tiny_checkpoint):
    with pytest.raises(GameError, match="at least 64"):
        GanGame(Image.new("RGB", (40, 90)), generator=str(tiny_checkpoint))
    with pytest.raises(GameError, match="weight"):
        GanGame(Image.new("RGB", (90, 90)), generator=str(tiny_checkpoint), adversarial_weight=0)
