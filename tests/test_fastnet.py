"""The inference rewrites of srgan/fastnet.py compute the plain generator's function."""

import pytest
import torch
from conftest import trained_like_generator

from srgan import fastnet

_CONV_ROWS = fastnet._conv_rows


@pytest.mark.parametrize("channels", [8, 16])  # 16: the Winograd kernel runs the 3x3 convolutions (8: PyTorch)
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize(("height", "width"), [(9, 7), (23, 12), (40, 5)])
def test_row_bands_give_the_same_image(monkeypatch, scale, height, width, channels):
    g = trained_like_generator(scale=scale, channels=channels)
    fast = fastnet.prepare_for_inference(g).to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, height, width).contiguous(memory_format=torch.channels_last)
    monkeypatch.setattr(fastnet, "_BAND_BYTES", 1)  # the smallest bands (8 rows), a short last one
    tail = fast.upsample[-1]
    calls = []
    monkeypatch.setattr(fastnet, "_conv_rows", lambda *a, **k: calls.append(a[3:5]) or _CONV_ROWS(*a, **k))
    with torch.inference_mode():
        banded, plain = fast(x), g(x)
    mid_rows = height * scale // 2
    assert len(calls) == -(-mid_rows // 8)  # one tail convolution per band: the bands did run
    assert banded.shape == plain.shape == (1, 3, scale * height, scale * width)
    assert torch.allclose(banded, plain, atol=1e-5)
    assert tail.tail.out_channels == 12  # 3 colours x 2² sub-pixels


@pytest.mark.parametrize(("r0", "r1"), [(0, 4), (3, 9), (7, 12), (0, 12)])
def test_conv_rows_equal_the_same_rows_of_the_whole_convolution(r0, r1):
    torch.manual_seed(r0 + r1)
    conv = torch.nn.Conv2d(4, 5, 5, padding=2)
    x = torch.randn(1, 4, 12, 6)
    with torch.no_grad():
        whole = conv(x)
        # from the whole image, and from only the rows [x0, x1) the output rows can see
        assert torch.allclose(fastnet._conv_rows(conv, x, 0, r0, r1), whole[:, :, r0:r1], atol=1e-6)
        x0, x1 = max(r0 - 2, 0), min(r1 + 2, 12)
        part = fastnet._conv_rows(conv, x[:, :, x0:x1], x0, r0, r1, height=12)
        assert torch.allclose(part, whole[:, :, r0:r1], atol=1e-6)


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
