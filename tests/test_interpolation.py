"""Network interpolation (srgan/interpolation.py): the ends are the two models exactly, the middle is the midpoint."""

import numpy as np
import pytest
import torch
from PIL import Image

from srgan.checkpoints import save_checkpoint
from srgan.engine.inference import Upscaler
from srgan.interpolation import interpolate_state_dicts, interpolated_generator, interpolated_upscaler
from srgan.models import Generator


def _randomise_bn(generator: Generator, seed: int) -> Generator:
    """Give every BatchNorm non-default running statistics, so that blending them is actually tested."""
    g = torch.Generator().manual_seed(seed)
    for m in generator.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.num_batches_tracked.fill_(100 + seed)
    return generator


@pytest.fixture
def pair(tiny_generator):
    """Two tiny generators of the same architecture with different weights and BN statistics."""
    torch.manual_seed(1)
    other = Generator(scale=4, num_residual_blocks=2, channels=16).eval()
    return _randomise_bn(tiny_generator, 0), _randomise_bn(other, 1)


@pytest.fixture
def lr_batch():
    torch.manual_seed(2)
    return torch.rand(1, 3, 12, 10)  # (B, 3, H, W) in [0, 1]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_the_ends_reproduce_the_two_models_exactly(pair, lr_batch, alpha):
    a, b = pair
    end = a if alpha == 0.0 else b
    blended = interpolated_generator(a, b, alpha)
    state, expected = blended.state_dict(), end.state_dict()
    assert state.keys() == expected.keys()
    for name in expected:
        assert torch.equal(state[name], expected[name]), name  # bit for bit, counters included
    with torch.no_grad():
        assert torch.equal(blended(lr_batch), end(lr_batch))


def test_the_middle_is_the_midpoint_of_every_float_tensor(pair, lr_batch):
    a, b = pair
    sa, sb = a.state_dict(), b.state_dict()
    mid = interpolate_state_dicts(sa, sb, 0.5)
    for name, value in mid.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (sa[name] + sb[name]) / 2, rtol=0, atol=1e-6)
    # BN running statistics are blended like the weights; the integer counter comes from the nearer end (b at 0.5).
    assert torch.allclose(
        mid["body_tail.1.running_var"], (sa["body_tail.1.running_var"] + sb["body_tail.1.running_var"]) / 2
    )
    assert not torch.equal(mid["body_tail.1.running_var"], sa["body_tail.1.running_var"])
    assert int(mid["body_tail.1.num_batches_tracked"]) == 101
    assert int(interpolate_state_dicts(sa, sb, 0.49)["body_tail.1.num_batches_tracked"]) == 100
    with torch.no_grad():
        out = interpolated_generator(a, b, 0.5)(lr_batch)  # (1, 3, 48, 40)
        assert out.shape == (1, 3, 48, 40)
        assert not torch.equal(out, a(lr_batch)) and not torch.equal(out, b(lr_batch))


def test_the_inputs_are_not_modified(pair):
    a, b = pair
    before = {k: v.clone() for k, v in a.state_dict().items()}
    interpolated_generator(a, b, 0.3)
    assert all(torch.equal(before[k], v) for k, v in a.state_dict().items())


def test_different_architectures_give_a_clear_error(tiny_generator):
    narrower = Generator(scale=4, num_residual_blocks=2, channels=8)
    deeper = Generator(scale=4, num_residual_blocks=3, channels=16)
    with pytest.raises(ValueError, match="different architectures"):
        interpolated_generator(tiny_generator, narrower, 0.5)
    with pytest.raises(ValueError, match=r"different architectures.*head\.0\.weight \(16, 3, 9, 9\) vs \(8, 3, 9, 9\)"):
        interpolate_state_dicts(tiny_generator.state_dict(), narrower.state_dict(), 0.5)
    with pytest.raises(ValueError, match=r"only in the second \['residual_blocks\.2\."):
        interpolate_state_dicts(tiny_generator.state_dict(), deeper.state_dict(), 0.5)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan")])
def test_alpha_outside_zero_one_is_refused(pair, alpha):
    with pytest.raises(ValueError, match="between 0 and 1"):
        interpolated_generator(*pair, alpha)


def test_cached_upscaler_between_two_checkpoints(tmp_path, pair):
    a, b = pair
    path_a, path_b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    for model, path in ((a, path_a), (b, path_b)):
        save_checkpoint(model, path, recipe={"steps_done": 1})
    lr_image = Image.fromarray((np.random.default_rng(0).random((16, 20, 3)) * 255).astype(np.uint8))
    mid = interpolated_upscaler(path_a, path_b, 0.5)
    assert interpolated_upscaler(path_a, path_b, 0.5) is mid  # the slider coming back never rebuilds it
    assert interpolated_upscaler(path_a, path_b, 0.7) is not mid
    expected = Upscaler(interpolated_generator(a, b, 0.5))(lr_image)
    assert np.array_equal(np.asarray(mid(lr_image)), np.asarray(expected))
    # The ends are the plain models' upscalers.
    assert np.array_equal(
        np.asarray(interpolated_upscaler(path_a, path_b, 0.0)(lr_image)), np.asarray(Upscaler(a)(lr_image))
    )
    narrow = Generator(scale=4, num_residual_blocks=2, channels=8)
    save_checkpoint(narrow, tmp_path / "narrow.safetensors", recipe={"steps_done": 1})
    with pytest.raises(ValueError, match="different architectures"):
        interpolated_upscaler(path_a, tmp_path / "narrow.safetensors", 0.5)
