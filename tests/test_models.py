import pytest
import torch
from torch import nn

from srgan.models import Discriminator, Generator, UpsampleBlock, count_parameters


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_generator_output_is_scale_times_larger(scale):
    g = Generator(scale=scale, num_residual_blocks=1, channels=8)
    assert g(torch.rand(2, 3, 5, 7)).shape == (2, 3, 5 * scale, 7 * scale)


def test_default_generator_has_the_papers_parameter_count():
    # Fig. 4 with B = 16, 64 channels, two x2 sub-pixel blocks: 1,550,659 parameters.
    assert count_parameters(Generator()) == 1_550_659
    assert count_parameters(Generator(scale=2)) == 1_550_659 - (64 * 64 * 9 * 4 + 256 + 64)


def test_generator_structure_follows_fig4():
    g = Generator()
    assert len(g.residual_blocks) == 16 and len(g.upsample) == 2
    assert g.head[0].kernel_size == (9, 9) and g.tail.kernel_size == (9, 9)
    assert all(isinstance(u.shuffle, nn.PixelShuffle) and u.conv.out_channels == 256 for u in g.upsample)
    assert len(g.prelus()) == 1 + 16 + 2  # head, one per residual block, one per upsampling block


def test_invalid_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        Generator(scale=3)


def test_upsample_block_doubles_resolution():
    assert UpsampleBlock(8)(torch.rand(1, 8, 4, 6)).shape == (1, 8, 8, 12)


def test_discriminator_matches_fig4():
    d = Discriminator()
    convs = [m for m in d.features.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 7  # not after the first conv
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert d.classifier[1].out_features == 1024 and d.classifier[3].out_features == 1
    assert count_parameters(d) == 23_565_505


def test_discriminator_pooling_is_identity_at_96_and_accepts_other_sizes():
    d = Discriminator(channels=8).eval()
    features = d.features(torch.rand(2, 3, 96, 96))
    assert features.shape[-2:] == (6, 6)
    assert torch.equal(d.pool(features), features)
    assert d(torch.rand(2, 3, 96, 96)).shape == (2,)
    assert d(torch.rand(1, 3, 128, 80)).shape == (1,)


def test_discriminator_feature_maps_are_its_blocks_and_lead_to_its_logits():
    torch.manual_seed(0)
    d = Discriminator(channels=8, dense_features=16).eval()
    image = torch.rand(2, 3, 64, 64) * 2 - 1
    maps = d.feature_maps(image)
    assert [m.shape[1] for m in maps] == [8, 8, 16, 16, 32, 32, 64, 64]  # Fig. 4: channels double every second block
    assert [m.shape[-1] for m in maps] == [64, 32, 32, 16, 16, 8, 8, 4]  # stride 2 in every second block
    assert torch.allclose(d.head(maps[-1]), d(image), atol=1e-6)
