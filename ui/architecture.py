"""Architecture tab: Fig. 4 live, every block of G and D opened on the class's own image, and the GAN game.

Lesson: [the architecture, block by block](../lessons/en/10_architecture.md). Code: `srgan.architecture` (the blocks,
shapes, parameter counts, receptive fields, the hooked walk, the ablation) and `srgan.classroom.gan_game`.

Events:
- `/architecture`: image + block (index or name) + channels -> the block's strongest channels for SRResNet and SRGAN
  side by side (for D: on HR and on SRGAN's SR), what the block is, and every block's output shape. The walk runs
  once per image and generator pair (forward hooks on the real modules) and is cached; a click only draws.
- `/ablation`: residual blocks switched off and/or the long skip -> the output, its PSNR-Y, and the figure "output
  change per block removed".
- `/gan_discriminator_step`, `/gan_generator_step`, `/gan_run`, `/gan_reset`: the GAN game, one run per browser
  session (a `gr.State` whose delete callback frees it when the session ends).

The GAN game lives here rather than in the Fine-tune tab: it is the two networks of the diagram above playing Eq. 2
against Eq. 3 one move at a time, synchronously and per student, while Fine-tune runs one real training for the
whole class in the background (and is switched off with --no-train).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from srgan import architecture as arch
from srgan.cache import LRUCache
from srgan.classroom import gan_game
from srgan.config import SCALE
from srgan.data import bicubic_downsample, centre_crop, pil_to_tensor

from .common import as_pil, fig_to_pil, method_label, new_figure
from .context import TabContext
from .i18n import Strings

WALK_SIDE = 128  # the generators' input: a centre crop of at most 128x128 (x4: 512x512 out)
ABLATION_SIDE = 96  # the ablation's HR crop (LR 24x24): its figure is one batched pass of B + 2 images
MAX_PIXELS = 4096 * 4096  # larger uploads are refused (the walk only looks at a crop anyway)
GAME_TTL = 2 * 3600  # a game is freed at the latest this long after its last move

KEY = "tab_architecture"
STRINGS = Strings({
    "tab_architecture": ("Architecture", "Arquitectura"),
    "ar_image": ("Your image (G reads a centre crop of at most 128x128 as its LR input)",
                 "Tu imagen (G lee un recorte central de hasta 128x128 como entrada LR)"),
    "ar_diagram": ("Fig. 4: click a block (output shape for this image · parameters · receptive field)",
                   "Fig. 4: pulsa un bloque (forma de salida para esta imagen · parámetros · campo receptivo)"),
    "ar_channels": ("Channels shown (strongest first)", "Canales mostrados (los más activos primero)"),
    "ar_left": ("SRResNet", "SRResNet"),
    "ar_right": ("SRGAN", "SRGAN"),
    "ar_table": ("Every block for this image", "Todos los bloques para esta imagen"),
    "ar_norms": ("What each residual block adds", "Lo que añade cada bloque residual"),
    "ar_skip": ("What the long skip carries: the head's strongest channels", "Lo que lleva el salto largo: los canales más activos de la cabeza"),
    "ar_too_big": ("The image has {w}x{h} pixels, more than the {max:,} this tab accepts: crop it first.",
                   "La imagen tiene {w}x{h} píxeles, más de los {max:,} que acepta esta pestaña: recórtala antes."),
    "ar_too_small": ("The image must be at least {min}x{min} pixels.", "La imagen debe tener al menos {min}x{min} píxeles."),
    "ar_bad_block": ("There is no block {block}: blocks are numbered 0 to {last} (or named, e.g. res3, d5).",
                     "No existe el bloque {block}: los bloques van del 0 al {last} (o por nombre, p. ej. res3, d5)."),
    "ar_col_index": ("#", "#"), "ar_col_block": ("block", "bloque"), "ar_col_fig4": ("Fig. 4", "Fig. 4"),
    "ar_col_shape": ("output shape", "forma de salida"), "ar_col_params": ("parameters", "parámetros"),
    "ar_col_rf": ("receptive field (input px)", "campo receptivo (px de entrada)"),
    "ar_col_norm": ("‖residual‖ / ‖input‖ (SRResNet · SRGAN)", "‖residuo‖ / ‖entrada‖ (SRResNet · SRGAN)"),
    "ar_whole": ("whole image", "imagen entera"),
    "ar_info": (("### {index} · {name} — `{fig4}`\n{what}\n\n**Output** {shape} · **parameters** {params:,} · "
                "**receptive field** {rf}\n\nLeft: {left}. Right: {right}. Channels {channels} (the same on both sides, "
                "one colour scale per channel)."),
                ("### {index} · {name} — `{fig4}`\n{what}\n\n**Salida** {shape} · **parámetros** {params:,} · "
                "**campo receptivo** {rf}\n\nIzquierda: {left}. Derecha: {right}. Canales {channels} (los mismos en "
                "ambos lados, una escala de color por canal).")),
    "ar_what_head": ("The head: a 9x9 convolution to 64 feature maps and PReLU, at LR size.",
                     "La cabeza: una convolución 9x9 a 64 mapas y PReLU, a tamaño LR."),
    "ar_what_res": (("A residual block: it adds ‖r‖/‖x‖ = {a:.3f} (SRResNet) and {b:.3f} (SRGAN) of its input; the "
                    "identity skip carries the rest."),
                    ("Un bloque residual: añade ‖r‖/‖x‖ = {a:.3f} (SRResNet) y {b:.3f} (SRGAN) de su entrada; el salto "
                    "identidad lleva el resto.")),
    "ar_what_body_tail": (("Conv + BN after the residual blocks, plus the long skip from the head (shown: the sum). "
                          "The trunk's correction has {a:.2f}x (SRResNet) and {b:.2f}x (SRGAN) the norm of what the "
                          "skip carries."),
                          ("Conv + BN tras los bloques residuales, más el salto largo desde la cabeza (se muestra la "
                          "suma). La corrección del tronco tiene {a:.2f}x (SRResNet) y {b:.2f}x (SRGAN) la norma de lo "
                          "que lleva el salto.")),
    "ar_what_up": (("Sub-pixel upsampling: 3x3 conv to 256 maps, PixelShuffle x2 (256 -> 64 maps, twice the size), "
                   "PReLU."), ("Ampliación sub-píxel: conv 3x3 a 256 mapas, PixelShuffle x2 (256 -> 64 mapas, el doble "
                   "de tamaño), PReLU.")),
    "ar_what_tail": ("The tail: a 9x9 convolution back to RGB; shown: the SR image itself.",
                     "La cola: una convolución 9x9 de vuelta a RGB; se muestra la propia imagen SR."),
    "ar_what_d": ("A discriminator block (VGG-style, no pooling): the stride-2 ones halve the map.",
                  "Un bloque del discriminador (estilo VGG, sin pooling): los de paso 2 reducen el mapa a la mitad."),
    "ar_what_dense": ("Dense layer: every position mixed; shown: its values as a square.",
                      "Capa densa: mezcla todas las posiciones; se muestran sus valores en un cuadrado."),
    "ar_what_sigmoid": ("D(I) = σ(z): HR {hr:.3f}, SRResNet's SR {srresnet:.3f}, SRGAN's SR {srgan:.3f}.",
                        "D(I) = σ(z): HR {hr:.3f}, SR de SRResNet {srresnet:.3f}, SR de SRGAN {srgan:.3f}."),
    "ar_side_g": ("SRResNet", "SRResNet"), "ar_side_g2": ("SRGAN", "SRGAN"),
    "ar_side_d_hr": ("D on the HR image", "D sobre la imagen HR"), "ar_side_d_sr": ("D on SRGAN's SR", "D sobre la SR de SRGAN"),
    "ar_ablation_title": ("Residual learning you can poke", "Aprendizaje residual para tocar"),  # the accordion's
    "ar_off": ("Switch off residual blocks", "Apagar bloques residuales"),
    "ar_long_skip": ("Long skip on", "Salto largo activado"),
    "ar_ablate_model": ("Generator", "Generador"),
    "ar_ablated": ("Output (HR crop of 96x96 downsampled x4, then G)", "Salida (recorte HR de 96x96 reducido x4, luego G)"),
    "ar_ablation_plot": ("Output change per block removed", "Cambio de la salida por bloque quitado"),
    "ar_ablation_md": (("PSNR-Y against HR: **{now:.2f} dB** (intact {base:.2f} dB, {diff:+.2f} dB) · mean change "
                       "{change:.1f} levels of 255"), ("PSNR-Y frente a HR: **{now:.2f} dB** (intacta {base:.2f} dB, "
                       "{diff:+.2f} dB) · cambio medio {change:.1f} niveles de 255")),
    "ar_plot_y": ("PSNR-Y lost (dB)", "PSNR-Y perdido (dB)"),
    "ar_plot_title": ("Removing one piece at a time ({model})", "Quitando una pieza cada vez ({model})"),
    "ar_game_title": ("### The GAN game, one step at a time", "### El juego GAN, paso a paso"),
    "ar_game_intro": (
        ("G starts as the bundled SRResNet; D is a fresh, narrower copy of Fig. 4's discriminator (16 -> 128 channels, "
        "Dense 256). The batch: 4 fixed 64x64 crops of your image. Your game stays on the server until you leave."),
        ("G empieza como la SRResNet incluida; D es una copia nueva y más estrecha del discriminador de la Fig. 4 (16 "
        "-> 128 canales, Densa 256). El lote: 4 recortes fijos de 64x64 de tu imagen. Tu partida vive en el servidor "
        "hasta que te vas.")),
    "ar_d_step": ("Discriminator step (Eq. 2)", "Paso del discriminador (Ec. 2)"),
    "ar_g_step": ("Generator step (Eq. 3 + Eq. 6)", "Paso del generador (Ec. 3 + Ec. 6)"),
    "ar_run": ("Run 10 steps", "Ejecutar 10 pasos"),
    "ar_reset": ("Reset", "Reiniciar"),
    "ar_weight": ("Adversarial weight (Eq. 3; 10⁻³ in the paper)", "Peso adversarial (Ec. 3; 10⁻³ en el artículo)"),
    "ar_game_hr": ("HR crops", "Recortes HR"), "ar_game_before": ("SR before", "SR antes"),
    "ar_game_after": ("SR after", "SR después"), "ar_game_chart": ("D(HR) and D(SR)", "D(HR) y D(SR)"),
    "ar_game_new": ("New game: D(HR) = {hr:.3f}, D(SR) = {sr:.3f}. Press a step.",
                    "Partida nueva: D(HR) = {hr:.3f}, D(SR) = {sr:.3f}. Pulsa un paso."),
    "ar_game_report": (("**{kind}** · D steps {d} · G steps {g}\n\n| | before | after |\n|---|---|---|\n"
                       "| D(HR) | {hr0:.3f} | {hr1:.3f} |\n| D(SR) | {sr0:.3f} | {sr1:.3f} |\n\n{losses}"),
                       ("**{kind}** · pasos de D {d} · pasos de G {g}\n\n| | antes | después |\n|---|---|---|\n"
                       "| D(HR) | {hr0:.3f} | {hr1:.3f} |\n| D(SR) | {sr0:.3f} | {sr1:.3f} |\n\n{losses}")),
    "ar_kind_D": ("Discriminator step: Eq. 2, −log D(HR) − log(1 − D(SR))",
                  "Paso del discriminador: Ec. 2, −log D(HR) − log(1 − D(SR))"),
    "ar_kind_G": ("Generator step: Eq. 3 = MSE (Eq. 4) + w · (−log D(G(LR))) (Eq. 6)",
                  "Paso del generador: Ec. 3 = MSE (Ec. 4) + w · (−log D(G(LR))) (Ec. 6)"),
    "ar_kind_DG": ("{n} full steps (D then G each)", "{n} pasos completos (D y luego G en cada uno)"),
    "ar_game_error": ("The game could not go on: {reason}", "La partida no pudo seguir: {reason}"),
})  # fmt: skip
t = STRINGS.t


class ArchitectureOutputs(NamedTuple):
    """What the `/architecture` event shows."""

    left: Image.Image  # the block's strongest channels: SRResNet (G) or D on HR (D)
    right: Image.Image  # SRGAN (G) or D on SRGAN's SR (D)
    info: str  # Markdown: the block, its shape, parameters, receptive field, what it does
    table: list[list]  # every block: index, name, Fig. 4, output shape, parameters, receptive field, residual norms


class DiagramOutputs(NamedTuple):
    """What changes with the image: the diagram's labels, the residual norms and the long skip."""

    diagram: list[tuple[str, str]]  # (label, block name) for the clickable Fig. 4
    norms: Image.Image
    skip: Image.Image


class AblationOutputs(NamedTuple):
    """What the `/ablation` event shows."""

    output: Image.Image
    scores: str
    plot: Image.Image


class GameOutputs(NamedTuple):
    """What a GAN-game button shows (the game itself goes back into the session's State first)."""

    hr: Image.Image
    before: Image.Image
    after: Image.Image
    report: str
    chart: Image.Image


def _checked_rgb(image, lang: str, min_side: int = 4) -> Image.Image:
    """The upload as RGB, or a ValueError in the user's language (no image, too large, too small)."""
    rgb = as_pil(image, lang).convert("RGB")  # no image: `as_pil`'s ImageError, a ValueError
    w, h = rgb.size
    if w * h > MAX_PIXELS:
        raise ValueError(t("ar_too_big", lang, w=w, h=h, max=MAX_PIXELS))
    if min(w, h) < min_side:
        raise ValueError(t("ar_too_small", lang, min=min_side))
    return rgb


def _digest(image: Image.Image) -> tuple[str, tuple[int, int]]:
    return hashlib.sha1(image.tobytes()).hexdigest(), image.size


_walks: LRUCache[arch.ImageWalks] = LRUCache(6)  # ~30 MB each at 128x128 (thumbnails of every channel)


def walks_for(image, gan_model: str = "srgan", lang: str = "en") -> arch.ImageWalks:
    """The cached walks of SRResNet, the chosen GAN generator and the bundled D on the upload's crop."""
    from srgan.checkpoints import load_pretrained, load_pretrained_discriminator
    from srgan.interpolation import checkpoint_key

    from .common import resolve_generator

    crop = centre_crop(_checked_rgb(image, lang, min_side=SCALE * 4), WALK_SIDE, multiple=SCALE)
    gan = resolve_generator(gan_model or "srgan")
    key = (*_digest(crop), checkpoint_key("srresnet"), checkpoint_key(gan))

    def create() -> arch.ImageWalks:
        generators = {"srresnet": load_pretrained("srresnet"), "srgan": load_pretrained(gan)}
        return arch.image_walks(crop, generators, load_pretrained_discriminator(), scale=SCALE)

    return _walks.get_or_create(key, create)


def warm_up(image: Image.Image) -> None:
    """Walk the example the tab opens with, and its ablation, before anyone opens the tab (`ui.launch` warm-up).

    The first opening of this tab is the app's heaviest first request (two generators walked with hooks on a
    128x128 crop, then B + 2 ablated passes); done at start, every student's first opening finds it cached.

    Args:
        image: `ui.common.first_example()`.
    """
    walks_for(image, "srgan")
    ablation(image, [], True, "srresnet")


def _shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))  # "(1, 64, 80, 96)", and "(1,)" for the sigmoid


def _rf(geo: arch.Geometry, lang: str) -> str:
    if geo.receptive_field is None:
        return t("ar_whole", lang)
    h, w = (f"{v:g}" for v in geo.receptive_field)
    return f"{h}×{w}" if h != w else f"{h}×{h}"


def diagram_choices(blocks: list[arch.BlockInfo], geometry: list[arch.Geometry], lang: str = "en"
                    ) -> list[tuple[str, str]]:  # fmt: skip
    """(label, name) per block: "17 · body_tail", its Fig. 4 notation, then shape · parameters · receptive field."""
    return [(f"{b.index} · {b.name}\n{b.fig4}\n{_shape(g.shape)} · {b.params:,} p · RF {_rf(g, lang)}", b.name)
            for b, g in zip(blocks, geometry, strict=True)]  # fmt: skip


def default_choices(side: int = WALK_SIDE, lang: str = "en") -> list[tuple[str, str]]:
    """The diagram before any walk: the bundled architecture on a side x side input (meta tensors: no weights)."""
    import torch

    from srgan.models import Discriminator, Generator

    with torch.device("meta"):
        g, d = Generator(), Discriminator()
    blocks = arch.all_blocks(g, d)
    n_g = len(arch.generator_blocks(g))
    geo = arch.geometry(g, blocks[:n_g], (side, side)) + arch.geometry(d, blocks[n_g:], (side, side))
    return diagram_choices(blocks, geo, lang)


def table_rows(walks: arch.ImageWalks, lang: str = "en") -> list[list]:
    """Every block for this image, in the columns of `table_headers`."""
    rows = []
    for b, g in zip(walks.blocks, walks.geometry, strict=True):
        norms = ""
        if b.network == "G" and walks.g["srresnet"].acts[b.index].residual_norm is not None:
            norms = " · ".join(f"{walks.g[k].acts[b.index].residual_norm:.3f}" for k in ("srresnet", "srgan"))
        rows.append([b.index, b.name, b.fig4, _shape(g.shape), b.params, _rf(g, lang), norms])
    return rows


def table_headers(lang: str = "en") -> list[str]:
    keys = ("ar_col_index", "ar_col_block", "ar_col_fig4", "ar_col_shape", "ar_col_params", "ar_col_rf", "ar_col_norm")
    return [t(k, lang) for k in keys]


def _font(size: int = 14) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def channel_grids(a: arch.BlockActivation, b: arch.BlockActivation, k: int) -> tuple[list[int], list[Image.Image]]:
    """The `k` channels strongest on both sides together, each side as one grid (shared colour scale per channel)."""
    from matplotlib import colormaps

    if a.values is not None:  # a dense layer or the sigmoid: all its values as one square map
        channels = [0]
    else:
        strength = a.strength + b.strength  # (C,)
        channels = [int(c) for c in np.argsort(-strength)[: max(1, min(int(k), len(strength)))]]
    cmap = colormaps["viridis"]
    grids = []
    for act in (a, b):
        tiles = []
        for c in channels:
            lo = float(np.nanmin([np.nanmin(a.maps[c]), np.nanmin(b.maps[c])]))
            hi = float(np.nanmax([np.nanmax(a.maps[c]), np.nanmax(b.maps[c])]))
            x = np.nan_to_num((act.maps[c] - lo) / max(hi - lo, 1e-8), nan=1.0)  # (h, w) in [0, 1]
            tiles.append((cmap(x)[..., :3] * 255).astype(np.uint8))
        grids.append(_tile(tiles, channels))
    return channels, grids


def _tile(tiles: list[np.ndarray], labels: list[int], cell: int = 132) -> Image.Image:
    """Thumbnails in a grid of at most 4 columns, each scaled (nearest) into a `cell`-pixel square, numbered."""
    cols = min(4, len(tiles))
    rows = -(-len(tiles) // cols)
    out = Image.new("RGB", (cols * (cell + 4), rows * (cell + 4)), "white")
    draw = ImageDraw.Draw(out)
    for i, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        h, w = tile.shape[:2]
        s = cell / max(h, w)
        im = Image.fromarray(tile).resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.NEAREST)
        x, y = (i % cols) * (cell + 4) + 2, (i // cols) * (cell + 4) + 2
        out.paste(im, (x, y))
        draw.text((x + 3, y + 2), f"#{label}", fill="white", font=_font(), stroke_width=2, stroke_fill="black")
    return out


def _sides(walks: arch.ImageWalks, block: arch.BlockInfo, lang: str) -> tuple[arch.BlockActivation, ...]:
    if block.network == "G":
        return walks.g["srresnet"].acts[block.index], walks.g["srgan"].acts[block.index]
    n_g = sum(b.network == "G" for b in walks.blocks)
    return walks.d["hr"].acts[block.index - n_g], walks.d["srgan"].acts[block.index - n_g]


def _what(walks: arch.ImageWalks, block: arch.BlockInfo, lang: str) -> str:
    """One sentence on what the block does, with this image's numbers."""
    a, b = _sides(walks, block, lang)
    if block.name.startswith("res") or block.name == "body_tail":
        key = "ar_what_res" if block.name.startswith("res") else "ar_what_body_tail"
        return t(key, lang, a=a.residual_norm, b=b.residual_norm)
    if block.name == "sigmoid":
        return t("ar_what_sigmoid", lang, **walks.d_of)
    if block.network == "D":
        return t("ar_what_dense" if block.name in ("dense1024", "leaky_relu", "dense1") else "ar_what_d", lang)
    return t({"head": "ar_what_head", "tail": "ar_what_tail"}.get(block.name, "ar_what_up"), lang)


def architecture(image, block="body_tail", channels: int = 8, gan_model: str = "srgan", lang: str = "en"
                 ) -> ArchitectureOutputs:  # fmt: skip
    """The `/architecture` event: one block's channels on both sides, what it is, and every block's shape.

    Args:
        image: the upload (the generators' LR input: a centre crop of at most WALK_SIDE pixels).
        block: an index (0 = head ... N-1 = sigmoid) or a name ("res3", "body_tail", "d5", ...).
        channels: how many channels to show (1-12).
        gan_model: the GAN generator: "srgan" or a fine-tuned run.
        lang: "en" or "es".
    """
    walks = walks_for(image, gan_model, lang)
    try:
        info = arch.find_block(walks.blocks, "body_tail" if block in (None, "") else block)
    except arch.BlockError:
        raise ValueError(t("ar_bad_block", lang, block=block, last=len(walks.blocks) - 1)) from None
    a, b = _sides(walks, info, lang)
    chosen, (left, right) = channel_grids(a, b, int(np.clip(channels, 1, 12)))
    if info.name == "tail":
        left, right = (arch.to_pil(walks.g[k].output) for k in ("srresnet", "srgan"))
        chosen = [0, 1, 2]
    sides = ("ar_side_g", "ar_side_g2") if info.network == "G" else ("ar_side_d_hr", "ar_side_d_sr")
    geo = walks.geometry[info.index]
    text = t("ar_info", lang, index=info.index, name=info.name, fig4=info.fig4, what=_what(walks, info, lang),
             shape=_shape(geo.shape), params=info.params, rf=_rf(geo, lang), left=t(sides[0], lang),
             right=t(sides[1], lang), channels=", ".join(map(str, chosen)))  # fmt: skip
    return ArchitectureOutputs(left, right, text, table_rows(walks, lang))


def norms_figure(walks: arch.ImageWalks, lang: str = "en") -> Image.Image:
    """Bars: ‖what block b adds‖ / ‖its input‖ per residual block, SRResNet beside SRGAN."""
    names = [b.name for b in walks.blocks if b.name.startswith("res")]
    idx = [b.index for b in walks.blocks if b.name.startswith("res")]
    fig = new_figure(9, 3.2)
    ax = fig.subplots()
    x = np.arange(len(names))
    for shift, (key, label) in zip((-0.2, 0.2), (("srresnet", "SRResNet"), ("srgan", "SRGAN")), strict=True):
        ax.bar(x + shift, [walks.g[key].acts[i].residual_norm for i in idx], width=0.4, label=label)
    ax.set_xticks(x, names, rotation=60, fontsize=9)
    ax.set_ylabel("‖r_b‖ / ‖x_{b-1}‖")
    ax.set_title(t("ar_norms", lang))
    ax.legend()
    return fig_to_pil(fig)


def diagram_view(image, gan_model: str = "srgan", lang: str = "en") -> DiagramOutputs:
    """The diagram's labels for this image, the residual norms and the long skip's channels."""
    walks = walks_for(image, gan_model, lang)
    a, b = arch.BlockActivation((), walks.g["srresnet"].skip, np.abs(walks.g["srresnet"].skip).mean(axis=(1, 2))), \
        arch.BlockActivation((), walks.g["srgan"].skip, np.abs(walks.g["srgan"].skip).mean(axis=(1, 2)))  # fmt: skip
    _, (left, right) = channel_grids(a, b, 4)
    skip = Image.new("RGB", (left.width + right.width + 16, left.height), "white")
    skip.paste(left, (0, 0))
    skip.paste(right, (left.width + 16, 0))
    return DiagramOutputs(diagram_choices(walks.blocks, walks.geometry, lang), norms_figure(walks, lang), skip)


_ablations: LRUCache[tuple[np.ndarray, list[arch.AblationRow]]] = LRUCache(16)


def _ablation_base(hr: Image.Image, model: str) -> tuple[np.ndarray, list[arch.AblationRow]]:
    """The intact output and the figure's rows for this crop and generator (cached)."""
    from srgan.checkpoints import load_pretrained
    from srgan.interpolation import checkpoint_key

    def create() -> tuple[np.ndarray, list[arch.AblationRow]]:
        g, lr = load_pretrained(model), pil_to_tensor(bicubic_downsample(hr, SCALE))[None]
        return np.asarray(arch.to_pil(arch.ablated_output(g, lr))), arch.ablation_rows(g, lr, hr)

    return _ablations.get_or_create((*_digest(hr), checkpoint_key(model)), create)


def ablation(image, off: list | None = None, long_skip: bool = True, model: str = "srresnet", lang: str = "en"
             ) -> AblationOutputs:  # fmt: skip
    """The `/ablation` event: G with residual blocks `off` (numbered 1-16) and/or without the long skip.

    The image is the HR here (a centre crop of at most ABLATION_SIDE, downsampled x4), so PSNR-Y has a ground truth.
    """
    from srgan.checkpoints import load_pretrained
    from srgan.metrics import psnr_y

    from .common import resolve_generator

    hr = centre_crop(_checked_rgb(image, lang, min_side=4 * SCALE), ABLATION_SIDE, multiple=SCALE)
    path = resolve_generator(model or "srresnet")
    intact, rows = _ablation_base(hr, path)
    blocks = [int(k) for k in (off or [])]
    try:
        out = arch.ablated_output(load_pretrained(path), pil_to_tensor(bicubic_downsample(hr, SCALE))[None],
                                  off=blocks, long_skip=bool(long_skip))  # fmt: skip
    except arch.BlockError:
        raise ValueError(t("ar_bad_block", lang, block=blocks, last=len(rows) - 1)) from None
    out_image = arch.to_pil(out)
    base, now = psnr_y(intact, hr, border=SCALE), psnr_y(out_image, hr, border=SCALE)
    change = float(np.abs(np.asarray(out_image, dtype=float) - intact).mean())
    scores = t("ar_ablation_md", lang, now=now, base=base, diff=now - base, change=change)
    return AblationOutputs(out_image, scores, ablation_figure(rows, model or "srresnet", lang))


def ablation_figure(rows: list[arch.AblationRow], model: str, lang: str = "en") -> Image.Image:
    """The figure "output change per block removed": PSNR-Y lost, one bar per residual block, then the long skip."""
    fig = new_figure(9, 3.2)
    ax = fig.subplots()
    x = np.arange(len(rows))
    ax.bar(x, [r.psnr_drop for r in rows], color=["C0"] * (len(rows) - 1) + ["C3"])
    ax.set_xticks(x, [r.removed for r in rows], rotation=60, fontsize=9)
    ax.set_ylabel(t("ar_plot_y", lang))
    ax.set_title(t("ar_plot_title", lang, model=method_label(model, lang)))
    return fig_to_pil(fig)


def close_game(game: gan_game.GanGame | None) -> None:
    """The State's delete callback: the session ended (or the game expired)."""
    if game is not None:
        game.close()


def game_chart(game: gan_game.GanGame, lang: str = "en") -> Image.Image:
    """D(HR) and D(SR) after every press of this game."""
    fig = new_figure(5, 2.6)
    ax = fig.subplots()
    points = [game.history[0].before] + [r.after for r in game.history] if game.history else [game.snapshot()]
    ax.plot([p.d_hr for p in points], "o-", label="D(HR)")
    ax.plot([p.d_sr for p in points], "s-", label="D(SR)")
    ax.set_ylim(0, 1)
    ax.set_title(t("ar_game_chart", lang))
    ax.legend(loc="center left")
    return fig_to_pil(fig)


def _report(record: gan_game.StepRecord, lang: str) -> str:
    losses = " · ".join(f"{k} = {v:.4g}" for k, v in record.losses.items())
    kind = t(f"ar_kind_{record.kind}", lang, **({"n": record.steps} if record.kind == "DG" else {}))
    return t("ar_game_report", lang, kind=kind, d=record.d_steps, g=record.g_steps, hr0=record.before.d_hr,
             hr1=record.after.d_hr, sr0=record.before.d_sr, sr1=record.after.d_sr, losses=losses)  # fmt: skip


def game_step(game: gan_game.GanGame | None, action: str, image, weight: float = 1e-3, lang: str = "en"
              ) -> tuple[gan_game.GanGame, GameOutputs]:  # fmt: skip
    """One press: "d" (D step), "g" (G step), "run" (10 full steps) or "reset" (a new game on the current image).

    A first press without a game starts one. Returns the game (for the session's State) and what to show.
    """
    try:
        if game is None or game.players is None or action == "reset":
            close_game(game)
            hr = centre_crop(_checked_rgb(image, lang, min_side=gan_game.HR_PATCH), 192, multiple=SCALE)
            game = gan_game.GanGame(hr, adversarial_weight=float(weight))
            if action == "reset":
                now = game.snapshot()
                return game, GameOutputs(game.hr_mosaic, now.sr, now.sr, t("ar_game_new", lang, hr=now.d_hr,
                                         sr=now.d_sr), game_chart(game, lang))  # fmt: skip
        step = {"d": game.discriminator_step, "g": game.generator_step, "run": lambda: game.run(10)}[action]
        record = step()
    except gan_game.GameError as e:
        raise ValueError(t("ar_game_error", lang, reason=e)) from None
    return game, GameOutputs(game.hr_mosaic, record.before.sr, record.after.sr, _report(record, lang),
                             game_chart(game, lang))  # fmt: skip


CSS = """
/* Architecture tab: the Fig. 4 diagram is a radio group drawn as a chain of boxes, wrapping on narrow screens. */
#ar-diagram .wrap { display: flex; flex-wrap: wrap; gap: 6px; }
#ar-diagram label { white-space: pre-line; flex: 1 1 150px; max-width: 230px; min-height: 64px; font-size: 12px;
  line-height: 1.25; border: 2px solid #7aa6d8; border-radius: 8px; padding: 4px 6px; background: #f3f8ff; }
#ar-diagram label:nth-child(n+22) { border-color: #d89a7a; background: #fff6f1; }  /* D's blocks */
#ar-diagram label.selected, #ar-diagram label:has(input:checked) { border-color: #1d4ed8; background: #dbeafe; }
#ar-diagram input[type=radio] { display: none; }
#ar-left img, #ar-right img, #ar-game-sr img, #ar-game-before img, #ar-game-hr img { image-rendering: pixelated; }
/* Gradio scopes each rule under .gradio-container .contain (more specific than body.srgan-presenter ...). */
body.srgan-presenter #ar-diagram label { font-size: 17px !important; flex-basis: 210px !important; max-width: 300px !important; }
@media (max-width: 480px) { #ar-diagram label { flex-basis: 100%; max-width: 100%; font-size: 13px; } }
"""


def _press(action: str, game, image, weight: float, lang: str) -> tuple:
    """A GAN-game button: the game back into the State, then what to show."""
    game, shown = game_step(game, action, image, weight, lang)
    return (game, *shown)


def _ablation_event(image, off, long_skip, which, gan_model, lang) -> AblationOutputs:
    """The ablation's generator: SRResNet, or the GAN generator chosen above."""
    return ablation(image, off, long_skip, gan_model if which == "srgan" else "srresnet", lang)


def _walk_widgets(ctx: TabContext) -> dict:
    """The left column (image, generator, channels, lesson) and the diagram with the block's panels."""
    import gradio as gr

    from .components import example_photos, example_upload, generator_dropdown
    from .lessons import lesson_panel

    lang0, w = ctx.default_lang, {}
    pic = {"type": "pil", "format": "png", "interactive": False}
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            w["image"], examples = example_upload(ctx, "ar_image")
            w["gan_model"] = generator_dropdown(ctx)
            w["channels"] = ctx.widget(gr.Slider, "ar_channels", 1, 12, 8, step=1, elem_id="ar-channels")
            example_photos(ctx, examples, w["image"])
            lesson_panel(ctx, "10_architecture")
        with gr.Column(scale=3, min_width=300):
            w["diagram"] = ctx.widget(gr.Radio, "ar_diagram", choices=default_choices(lang=lang0), value="body_tail",
                                      elem_id="ar-diagram")  # fmt: skip
            w["diagram"].preprocess = lambda payload: (
                payload
            )  # any index or name: architecture() checks it in the user's language
            w["info"] = gr.Markdown(elem_id="ar-info")
            with gr.Row():
                w["left"] = ctx.widget(gr.Image, "ar_left", elem_id="ar-left", **pic)
                w["right"] = ctx.widget(gr.Image, "ar_right", elem_id="ar-right", **pic)
            with gr.Row():
                w["norms"] = ctx.widget(gr.Image, "ar_norms", elem_id="ar-norms", show_label=False, **pic)  # titled
                w["skip"] = ctx.widget(gr.Image, "ar_skip", elem_id="ar-skip", **pic)
            w["table"] = ctx.widget(gr.Dataframe, "ar_table", headers=table_headers(lang0), interactive=False,
                                    elem_id="ar-table", wrap=True)  # fmt: skip
    return w


def _ablation_widgets(ctx: TabContext) -> dict:
    import gradio as gr

    pic = {"type": "pil", "format": "png", "interactive": False}
    w = {}
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            w["off"] = ctx.widget(gr.CheckboxGroup, "ar_off", choices=list(range(1, 17)), value=[], elem_id="ar-off")
            w["long_skip"] = ctx.widget(gr.Checkbox, "ar_long_skip", value=True, elem_id="ar-long-skip")
            w["which"] = ctx.widget(gr.Radio, "ar_ablate_model", choices=[("SRResNet", "srresnet"), ("SRGAN", "srgan")],
                                    value="srresnet")  # fmt: skip
            w["scores"] = gr.Markdown(elem_id="ar-ablation-scores")
        with gr.Column(scale=2, min_width=280), gr.Row():
            w["output"] = ctx.widget(gr.Image, "ar_ablated", elem_id="ar-ablated", height=320,
                                     elem_classes="srgan-fill", **pic)  # fmt: skip
            w["plot"] = ctx.widget(gr.Image, "ar_ablation_plot", elem_id="ar-ablation-plot", show_label=False, **pic)
    return w


def _game_widgets(ctx: TabContext) -> dict:
    import gradio as gr

    pic = {"type": "pil", "format": "png", "interactive": False}
    w = {"title": ctx.widget(gr.Markdown, "ar_game_title"), "intro": ctx.widget(gr.Markdown, "ar_game_intro")}
    w["state"] = gr.State(None, time_to_live=GAME_TTL, delete_callback=close_game)
    with gr.Row():
        for key in ("d_step", "g_step", "run", "reset"):
            w[key] = ctx.widget(gr.Button, f"ar_{key}", variant="primary" if key.endswith("step") else "secondary",
                                elem_id=f"ar-{key.replace('_', '-')}", min_width=140)  # fmt: skip
        w["weight"] = ctx.widget(gr.Dropdown, "ar_weight", choices=[1e-3, 1e-2, 1e-1], value=1e-3, min_width=160)
    with gr.Row():
        w["hr"] = ctx.widget(gr.Image, "ar_game_hr", elem_id="ar-game-hr", **pic)
        w["before"] = ctx.widget(gr.Image, "ar_game_before", elem_id="ar-game-before", **pic)
        w["after"] = ctx.widget(gr.Image, "ar_game_after", elem_id="ar-game-sr", **pic)
        w["chart"] = ctx.widget(gr.Image, "ar_game_chart", elem_id="ar-game-chart", show_label=False, **pic)
    w["report"] = gr.Markdown(elem_id="ar-game-report")
    return w


def build(ctx: TabContext) -> None:
    """The Architecture tab: the clickable Fig. 4 and its block panels, residual learning to poke, the GAN game."""
    import functools

    import gradio as gr

    from .common import output_list, user_errors

    ctx = ctx.with_strings(STRINGS)
    w = _walk_widgets(ctx)
    with ctx.widget(gr.Accordion, "ar_ablation_title", open=True):  # its label is the section's title
        ab = _ablation_widgets(ctx)
    game = _game_widgets(ctx)

    def on_image(image, gan_model, lang):
        view = diagram_view(image, gan_model, lang)
        return gr.update(choices=view.diagram), view.norms, view.skip, gr.update(headers=table_headers(lang))

    arch_in = [w["image"], w["diagram"], w["channels"], w["gan_model"], ctx.lang]
    arch_out = output_list(ArchitectureOutputs, w)
    ab_in = [w["image"], ab["off"], ab["long_skip"], ab["which"], w["gan_model"], ctx.lang]
    ab_out = output_list(AblationOutputs, ab)
    # The named events first: a private event of the same function would otherwise take the name. Every
    # event that draws a figure takes the presenter checkbox too (ctx.scaled: larger text in presenter mode).
    gr.on([w["diagram"].change, w["channels"].release], *ctx.scaled(user_errors(architecture), arch_in), arch_out,
          api_name="architecture", trigger_mode="always_last", concurrency_limit=2)  # fmt: skip
    gr.on([ab["off"].change, ab["long_skip"].change, ab["which"].change],
          *ctx.scaled(user_errors(_ablation_event), ab_in), ab_out,
          api_name="ablation", trigger_mode="always_last", concurrency_limit=2)  # fmt: skip
    walk = gr.on([ctx.shown_language().change, w["image"].change, w["gan_model"].change],
                 *ctx.scaled(user_errors(on_image), [w["image"], w["gan_model"], ctx.lang]),
                 [w["diagram"], w["norms"], w["skip"], w["table"]], api_visibility="private",
                 concurrency_limit=2)  # fmt: skip
    walk.success(*ctx.scaled(user_errors(architecture), arch_in), arch_out, api_visibility="private").success(
        *ctx.scaled(user_errors(_ablation_event), ab_in), ab_out, api_visibility="private"
    )
    game_in = [game["state"], w["image"], game["weight"], ctx.lang]
    game_out = [game["state"], *output_list(GameOutputs, game)]
    for key, action, api in (("d_step", "d", "gan_discriminator_step"), ("g_step", "g", "gan_generator_step"),
                             ("run", "run", "gan_run"), ("reset", "reset", "gan_reset")):  # fmt: skip
        game[key].click(*ctx.scaled(user_errors(functools.partial(_press, action)), game_in), game_out,
                        api_name=api, concurrency_limit=2)  # fmt: skip
