"""Fig. 4 opened up: every block of the generator and the discriminator, read off the real module tree.

Lesson: [the architecture, block by block](../lessons/en/10_architecture.md). Tab: Architecture (`ui/architecture.py`).

Ledig et al. 2017 (arXiv 1609.04802), Fig. 4, in the paper's notation (k = kernel, n = feature maps, s = stride):

- G: k9n64s1 + PReLU (the head), B residual blocks, k3n64s1 + BN with the long skip from the head, log2(r)
  blocks k3n256s1 + PixelShuffle x2 + PReLU, and the k9n3s1 tail (`srgan.models.Generator`).
- D: eight conv blocks k3n64s1 ... k3n512s2 (LeakyReLU, BN but the first), Dense(1024), LeakyReLU, Dense(1) and
  the sigmoid (`srgan.models.Discriminator`; our adaptive 6x6 pooling sits before the dense layers).

Nothing here is a copy of the networks: `generator_blocks` / `discriminator_blocks` list which real submodule is
each box of the figure, `geometry` derives every block's output shape and receptive field from those modules'
kernels and strides, and `walk` runs the network once with forward hooks on them and keeps, per block, every
channel's map (as a thumbnail), its strength and, for the residual blocks, the norm of the residual they add.
`ablated_output` switches residual blocks or the long skip off with hooks too (§2.1: "residual blocks ... with
identical layout", He et al. 2016's identity shortcuts).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .hooks import hooks_on_this_thread
from .models import Discriminator, Generator, ResidualBlock

Network = Literal["G", "D"]
MAP_SIDE = 80  # longest side of the stored channel thumbnails (what the tab shows; the full maps are not kept)


class BlockError(ValueError):
    """A block index or name that the network does not have (the message is for the user)."""


@dataclass(frozen=True)
class BlockInfo:
    """One box of Fig. 4: which real submodule it is, and what it holds."""

    index: int  # position in the walk: the generator's blocks first, then the discriminator's
    name: str  # "head", "res1" ... "res16", "body_tail", "up1", "up2", "tail"; "d1" ... "d8", "pool", ...
    network: Network
    fig4: str  # the paper's notation, e.g. "k3n64s1 · BN · PReLU · k3n64s1 · BN, + skip"
    module: str  # dotted path of the submodule ("" for the sigmoid, which lives in the loss: see models.py)
    params: int  # its parameters (trainable or not)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())  # frozen (bundled) models count too


def generator_blocks(generator: Generator) -> list[BlockInfo]:
    """The boxes of Fig. 4 (top), in forward order, each naming its submodule of `generator`.

    Args:
        generator: any `Generator` (B residual blocks, log2(scale) upsampling blocks).

    Returns:
        head, res1 ... resB, body_tail (the post-residual conv + BN, where the long skip is added), up1 ..., tail.
    """
    c = generator.config.channels
    plan = [("head", f"k9n{c}s1 · PReLU", "head")]
    plan += [(f"res{b + 1}", f"k3n{c}s1 · BN · PReLU · k3n{c}s1 · BN, + skip", f"residual_blocks.{b}")
             for b in range(len(generator.residual_blocks))]  # fmt: skip
    plan.append(("body_tail", f"k3n{c}s1 · BN, + long skip", "body_tail"))
    plan += [(f"up{k + 1}", f"k3n{4 * c}s1 · PixelShuffle ×2 · PReLU", f"upsample.{k}")
             for k in range(len(generator.upsample))]  # fmt: skip
    plan.append(("tail", "k9n3s1", "tail"))
    return [BlockInfo(i, name, "G", fig4, path, _params(generator.get_submodule(path)))
            for i, (name, fig4, path) in enumerate(plan)]  # fmt: skip


def discriminator_blocks(discriminator: Discriminator, start: int = 0) -> list[BlockInfo]:
    """The boxes of Fig. 4 (bottom), in forward order; indices count on from `start`.

    Returns:
        d1 ... d8 (conv, BN but the first, LeakyReLU), pool (ours, the identity at 96x96), dense1024, leaky_relu,
        dense1 (the logit z) and sigmoid (D(I) = σ(z), no module: the loss applies it).
    """
    plan = []
    for k, block in enumerate(discriminator.features):
        conv = block[0]
        bn = " · BN" if any(isinstance(m, nn.BatchNorm2d) for m in block) else ""
        plan.append((f"d{k + 1}", f"k{conv.kernel_size[0]}n{conv.out_channels}s{conv.stride[0]}{bn} · LeakyReLU",
                     f"features.{k}"))  # fmt: skip
    dense = discriminator.classifier[1].out_features
    plan += [("pool", "AdaptiveAvgPool 6×6 (ours; identity at 96×96)", "pool"),
             ("dense1024", f"Dense ({dense})", "classifier.1"), ("leaky_relu", "LeakyReLU", "classifier.2"),
             ("dense1", "Dense (1)", "classifier.3"), ("sigmoid", "Sigmoid: D(I) = σ(z)", "")]  # fmt: skip
    return [BlockInfo(start + i, name, "D", fig4, path, _params(discriminator.get_submodule(path)) if path else 0)
            for i, (name, fig4, path) in enumerate(plan)]  # fmt: skip


def all_blocks(generator: Generator, discriminator: Discriminator) -> list[BlockInfo]:
    """G's blocks then D's, indexed 0 ... N-1 (the tab's diagram, and the `/architecture` event's block index)."""
    g = generator_blocks(generator)
    return g + discriminator_blocks(discriminator, start=len(g))


def find_block(blocks: list[BlockInfo], key: int | str) -> BlockInfo:
    """The block with this index (an int, or digits) or name.

    Raises:
        BlockError: no such block.
    """
    text = str(key).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(blocks):
            raise BlockError(f"block index {index} is out of range: 0 to {len(blocks) - 1}")
        return blocks[index]
    for block in blocks:
        if block.name == text:
            return block
    raise BlockError(f"no block named {text!r}")


@dataclass(frozen=True)
class Geometry:
    """What a block's output is for a given input size, found from kernels and strides alone."""

    shape: tuple[int, ...]  # (1, C, H, W), (1, N) after a dense layer, (1,) for the sigmoid
    receptive_field: tuple[float, float] | None  # (h, w) in input pixels; None once a dense layer mixes them all


@dataclass
class _Tracker:
    """Receptive field r, jump j (input pixels between neighbouring outputs) and map size, per axis."""

    channels: int
    size: list[float]
    rf: list[float]
    jump: list[float]
    dense: int = 0  # features of the last dense layer (0 while the maps are spatial)

    def conv(self, m: nn.Conv2d) -> None:
        for a in range(2):
            k, s, p = m.kernel_size[a], m.stride[a], m.padding[a]
            self.size[a] = (self.size[a] + 2 * p - k) // s + 1
            self.rf[a] += (k - 1) * self.jump[a]
            self.jump[a] *= s
        self.channels = m.out_channels

    def shuffle(self, m: nn.PixelShuffle) -> None:
        r = m.upscale_factor
        self.size, self.jump, self.channels = (
            [n * r for n in self.size],
            [j / r for j in self.jump],
            self.channels // r**2,
        )

    def pool(self, m: nn.AdaptiveAvgPool2d) -> None:
        out = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,) * 2
        for a in range(2):
            n, o = int(self.size[a]), out[a]
            window = max(math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o))  # the widest pooling cell
            self.rf[a] += (window - 1) * self.jump[a]
            self.jump[a] *= n / o
            self.size[a] = o

    def shape(self) -> tuple[int, ...]:
        return (1, self.dense) if self.dense else (1, self.channels, int(self.size[0]), int(self.size[1]))


def geometry(model: nn.Module, blocks: list[BlockInfo], input_hw: tuple[int, int]) -> list[Geometry]:
    """Every block's output shape and receptive field for a (1, 3, H, W) input, from the modules' own kernels.

    A residual block's receptive field is its convolution path's (the identity adds nothing wider); a PixelShuffle
    divides the jump by r, so a convolution after it widens the field by fractions of an input pixel.

    Args:
        model: the `Generator` or `Discriminator` the blocks belong to.
        blocks: its blocks (`generator_blocks` or `discriminator_blocks`).
        input_hw: (H, W) of the input.
    """
    t = _Tracker(3, [float(n) for n in input_hw], [1.0, 1.0], [1.0, 1.0])
    out = []
    for block in blocks:
        if not block.module:  # the sigmoid: same shape as the logit, squeezed
            out.append(Geometry((1,), None))
            continue
        for m in model.get_submodule(block.module).modules():
            if isinstance(m, nn.Conv2d):
                t.conv(m)
            elif isinstance(m, nn.PixelShuffle):
                t.shuffle(m)
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                t.pool(m)
            elif isinstance(m, nn.Linear):
                t.dense = m.out_features
        out.append(Geometry(t.shape(), None if t.dense else (t.rf[0], t.rf[1])))
    return out


@dataclass
class BlockActivation:
    """What one block produced in a walk."""

    shape: tuple[int, ...]  # the real output's shape, from the hook
    maps: np.ndarray  # (C, h, w) float32 thumbnails of every channel (longest side <= MAP_SIDE); (1, n, n) for a vector
    strength: np.ndarray  # (C,) mean |activation| of each channel (for a vector: |value| of each entry)
    residual_norm: float | None = None  # ‖what the block adds‖ / ‖its input‖ (residual blocks; body_tail: the trunk)
    values: np.ndarray | None = None  # the raw output of a dense block or the sigmoid, flattened


@dataclass
class Walk:
    """One forward pass of a network, block by block."""

    network: Network
    blocks: list[BlockInfo]
    acts: list[BlockActivation]
    output: torch.Tensor  # G: (1, 3, rH, rW) in [-1, 1]; D: (1,) logit
    skip: np.ndarray | None = None  # G: (C, h, w) thumbnails of the head's output, what the long skip carries


def _thumbnails(x: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) -> (C, h, w) with the longest side at most MAP_SIDE (area averaging); (1, N) -> (1, n, n)."""
    if x.dim() == 4:
        h, w = x.shape[-2:]
        s = min(1.0, MAP_SIDE / max(h, w))
        if s < 1:
            x = F.interpolate(x, size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")
        return x[0].float().numpy().copy()
    flat = x.reshape(-1).float()
    n = math.ceil(math.sqrt(flat.numel()))
    return F.pad(flat, (0, n * n - flat.numel()), value=float("nan")).reshape(1, n, n).numpy()


def _activation(x: torch.Tensor, residual_norm: float | None = None) -> BlockActivation:
    strength = x.abs().mean(dim=(0, 2, 3)) if x.dim() == 4 else x.reshape(-1).abs()  # (C,) or (N,)
    values = None if x.dim() == 4 else x.reshape(-1).float().numpy().copy()
    return BlockActivation(tuple(x.shape), _thumbnails(x), strength.float().numpy(), residual_norm, values)


def _ratio(residual: torch.Tensor, base: torch.Tensor) -> float:
    return float(residual.norm() / base.norm().clamp_min(1e-12))


@torch.inference_mode()
def walk(model: Generator | Discriminator, x: torch.Tensor) -> Walk:
    """Run `model` once on `x` with forward hooks on every block of Fig. 4, and keep what each one produced.

    Args:
        model: a `Generator` (x: (1, 3, H, W) in [0, 1]) or a `Discriminator` (x: (1, 3, H, W) in [-1, 1]).
        x: one image.

    Returns:
        A `Walk`: per block its output shape, every channel as a thumbnail, channel strengths, and for the residual
        blocks ‖output − input‖ / ‖input‖ (body_tail: ‖trunk‖ / ‖head output‖, the long skip's share).
    """
    is_g = isinstance(model, Generator)
    blocks = generator_blocks(model) if is_g else discriminator_blocks(model)
    acts: dict[str, BlockActivation] = {}
    head: dict[str, torch.Tensor] = {}

    def hook(block: BlockInfo):
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            if block.name == "head":
                head["x0"] = output  # (1, C, H, W): what the long skip carries
            if isinstance(module, ResidualBlock):
                acts[block.name] = _activation(output, _ratio(output - inputs[0], inputs[0]))
            elif block.name == "body_tail":  # the output here is the trunk's correction; the long skip adds x0
                acts[block.name] = _activation(head["x0"] + output, _ratio(output, head["x0"]))
            else:
                acts[block.name] = _activation(output)

        return record

    with hooks_on_this_thread((model.get_submodule(b.module), hook(b)) for b in blocks if b.module):
        out = model(x)  # G: (1, 3, rH, rW); D: (1,)
    if not is_g:
        acts["sigmoid"] = _activation(torch.sigmoid(out))  # D(I) = σ(z)
    skip = _thumbnails(head["x0"]) if is_g else None
    return Walk("G" if is_g else "D", blocks, [acts[b.name] for b in blocks], out, skip)


@torch.inference_mode()
def ablated_output(
    generator: Generator, lr_image: torch.Tensor, *, off: Iterable[int] = (), long_skip: bool = True
) -> torch.Tensor:
    """G's output with residual blocks switched off (each passes its input through) and/or without the long skip.

    Hooks on the real modules: a switched-off block k returns its input (x_k = x_{k-1}: its residual is removed);
    without the long skip, body_tail returns its output minus the head's, so `Generator.forward`'s x + y is y alone.

    Args:
        generator: the network (not modified).
        lr_image: (1, 3, H, W) in [0, 1].
        off: the residual blocks to remove, numbered 1 ... B.
        long_skip: False removes the skip from the head around all residual blocks.

    Returns:
        (1, 3, rH, rW) in [-1, 1].
    """
    off = sorted(set(off))
    count = len(generator.residual_blocks)
    if any(not 1 <= k <= count for k in off):
        raise BlockError(f"residual blocks are numbered 1 to {count}, got {off}")
    hooks = [(generator.residual_blocks[k - 1], lambda m, i, o: i[0]) for k in off]
    if not long_skip:
        head: dict[str, torch.Tensor] = {}
        hooks.append((generator.head, lambda m, i, o: head.__setitem__("x0", o)))
        hooks.append((generator.body_tail, lambda m, i, o: o - head["x0"]))
    with hooks_on_this_thread(hooks):
        return generator(lr_image)  # (1, 3, rH, rW)


@dataclass(frozen=True)
class AblationRow:
    """The output with one piece removed, against the intact network's and against HR."""

    removed: str  # "res3", or "long skip"
    psnr_y: float  # of the ablated output against HR (dB)
    psnr_drop: float  # intact PSNR-Y minus this one (dB; > 0: worse without it)
    change: float  # mean |ablated − intact| in 8-bit levels


def to_pil(sr: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) in [-1, 1] -> RGB PIL (clamped, as `Upscaler` does)."""
    x = ((sr[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (3, H, W)
    return Image.fromarray(x.permute(1, 2, 0).numpy())


@torch.inference_mode()
def one_removed_each(generator: Generator, lr_image: torch.Tensor) -> torch.Tensor:
    """In one batched pass: the intact output, then the output with block 1, 2, ..., B removed, then without the skip.

    The same hooks as `ablated_output`, each acting on its own sample of the batch (BatchNorm in eval mode keeps the
    samples independent), so the figure costs one forward pass of B + 2 images instead of B + 2 passes.

    Args:
        generator: in eval mode.
        lr_image: (1, 3, H, W) in [0, 1].

    Returns:
        (B + 2, 3, rH, rW) in [-1, 1].
    """
    count = len(generator.residual_blocks)
    x = lr_image.expand(count + 2, -1, -1, -1).contiguous()  # (B + 2, 3, H, W)
    head: dict[str, torch.Tensor] = {}

    def remove(k: int):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
            output = output.clone()
            output[k + 1] = inputs[0][k + 1]  # sample k + 1 skips block k + 1's residual
            return output

        return hook

    def no_skip(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        output[-1] -= head["x0"][-1]  # the last sample: Generator.forward's x0 + y becomes y
        return output

    hooks = [(block, remove(k)) for k, block in enumerate(generator.residual_blocks)]
    hooks.append((generator.head, lambda m, i, o: head.__setitem__("x0", o)))
    hooks.append((generator.body_tail, no_skip))
    with hooks_on_this_thread(hooks):
        return generator(x)  # (B + 2, 3, rH, rW)


def ablation_rows(generator: Generator, lr_image: torch.Tensor, hr_image: Image.Image) -> list[AblationRow]:
    """The figure "output change per block removed": each residual block in turn, then the long skip.

    Args:
        generator: the network.
        lr_image: (1, 3, H, W) in [0, 1], the x4 bicubic downsample of `hr_image`.
        hr_image: the ground truth, (rW, rH) pixels.
    """
    from .metrics import psnr_y

    border = generator.scale
    outs = [np.asarray(to_pil(o[None]), dtype=np.float64) for o in one_removed_each(generator, lr_image)]
    intact = outs[0]
    base = psnr_y(intact.astype(np.uint8), hr_image, border=border)
    names = [f"res{k}" for k in range(1, len(generator.residual_blocks) + 1)] + ["long skip"]
    rows = []
    for name, out in zip(names, outs[1:], strict=True):
        value = psnr_y(out.astype(np.uint8), hr_image, border=border)
        rows.append(AblationRow(name, value, base - value, float(np.abs(out - intact).mean())))
    return rows


@dataclass
class ImageWalks:
    """Both generators and the discriminator walked on one image (what the Architecture tab caches per upload).

    The generators read the image as their LR input; the discriminator reads it as the real HR photo, and the SR
    image each generator makes from its x4 bicubic downsample (same size: what D compares in training).
    """

    lr: Image.Image  # the generators' input
    blocks: list[BlockInfo]  # all_blocks: G's then D's
    geometry: list[Geometry]  # per block, for this input (G: the LR size; D: the same size as HR)
    g: dict[str, Walk]  # "srresnet", "srgan"
    d: dict[str, Walk]  # "hr", "srgan": D walked on the HR image and on the GAN generator's SR of its downsample
    d_of: dict[str, float]  # D(I) for "hr", "srresnet", "srgan"


def image_walks(
    image: Image.Image, generators: dict[str, Generator], discriminator: Discriminator, *, scale: int = 4
) -> ImageWalks:
    """Walk `generators` ("srresnet" and "srgan") on `image` as LR, and `discriminator` on it as HR and on SR.

    Args:
        image: RGB, both sides multiples of `scale` (the discriminator's SR is G(bicubic downsample)).
        generators: {"srresnet": G, "srgan": G}, same architecture.
        discriminator: the trained D.
    """
    from .data import bicubic_downsample, pil_to_tensor

    lr = pil_to_tensor(image)[None]  # (1, 3, H, W) in [0, 1]
    g = {name: walk(model, lr) for name, model in generators.items()}
    small = pil_to_tensor(bicubic_downsample(image, scale))[None]  # (1, 3, H/r, W/r)
    with torch.inference_mode():
        sr = {name: model(small).clamp(-1, 1) for name, model in generators.items()}  # (1, 3, H, W)
        d_of = {"hr": float(torch.sigmoid(discriminator(lr * 2 - 1))[0])}
        d_of |= {name: float(torch.sigmoid(discriminator(x))[0]) for name, x in sr.items()}
    d = {"hr": walk(discriminator, lr * 2 - 1), "srgan": walk(discriminator, sr["srgan"])}
    first = next(iter(generators.values()))
    blocks = all_blocks(first, discriminator)
    n_g = len(generator_blocks(first))
    hw = (image.height, image.width)
    geo = geometry(first, blocks[:n_g], hw) + geometry(discriminator, blocks[n_g:], hw)
    return ImageWalks(image, blocks, geo, g, d, d_of)
