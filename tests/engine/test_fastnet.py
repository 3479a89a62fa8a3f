"""The inference rewrites of srgan/engine/fastnet.py compute the plain generator's function."""

import pytest
import torch
from conftest import trained_like_generator

from srgan.engine import fastnet


@pytest.mark.parametrize("channels", [8, 16])  # 16: the Winograd kernel runs every 3x3 conv; 8: only the tail
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize(("height", "width"), [(9, 7), (23, 12), (40, 5)])
def test_row_bands_give_the_same_image(monkeypatch, scale, height, width, channels):
    g = trained_like_generator(scale=scale, channels=channels)
    fast = fastnet.prepare_for_inference(g).to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, height, width).contiguous(memory_format=torch.channels_last)
    monkeypatch.setattr(fastnet, "_BAND_BYTES", 1)  # the smallest bands (8 rows), a short last one
    tail = fast.upsample[-1]
    calls = []
    tail.tail.register_forward_hook(lambda module, args, out: calls.append(out.shape[2]))
    with torch.inference_mode():
        banded, plain = fast(x), g(x)
    mid_rows = height * scale // 2
    assert calls == [8] * (mid_rows // 8) + [mid_rows % 8] * (mid_rows % 8 > 0)  # one tail call per band
    assert banded.shape == plain.shape == (1, 3, scale * height, scale * width)
    assert torch.allclose(banded, plain, atol=1e-5)
    assert tail.tail.out_channels == 12  # 3 colours x 2² sub-pixels


def test_prepare_for_inference_leaves_the_generator_alone():
    g = trained_like_generator(channels=8)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    fastnet.prepare_for_inference(g)
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules())


def test_keep_freed_memory_takes_on_glibc():
    import platform

    # mallopt exists and accepts the thresholds on glibc (this CI); elsewhere the call is skipped, not an error
    assert fastnet.keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
