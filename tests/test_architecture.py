"""srgan.architecture: Fig. 4's blocks read off the real modules, their shapes, receptive fields and walks."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import trained_like_generator as make_generator
from torch import nn

from srgan import architecture as arch
from srgan.models import Discriminator, Generator, count_parameters


@pytest.fixture(scope="module")
def paper_generator() -> Generator:
    torch.manual_seed(0)
    return Generator().eval()  # the paper's: x4, B = 16, 64 channels


@pytest.fixture(scope="module")
def small_discriminator() -> Discriminator:
    torch.manual_seed(0)
    return Discriminator(channels=8, dense_features=16).eval()


def test_the_blocks_hold_every_parameter_of_both_networks(paper_generator):
    g_blocks = arch.generator_blocks(paper_generator)
    d_blocks = arch.discriminator_blocks(Discriminator(), start=len(g_blocks))
    assert sum(b.params for b in g_blocks) == count_parameters(paper_generator) == 1_550_659
    assert sum(b.params for b in d_blocks) == 23_565_505
    names = [b.name for b in g_blocks]
    assert names[0] == "head" and names[1:17] == [f"res{k}" for k in range(1, 17)]
    assert names[17:] == ["body_tail", "up1", "up2", "tail"]
    assert [b.name for b in d_blocks][8:] == ["pool", "dense1024", "leaky_relu", "dense1", "sigmoid"]
    assert d_blocks[0].index == len(g_blocks) and d_blocks[1].fig4.startswith("k3n64s2 · BN")
    assert g_blocks[18].fig4.startswith("k3n256s1 · PixelShuffle") and g_blocks[-1].fig4 == "k9n3s1"


def test_geometry_gives_the_shapes_and_receptive_fields_of_fig4(paper_generator):
    blocks = arch.generator_blocks(paper_generator)
    geo = {b.name: g for b, g in zip(blocks, arch.geometry(paper_generator, blocks, (80, 96)), strict=True)}
    assert geo["res16"].shape == geo["body_tail"].shape == (1, 64, 80, 96)  # after the residual blocks
    assert geo["up1"].shape == (1, 64, 160, 192) and geo["tail"].shape == (1, 3, 320, 384)
    assert geo["head"].receptive_field == (9, 9) and geo["res16"].receptive_field == (9 + 16 * 4,) * 2
    assert geo["tail"].receptive_field == (80, 80)  # 75, +2 (up1), +1 and +2 at a quarter of an LR pixel
    d = Discriminator()
    d_blocks = arch.discriminator_blocks(d)
    d_geo = {b.name: g for b, g in zip(d_blocks, arch.geometry(d, d_blocks, (96, 96)), strict=True)}
    assert (
        d_geo["d8"].shape == d_geo["pool"].shape == (1, 512, 6, 6)
    )  # the paper's 96x96 patch: pooling is the identity
    assert d_geo["d8"].receptive_field == d_geo["pool"].receptive_field == (61, 61)
    assert d_geo["dense1024"].shape == (1, 1024) and d_geo["dense1024"].receptive_field is None
    assert d_geo["sigmoid"].shape == (1,)


def test_walk_hooks_the_real_modules_and_matches_geometry(small_discriminator):
    g = make_generator(channels=8, blocks=3)
    x = torch.rand(1, 3, 10, 12)
    walk = arch.walk(g, x)
    with torch.no_grad():
        assert torch.allclose(walk.output, g(x))
        x0 = g.head(x)
        r1 = g.residual_blocks[0](x0)
    geo = arch.geometry(g, walk.blocks, (10, 12))
    assert [a.shape for a in walk.acts] == [t.shape for t in geo]
    res1 = walk.acts[1]
    assert res1.residual_norm == pytest.approx(float((r1 - x0).norm() / x0.norm()), rel=1e-5)
    assert res1.maps.shape == (8, 10, 12) and res1.strength.shape == (8,)
    assert walk.acts[len(g.residual_blocks) + 1].residual_norm is not None  # body_tail: the trunk against the skip
    assert walk.skip.shape == (8, 10, 12)
    d_walk = arch.walk(small_discriminator, torch.rand(1, 3, 40, 48) * 2 - 1)
    assert d_walk.acts[-1].values[0] == pytest.approx(float(torch.sigmoid(d_walk.output)[0]))
    assert d_walk.acts[-5].maps.shape[0] == 64 and d_walk.acts[-4].maps.shape == (1, 4, 4)  # 16 values as 4x4


def test_thumbnails_are_bounded():
    maps = arch._thumbnails(torch.rand(1, 5, 400, 200))
    assert maps.shape == (5, arch.MAP_SIDE, arch.MAP_SIDE // 2)


def test_find_block_by_index_or_name(paper_generator):
    blocks = arch.all_blocks(paper_generator, Discriminator(channels=8, dense_features=16))
    assert arch.find_block(blocks, 17).name == "body_tail" == arch.find_block(blocks, "17").name
    assert arch.find_block(blocks, "d3").network == "D"
    for bad in (len(blocks), -1, "res99"):
        with pytest.raises(arch.BlockError):
            arch.find_block(blocks, bad)


def test_ablation_removes_exactly_a_block_or_the_long_skip():
    g = make_generator(channels=8, blocks=3)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(arch.ablated_output(g, x), g(x))
        without_2 = copy.deepcopy(g)
        without_2.residual_blocks[1] = nn.Identity()
        assert torch.allclose(arch.ablated_output(g, x, off=[2]), without_2(x))
        trunk = g.body_tail(g.residual_blocks(g.head(x)))  # no "+ x0"
        assert torch.allclose(arch.ablated_output(g, x, long_skip=False), g.tail(g.upsample(trunk)), atol=1e-5)
    with pytest.raises(arch.BlockError):
        arch.ablated_output(g, x, off=[4])


def test_ablation_rows_one_per_block_and_the_long_skip():
    g = make_generator(channels=8, blocks=3)
    lr = torch.rand(1, 3, 8, 8)
    hr = arch.to_pil(arch.ablated_output(g, lr))  # HR = the intact output: every removal can only lose PSNR
    rows = arch.ablation_rows(g, lr, hr)
    assert [r.removed for r in rows] == ["res1", "res2", "res3", "long skip"]
    assert all(r.change >= 0 for r in rows) and rows[-1].change > 0


def test_the_batched_ablation_equals_one_pass_per_removal():
    g = make_generator(channels=8, blocks=3)
    x = torch.rand(1, 3, 8, 8)
    batch = arch.one_removed_each(g, x)
    assert batch.shape == (5, 3, 32, 32)
    expected = [arch.ablated_output(g, x)] + [arch.ablated_output(g, x, off=[k]) for k in (1, 2, 3)]
    expected.append(arch.ablated_output(g, x, long_skip=False))
    for got, want in zip(batch, expected, strict=True):
        assert torch.allclose(got, want[0], atol=1e-5)
