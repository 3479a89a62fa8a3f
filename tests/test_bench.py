"""The benchmark's FLOP counts: the figures docs/benchmarks.md divides by."""

import pytest
import torch

from srgan.bench import conv_flops, layer_profile
from srgan.engine.fastnet import prepare_for_inference
from srgan.engine.winograd import available_variants
from srgan.models import Generator


def test_conv_flops_counts_every_convolution_of_the_plain_generator():
    g = Generator(num_residual_blocks=2, channels=8).eval()
    h = w = 16
    macs_per_lr_pixel = (3 * 8 * 81 + 4 * 8 * 8 * 9 + 8 * 8 * 9  # head, 2 blocks x 2 convs, body tail
                         + 8 * 32 * 9 + 4 * 8 * 32 * 9  # upsample convs at H x W and 2H x 2W
                         + 16 * 8 * 3 * 81)  # tail at 4H x 4W  # fmt: skip
    assert conv_flops(g, torch.rand(1, 3, h, w)) == 2 * macs_per_lr_pixel * h * w


def test_the_profile_counts_what_the_prepared_network_really_runs():
    g = Generator(num_residual_blocks=2, channels=16).eval()
    rows = layer_profile(g, 16, repeats=1)
    assert [r["part"].split(" ")[0] for r in rows] == ["head", "16", "body", "upsample", "upsample", "tail"]
    fast = prepare_for_inference(g).to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    total = sum(r["gflop"] for r in rows)
    assert abs(total - conv_flops(fast, x) / 1e9) <= 0.005 * len(rows)  # each row rounded to 0.01
    assert conv_flops(fast, x) > conv_flops(g, x)  # the sub-pixel tail does 24 % more than the 9x9 one


@pytest.fixture
def forget_kernel_decision():
    """The test sets SRGAN_WINOGRAD; later tests decide again from their own environment."""
    from srgan.engine.winograd import kernel_variant

    kernel_variant.cache_clear()
    yield
    kernel_variant.cache_clear()


@pytest.mark.parametrize("variant", available_variants())  # each Winograd build this CPU runs
def test_winograd_convolutions_count_as_the_direct_ones_they_replace(monkeypatch, forget_kernel_decision, variant):
    from srgan.engine.winograd import Conv3x3

    monkeypatch.setenv("SRGAN_WINOGRAD", variant)
    fast = prepare_for_inference(Generator(num_residual_blocks=2, channels=16).eval())
    x = torch.rand(1, 3, 12, 12).contiguous(memory_format=torch.channels_last)
    with_kernel = conv_flops(fast.to(memory_format=torch.channels_last), x)
    with torch.no_grad():  # the counted run took the kernel's path
        assert any(m._use_kernel(torch.zeros(1, 16, 4, 4), None) for m in fast.modules() if isinstance(m, Conv3x3))
    monkeypatch.setattr(Conv3x3, "_use_kernel", lambda *_: False)  # PyTorch's path: aten counts every conv
    assert with_kernel == conv_flops(fast, x)


def test_missing_peers_are_named_with_how_to_install_them(monkeypatch):
    import importlib.util

    from srgan import peers

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name in peers.PEERS.values() else real(name))
    runners, missing = peers.peer_runners(Generator(num_residual_blocks=1, channels=8).eval(), threads=1)
    assert runners == {} and len(missing) == 2  # one line each, nothing exported
    assert "ONNX Runtime: not installed (pip install onnxruntime" in missing[0] and "[peers]" in missing[0]
    assert missing[1].startswith("OpenVINO: not installed (pip install openvino")


def test_a_peer_row_compares_with_the_plain_output_in_8_bit_levels():
    from srgan.peers import peer_lines, peer_row

    g = Generator(num_residual_blocks=1, channels=8).eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        reference = g(x)[0].clamp(-1, 1).add(1).mul(127.5).round().permute(1, 2, 0).numpy()

        def run(x):  # a peer that computes the same function, 2 levels brighter
            return (g(x) + 2 / 127.5).numpy()

        row = peer_row("fake", run, x, reference, lambda fn: 0.5, t_plain=1.0, t_upscaler=0.25)
    assert row["ms"] == 500 and row["speedup_over_eager"] == 2 and row["upscaler_speedup_over_it"] == 2
    assert 1 <= row["max_diff_levels"] <= 2  # 2 levels, less where the output clips at 255
    assert "fake" in peer_lines([{"size": 8, "peers": [row]}], ["OpenVINO: not installed"])[2]
