"""The PixelShuffle tab: follow every value through the rearrangement, then see it on a real feature map.

Lesson: [PixelShuffle](../lessons/en/07_pixel_shuffle.md). Code: `srgan.teaching.pixel_shuffle_by_hand`,
`srgan.teaching.icnr_`, `srgan.models.UpsampleBlock`.

The handlers are plain functions (numbers in, PIL images and Markdown out); gradio is only
imported inside `build()`.
"""

from __future__ import annotations

import colorsys
import functools
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from srgan.checkpoints import CheckpointError, load_pretrained
from srgan.data import bicubic_downsample, builtin_image_paths, load_rgb, pil_to_tensor
from srgan.models import Generator
from srgan.teaching import (
    checkerboard_demo,
    first_upsample_activations,
    interior_spread,
    pixel_shuffle_by_hand,
    pixel_shuffle_source_map,
)

from .common import fig_to_pil, figure_scale, new_figure
from .context import TabContext
from .i18n import Strings

KEY = "tab_pixel_shuffle"
STRINGS = Strings({
    "ps_fig_in_label": ("ch {k}", "canal {k}"),
    "ps_numbers_hidden": (
        ("*With C = {C}, r = {r} and {H}×{W} the elements are too small for their numbers: the figure shows "
        "only the colours (the hue says the sub-pixel, the lightness the group c). Lower C, r, H or W to "
        "see the numbers again.*"),
        ("*Con C = {C}, r = {r} y {H}×{W} los elementos son demasiado pequeños para sus números: la figura "
        "solo muestra los colores (el tono indica el subpíxel, la luminosidad el grupo c). Baja C, r, H o W "
        "para volver a ver los números.*"),
    ),
    "ps_code_comment": ("i next to h, j next to w", "i junto a h, j junto a w"),
    "tab_pixel_shuffle": ("PixelShuffle", "PixelShuffle"),
    "ps_intro": (
        ("PixelShuffle turns a tensor $(C \\cdot r^2, H, W)$ into $(C, H \\cdot r, W \\cdot r)$ without any "
        "arithmetic: every number is moved, none is computed. Each input value is numbered by its position "
        "(flat index) and coloured by its channel, so you can follow it to its new place."),
        ("PixelShuffle convierte un tensor $(C \\cdot r^2, H, W)$ en $(C, H \\cdot r, W \\cdot r)$ sin hacer "
        "ninguna cuenta: cada número se mueve, ninguno se calcula. Cada valor de entrada lleva su posición "
        "(índice plano) y el color de su canal, para que puedas seguirlo hasta su nuevo sitio."),
    ),
    "ps_C": ("C: output channels", "C: canales de salida"),
    "ps_r": ("r: upscaling factor", "r: factor de escala"),
    "ps_H": ("H: input height", "H: alto de la entrada"),
    "ps_W": ("W: input width", "W: ancho de la entrada"),
    "ps_channel": ("Real feature map: output channel c", "Mapa real: canal de salida c"),
    "ps_grid_image": ("Input and output of PixelShuffle", "Entrada y salida de PixelShuffle"),
    "ps_real_image": ("On a real feature map (SRResNet, first upsampling block)",
                      "En un mapa de activación real (SRResNet, primer bloque de escalado)"),
    "ps_checker_image": ("Checkerboard artefacts at initialisation", "Artefactos de tablero de ajedrez al inicializar"),
    "ps_fig_input": ("Input (C·r², H, W) = ({n}, {H}, {W})", "Entrada (C·r², H, W) = ({n}, {H}, {W})"),
    "ps_fig_output": ("Output (C, H·r, W·r) = ({C}, {Hr}, {Wr})", "Salida (C, H·r, W·r) = ({C}, {Hr}, {Wr})"),
    "ps_fig_out_label": ("out {c} ← in {a}–{b}", "sal {c} ← ent {a}–{b}"),
    "ps_check_title": ("nn.PixelShuffle vs. reshape → permute → reshape",
                       "nn.PixelShuffle frente a reshape → permute → reshape"),
    "ps_check_result": (
        ("`torch.equal(nn.PixelShuffle({r})(x), pixel_shuffle_by_hand(x, {r}))` → **{equal_random}** on a random "
        "tensor x of shape (1, {n}, {H}, {W}), and **{equal_index}** on the numbered tensor of the figure."),
        ("`torch.equal(nn.PixelShuffle({r})(x), pixel_shuffle_by_hand(x, {r}))` → **{equal_random}** con un tensor "
        "aleatorio x de forma (1, {n}, {H}, {W}), y **{equal_index}** con el tensor numerado de la figura."),
    ),
    "ps_check_formula": ("The formula, for $0 \\le i, j < r$:", "La fórmula, para $0 \\le i, j < r$:"),
    "ps_check_example": (
        ("Example: output channel {c}, row {y} = {h}·{r} + {i}, column {x} = {w}·{r} + {j} comes from input "
        "channel {c}·{rr} + {i}·{r} + {j} = **{k}** at (h, w) = ({h}, {w}), whose number is "
        "{k}·{HW} + {h}·{W} + {w} = **{value}**; the figure shows **{shown}** there {mark}."),
        ("Ejemplo: el canal de salida {c}, fila {y} = {h}·{r} + {i}, columna {x} = {w}·{r} + {j} viene del canal "
        "de entrada {c}·{rr} + {i}·{r} + {j} = **{k}** en (h, w) = ({h}, {w}), cuyo número es "
        "{k}·{HW} + {h}·{W} + {w} = **{value}**; la figura muestra **{shown}** ahí {mark}."),
    ),
    "ps_real_missing": ("The real feature map needs the bundled SRResNet weights: {error}",
                        "El mapa real necesita los pesos de SRResNet incluidos: {error}"),
    "ps_real_no_image": ("No built-in photo is installed (scikit-image, scikit-learn or matplotlib).",
                         "No hay ninguna foto incluida instalada (scikit-image, scikit-learn o matplotlib)."),
    "ps_real_lr": ("LR input\n{h}×{w}", "Entrada LR\n{h}×{w}"),
    "ps_real_in": ("ch {k} → ({i}, {j})", "canal {k} → ({i}, {j})"),
    "ps_real_out": ("after PixelShuffle\nchannel {c}, {h}×{w}", "tras PixelShuffle\ncanal {c}, {h}×{w}"),
    "ps_real_zoom": ("zoom: conv channel\nof each pixel", "zoom: canal de la conv\nde cada píxel"),
    "ps_real_text": (
        ("First upsampling block of **SRResNet** on a {h}×{w} crop of *{image}*: the convolution gives "
        "({n}, {h}, {w}) at LR size, PixelShuffle(2) turns it into ({C}, {h2}, {w2}). Output channel **{c}** is "
        "made of conv channels {a}–{b}: channel {a} fills the top-left pixel of every 2×2 block, {a1} the "
        "top-right, {a2} the bottom-left and {b} the bottom-right. Same values, same colour scale: nothing is "
        "computed, only moved. Check on the whole tensor: `torch.equal(after, pixel_shuffle_by_hand(before, 2))` "
        "→ **{equal}**."),
        ("Primer bloque de escalado de **SRResNet** sobre un recorte {h}×{w} de *{image}*: la convolución da "
        "({n}, {h}, {w}) a tamaño LR y PixelShuffle(2) lo convierte en ({C}, {h2}, {w2}). El canal de salida "
        "**{c}** se forma con los canales {a}–{b} de la convolución: el {a} rellena el píxel superior izquierdo "
        "de cada bloque 2×2, el {a1} el superior derecho, el {a2} el inferior izquierdo y el {b} el inferior "
        "derecho. Mismos valores, misma escala de color: no se calcula nada, solo se mueve. Comprobación con el "
        "tensor completo: `torch.equal(after, pixel_shuffle_by_hand(before, 2))` → **{equal}**."),
    ),
    "ps_cb_transposed": ("Transposed conv (k=3, s=2)", "Conv. transpuesta (k=3, s=2)"),
    "ps_cb_subpixel": ("Sub-pixel conv, random init", "Conv. sub-píxel, init. aleatoria"),
    "ps_cb_icnr": ("Sub-pixel conv, ICNR init", "Conv. sub-píxel, init. ICNR"),
    "ps_cb_transposed_cap": ("uneven overlap → checkerboard", "solapamiento desigual → tablero"),
    "ps_cb_subpixel_cap": ("4 different filters → 2×2 pattern", "4 filtros distintos → patrón 2×2"),
    "ps_cb_icnr_cap": ("4 equal filters → uniform inside", "4 filtros iguales → uniforme dentro"),
    "ps_cb_spread": ("interior max − min = {v:.3g}", "interior máx − mín = {v:.3g}"),
    "ps_cb_text": (
        ("Each layer upsamples a **constant** image ×2 right after random initialisation, so any pattern is the "
        "layer's own. Interior spread (max − min, borders excluded): transposed conv **{tr:.3g}**, sub-pixel "
        "random **{sp:.3g}**, sub-pixel ICNR **{ic:.3g}**. ICNR (Aitken et al. 2017) gives the 4 sub-pixel "
        "filters of each output channel the same kernel, so the layer starts as \"conv, then nearest-neighbour "
        "upsampling\". The borders differ in all three because of zero padding; each panel has its own colour scale. "
        "SRGAN itself does not use ICNR."),
        ("Cada capa escala ×2 una imagen **constante** recién inicializada, así que cualquier patrón es de la "
        "propia capa. Variación en el interior (máx − mín, sin bordes): conv. transpuesta **{tr:.3g}**, "
        "sub-píxel aleatoria **{sp:.3g}**, sub-píxel ICNR **{ic:.3g}**. ICNR (Aitken et al. 2017) da el mismo "
        "núcleo a los 4 filtros sub-píxel de cada canal de salida, así que la capa empieza siendo \"conv y luego "
        "vecino más próximo\". Los bordes cambian en las tres por el relleno con ceros; cada panel tiene su propia "
        "escala de color. SRGAN no usa ICNR."),
    ),
})  # fmt: skip
t = STRINGS.t

MAX_FIG_W, MAX_FIG_H, MAX_PT_PER_CELL = 16.0, 10.0, 40.0  # inches, inches, points per tensor element
REAL_IMAGE, REAL_BOX = "astronaut", (128, 16, 320, 208)  # a 192x192 HR crop -> 48x48 LR (the face)
ZOOM_ROW, ZOOM_COL, ZOOM = 18, 15, 3  # the zoomed LR positions on the real feature map (an eye), 3x3
TITLE_FS, LABEL_FS = 18.0, 14.0  # points, for a projector
DIGIT_ADVANCE, DIGIT_HEIGHT = 0.63625, 0.729  # DejaVu Sans digits, in em: all equally wide, and their height
# Below this size (points, in a figure at most MAX_FIG_W wide, shown shrunk to its column) the numbers are
# unreadable (C=3, r=4: about 7 pt, 3-4 px high on screen): the grid then shows its colours only.
MIN_CELL_FS = 8.0


# -----------------------------------------------------------------------------------------------
# (a) the numbered tensors


def channel_colour(k: int, r: int) -> tuple[float, float, float]:
    """Colour of input channel k = c*r*r + s: the hue says the sub-pixel s, the lightness the group c."""
    c, s = divmod(k, r * r)
    hue = (s * 0.618034) % 1.0  # golden-ratio steps: neighbouring sub-pixels get distant hues
    return colorsys.hls_to_rgb(hue, 0.82 - 0.07 * c, 0.65)  # light enough for black digits


def _grid_layout(C: int, r: int, H: int, W: int, stacked: bool, pt: float) -> dict:
    """Positions, in tensor-element units, of every input grid, every output grid and the two titles.

    The r*r input channels of group c are drawn as an r x r mosaic in (i, j) order: channel
    c*r*r + i*r + j sits where its values will land inside each r x r output block.
    `pt` (points per element) sizes the rows that hold text, so fonts keep their size in points.
    """
    title_h, label_h = 2.8 * TITLE_FS / pt + 0.4, max(1.0, 1.4 * LABEL_FS / pt)
    gap, arrow, margin, min_w = 1.0, 3.0, 0.5, 7.0
    group_w, group_h = r * W + (r - 1) * gap, r * (H + label_h) + (r - 1) * 0.5 * gap  # one mosaic
    grids_in_w, grids_out_w = C * group_w + (C - 1) * 2 * gap, C * W * r + (C - 1) * 2 * gap
    in_w, in_h = max(grids_in_w, min_w), title_h + group_h  # min_w: room for the title
    out_w, out_h = max(grids_out_w, min_w), title_h + label_h + H * r
    if stacked:
        width, height = max(in_w, out_w), in_h + arrow + out_h
        in_x, in_y, out_x, out_y = (width - in_w) / 2, 0.0, (width - out_w) / 2, in_h + arrow
    else:  # side by side, titles on one line
        width, height = in_w + arrow + out_w, max(in_h, out_h)
        in_x, in_y, out_x, out_y = 0.0, 0.0, in_w + arrow, 0.0
    in_x0, out_x0 = in_x + (in_w - grids_in_w) / 2, out_x + (out_w - grids_out_w) / 2  # grids centred
    inputs = []  # (channel k, x, y) of each H x W grid's top-left corner
    for c in range(C):
        for i in range(r):
            for j in range(r):
                x = in_x0 + c * (group_w + 2 * gap) + j * (W + gap)
                y = in_y + title_h + i * (H + label_h + 0.5 * gap) + label_h
                inputs.append((c * r * r + i * r + j, x + margin, y + margin))
    outputs = [(c, out_x0 + c * (W * r + 2 * gap) + margin, out_y + title_h + label_h + margin) for c in range(C)]
    return {
        "width": width + 2 * margin,
        "height": height + 2 * margin,
        "inputs": inputs,
        "outputs": outputs,
        "stacked": stacked,
        "in_box": (in_x + margin, in_y + margin, in_w),
        "out_box": (out_x + margin, out_y + margin, out_w),
        "title_h": title_h,
        "label_h": label_h,
    }


def _best_layout(C: int, r: int, H: int, W: int) -> tuple[dict, float]:
    """The layout (side by side or stacked) with the biggest tensor elements, and its points per element."""
    best = None
    for stacked in (False, True):
        pt = MAX_PT_PER_CELL
        for _ in range(2):  # the text rows depend on the scale and the scale on them: twice is close enough
            lay = _grid_layout(C, r, H, W, stacked, pt)
            pt = min(MAX_FIG_W * 72 / lay["width"], MAX_FIG_H * 72 / lay["height"], MAX_PT_PER_CELL)
        if best is None or pt > best[1] + 1e-9:
            best = (lay, pt)
    return best


@functools.lru_cache(maxsize=1)
def _digit_glyphs() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Outlines (vertices, codes) of the digits 0-9 in DejaVu Sans at size 1 em."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    prop = FontProperties(family="DejaVu Sans")
    return tuple((p.vertices, p.codes) for p in (TextPath((0, 0), str(d), size=1, prop=prop) for d in range(10)))


def _numbers_patch(numbers: np.ndarray, xs: np.ndarray, ys: np.ndarray, size: float):
    """Every number, centred at (x, y), as ONE filled path (y grows downwards; size in data units).

    A thousand `ax.text` calls take seconds to render; one compound path of digit outlines takes
    milliseconds and looks the same.
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    glyphs, vertices, codes = _digit_glyphs(), [], []
    for n, cx, cy in zip(numbers.ravel(), xs.ravel(), ys.ravel()):
        digits = str(int(n))
        x0 = cx - len(digits) * DIGIT_ADVANCE * size / 2
        for k, d in enumerate(digits):
            v, c = glyphs[int(d)]
            # em coordinates -> data: shift by k advances, flip y (the axes grow downwards), centre vertically
            gx, gy = x0 + (k * DIGIT_ADVANCE + v[:, 0]) * size, cy + (DIGIT_HEIGHT / 2 - v[:, 1]) * size
            vertices.append(np.column_stack([gx, gy]))  # (points, 2)
            codes.append(c)
    path = Path(np.concatenate(vertices), np.concatenate(codes))
    return PathPatch(path, facecolor="black", edgecolor="none", zorder=4)


def _draw_grid(ax, values: np.ndarray, colours: np.ndarray, x: float, y: float, size: float, block: int) -> None:
    """One (h, w) grid of numbered, coloured elements with its top-left corner at (x, y); y grows downwards.

    `size`: of the numbers, in data units; 0 draws none.
    """
    h, w = values.shape
    ax.imshow(colours, extent=(x, x + w, y + h, y), interpolation="nearest", zorder=1)
    ax.hlines(y + np.arange(h + 1), x, x + w, colors="#555", linewidth=0.6, zorder=2)
    ax.vlines(x + np.arange(w + 1), y, y + h, colors="#555", linewidth=0.6, zorder=2)
    if block > 1:  # thick lines around every r x r block: the values of one LR position
        ax.hlines(y + np.arange(0, h + 1, block), x, x + w, colors="black", linewidth=2.2, zorder=3)
        ax.vlines(x + np.arange(0, w + 1, block), y, y + h, colors="black", linewidth=2.2, zorder=3)
    if size <= 0:
        return
    rows, cols = np.mgrid[0:h, 0:w]  # (h, w) each
    # add_artist, not add_patch: add_patch would fit the axes limits to every glyph curve (seconds)
    ax.add_artist(_numbers_patch(values, x + cols + 0.5, y + rows + 0.5, size))


def _fit(text: str, width_pt: float, largest: float, smallest: float = 8.0) -> float:
    """The font size (pt) at which `text` fits `width_pt` (about 0.62 em per character), within [smallest, largest]."""
    return float(np.clip(width_pt / (0.62 * max(len(text), 1)), smallest, largest))


def cell_font_size(C: int, r: int, H: int, W: int) -> float:
    """The size (pt) of the numbers in the elements of `shuffle_figure`: the widest number fits its element."""
    _, pt = _best_layout(C, r, H, W)
    digits = len(str(C * r * r * H * W - 1))
    return min(22.0, 0.55 * pt, 0.8 * pt / (DIGIT_ADVANCE * digits))


def numbers_shown(C: int, r: int, H: int, W: int) -> bool:
    """Whether `shuffle_figure` numbers its elements (False: too small to read, it shows the colours only)."""
    return cell_font_size(C, r, H, W) >= MIN_CELL_FS


@functools.lru_cache(maxsize=8)
def shuffle_figure(C: int = 1, r: int = 2, H: int = 3, W: int = 3, lang: str = "en") -> Image.Image:
    """The input tensor (C*r*r grids of H x W) and the output (C grids of H*r x W*r), every element numbered.

    Args:
        C, r, H, W: the shapes; the input is (C*r*r, H, W).
        lang: "en" or "es".

    Returns:
        The figure as an RGB PIL image.
    """
    lay, pt = _best_layout(C, r, H, W)
    n = C * r * r
    cell_fs = cell_font_size(C, r, H, W)
    number_size = cell_fs / pt if cell_fs >= MIN_CELL_FS else 0.0  # too small to read: colours only
    label_fs = min(LABEL_FS, (lay["label_h"] - 0.2) * pt / 1.3)
    title_fs = min(TITLE_FS, (lay["title_h"] - 0.4) * pt / 2.8)
    fig = new_figure(lay["width"] * pt / 72, lay["height"] * pt / 72)
    fig.set_layout_engine("none")
    ax = fig.add_axes((0, 0, 1, 1))
    palette = np.array([channel_colour(k, r) for k in range(n)])  # (C*r*r, 3)

    index = np.arange(n * H * W).reshape(n, H, W)  # (C*r*r, H, W), each element's flat index
    for k, x, y in lay["inputs"]:
        _draw_grid(ax, index[k], np.broadcast_to(palette[k], (H, W, 3)), x, y, number_size, block=1)
        label = t("ps_fig_in_label", lang, k=k)
        ax.text(x + W / 2, y - 0.12, label, ha="center", va="bottom", fontsize=_fit(label, (W + 0.9) * pt, label_fs))
    channel, row, col = pixel_shuffle_source_map(C, r, H, W)  # each (C, H*r, W*r)
    flat = channel * H * W + row * W + col  # (C, H*r, W*r), the number of the value that lands there
    for c, x, y in lay["outputs"]:
        _draw_grid(ax, flat[c], palette[channel[c]], x, y, number_size, block=r)
        label = t("ps_fig_out_label", lang, c=c, a=c * r * r, b=(c + 1) * r * r - 1)
        ax.text(
            x + W * r / 2, y - 0.12, label, ha="center", va="bottom", fontsize=_fit(label, (W * r + 1.6) * pt, label_fs)
        )

    titles = [
        (lay["in_box"], t("ps_fig_input", lang, n=n, H=H, W=W)),
        (lay["out_box"], t("ps_fig_output", lang, C=C, Hr=H * r, Wr=W * r)),
    ]
    for (x, y, w), title in titles:  # "Input (C·r², H, W) = (4, 3, 3)" -> two lines: name, then shape
        name, shape = title.split(" ", 1)
        fs = min(title_fs, _fit(shape, w * pt, TITLE_FS))
        ax.text(
            x + w / 2,
            y + lay["title_h"] / 2,
            f"{name}\n{shape}",
            ha="center",
            va="center",
            fontsize=fs,
            weight="bold",
            linespacing=1.3,
        )
    _, (ox, oy, _) = lay["in_box"], lay["out_box"]
    arrow = {"arrowstyle": "-|>", "lw": 3, "color": "#333", "mutation_scale": 25}
    if lay["stacked"]:
        xm = lay["width"] / 2
        ax.annotate("", xy=(xm, oy - 0.2), xytext=(xm, oy - 2.8), arrowprops=arrow)
        ax.text(xm + 0.5, oy - 1.5, f"PixelShuffle({r})", va="center", fontsize=label_fs)
    else:
        ym = oy + lay["title_h"] + lay["label_h"] + H * r / 2  # level with the middle of the output
        ax.annotate("", xy=(ox - 0.3, ym), xytext=(ox - 2.7, ym), arrowprops=arrow)
        ax.text(ox - 1.5, ym - 0.5, f"PS({r})", ha="center", va="bottom", fontsize=label_fs)
    ax.set_xlim(0, lay["width"])
    ax.set_ylim(lay["height"], 0)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig_to_pil(fig)


def shuffle_check_markdown(C: int = 1, r: int = 2, H: int = 3, W: int = 3, lang: str = "en") -> str:
    """Markdown: `nn.PixelShuffle` equals reshape/permute (torch.equal, computed now), the formula, a worked element."""
    n = C * r * r
    x = torch.randn(1, n, H, W, generator=torch.Generator().manual_seed(0))  # (1, C*r*r, H, W)
    equal_random = torch.equal(nn.PixelShuffle(r)(x), pixel_shuffle_by_hand(x, r))
    index = torch.arange(n * H * W).reshape(1, n, H, W)  # (1, C*r*r, H, W), the figure's numbers
    shuffled = nn.PixelShuffle(r)(index)[0]  # (C, H*r, W*r)
    equal_index = torch.equal(shuffled, pixel_shuffle_by_hand(index, r)[0])
    # A worked element away from the corner, so that i, j, h and w are not all 0.
    c, h, w, i, j = C - 1, H // 2, W // 2, r - 1, min(1, r - 1)
    k = c * r * r + i * r + j  # the input channel, by the formula
    value, shown = k * H * W + h * W + w, int(shuffled[c, h * r + i, w * r + j])  # expected vs. what PyTorch put there
    example = t(
        "ps_check_example",
        lang,
        c=c,
        y=h * r + i,
        x=w * r + j,
        h=h,
        w=w,
        i=i,
        j=j,
        r=r,
        rr=r * r,
        k=k,
        HW=H * W,
        W=W,
        value=value,
        shown=shown,
        mark="✓" if shown == value else "✗",
    )
    code = (
        "```python\n"
        f"y = (x.reshape(B, C, r, r, H, W)    # (B, {n}, {H}, {W}) -> (B, {C}, {r}, {r}, {H}, {W})\n"
        f"      .permute(0, 1, 4, 2, 5, 3)    # -> (B, {C}, {H}, {r}, {W}, {r}): {t('ps_code_comment', lang)}\n"
        f"      .reshape(B, C, H * r, W * r)) # -> (B, {C}, {H * r}, {W * r})\n"
        "```"
    )
    hidden = [] if numbers_shown(C, r, H, W) else [t("ps_numbers_hidden", lang, C=C, r=r, H=H, W=W)]
    return "\n\n".join(
        [
            *hidden,  # the figure's caption, right under it
            f"### {t('ps_check_title', lang)}",
            t("ps_check_result", lang, r=r, n=n, H=H, W=W, equal_random=equal_random, equal_index=equal_index),
            t("ps_check_formula", lang),
            "$$\\mathrm{PS}(T)_{c,\\; h r + i,\\; w r + j} = T_{c r^2 + i r + j,\\; h,\\; w}$$",
            example,
            code,
        ]
    )


# -----------------------------------------------------------------------------------------------
# (c) a real feature map


def _real_lr_crop() -> tuple[Image.Image, str]:
    """A 48x48 LR crop of a built-in photo (the astronaut's face, made with the project's bicubic degradation)."""
    paths = builtin_image_paths()
    if not paths:
        raise FileNotFoundError("no built-in photo")
    name = REAL_IMAGE if REAL_IMAGE in paths else next(iter(paths))
    hr = load_rgb(paths[name])
    box = REAL_BOX if min(hr.size) >= REAL_BOX[3] else (0, 0, 192, 192)
    return bicubic_downsample(hr.crop(box), 4), name


@functools.lru_cache(maxsize=4)
def real_activations(generator: Generator) -> tuple[Image.Image, str, np.ndarray, np.ndarray, bool]:
    """Run `generator` once on the LR crop; cached per generator object (the weights never change in place).

    Returns:
        (lr crop, image name, before (4C, h, w), after (C, 2h, 2w), torch.equal(after, by-hand shuffle of before)).
    """
    lr, name = _real_lr_crop()
    before, after = first_upsample_activations(generator, pil_to_tensor(lr)[None])  # (4C, h, w), (C, 2h, 2w)
    equal = torch.equal(after, pixel_shuffle_by_hand(before[None], 2)[0])
    return lr, name, before.numpy(), after.numpy(), equal


@functools.lru_cache(maxsize=8)
def real_feature_map_figure(
    generator: Generator, channel: int, lang: str, scale: float = 1.0
) -> tuple[Image.Image, str]:
    """The 4 conv channels that make output channel `channel`, the interleaved output and a numbered zoom.

    Args:
        generator: the model whose first upsampling block is shown.
        channel: output channel c (clamped to the model's channels).
        lang: "en" or "es".
        scale: of the figure's text (`common.figure_scale()`, an argument: it is part of the cache key).

    Returns:
        (figure, Markdown explanation).
    """
    lr, name, before, after, equal = real_activations(generator)
    c = int(np.clip(channel, 0, after.shape[0] - 1))
    ins, out = before[4 * c : 4 * c + 4], after[c]  # (4, h, w), (2h, 2w)
    vmin, vmax = np.percentile(np.concatenate([ins.ravel(), out.ravel()]), [1, 99])  # one scale: same values
    h, w = ins.shape[1:]

    fig = new_figure(16, 6, scale)
    grid = fig.add_gridspec(2, 5, width_ratios=[2, 1, 1, 2, 2])  # the 4 conv channels at half the output's size
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(lr, interpolation="nearest")
    ax.add_patch(_zoom_box(ZOOM_COL, ZOOM_ROW, ZOOM))
    ax.set_title(t("ps_real_lr", lang, h=h, w=w), fontsize=15)
    for s in range(4):
        i, j = divmod(s, 2)
        ax = fig.add_subplot(grid[i, 1 + j])
        ax.imshow(ins[s], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.add_patch(_zoom_box(ZOOM_COL, ZOOM_ROW, ZOOM))
        ax.set_title(t("ps_real_in", lang, k=4 * c + s, i=i, j=j), fontsize=13)
    ax = fig.add_subplot(grid[:, 3])
    ax.imshow(out, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.add_patch(_zoom_box(2 * ZOOM_COL, 2 * ZOOM_ROW, 2 * ZOOM))
    ax.set_title(t("ps_real_out", lang, c=c, h=2 * h, w=2 * w), fontsize=15)
    ax = fig.add_subplot(grid[:, 4])
    y, x = 2 * ZOOM_ROW, 2 * ZOOM_COL
    _draw_zoom(ax, out[y : y + 2 * ZOOM, x : x + 2 * ZOOM], c, vmin, vmax)  # (2h, 2w) -> (6, 6)
    ax.set_title(t("ps_real_zoom", lang), fontsize=15)
    for a in fig.axes:
        a.set_xticks([])
        a.set_yticks([])
    text = t(
        "ps_real_text",
        lang,
        h=h,
        w=w,
        image=name,
        n=before.shape[0],
        C=after.shape[0],
        h2=2 * h,
        w2=2 * w,
        c=c,
        a=4 * c,
        a1=4 * c + 1,
        a2=4 * c + 2,
        b=4 * c + 3,
        equal=equal,
    )
    return fig_to_pil(fig), text


def _zoom_box(x: float, y: float, side: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), side, side, fill=False, edgecolor="#ff3b30", linewidth=2.5)


def _draw_zoom(ax, patch: np.ndarray, c: int, vmin: float, vmax: float) -> None:
    """A few output pixels, each labelled with the conv channel 4c + 2i + j it was copied from."""
    ax.imshow(patch, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    mid = (vmin + vmax) / 2
    for (y, x), v in np.ndenumerate(patch):
        k = 4 * c + 2 * (y % 2) + x % 2  # out[c, 2h+i, 2w+j] = in[4c + 2i + j, h, w]
        ax.text(x, y, str(k), ha="center", va="center", fontsize=15, color="black" if v > mid else "white")
    ax.hlines(np.arange(-0.5, patch.shape[0], 2), -0.5, patch.shape[1] - 0.5, colors="#ff3b30", linewidth=2)
    ax.vlines(np.arange(-0.5, patch.shape[1], 2), -0.5, patch.shape[0] - 0.5, colors="#ff3b30", linewidth=2)


def real_feature_map(channel: int = 0, lang: str = "en", scale: float = 1.0) -> tuple[Image.Image | None, str]:
    """(figure, text) for the bundled SRResNet; (None, a clear message) when its weights are unavailable."""
    try:
        generator = load_pretrained("srresnet")
    except CheckpointError as e:
        return None, t("ps_real_missing", lang, error=e)
    try:
        return real_feature_map_figure(generator, channel, lang, scale)
    except FileNotFoundError:
        return None, t("ps_real_no_image", lang)


# -----------------------------------------------------------------------------------------------
# (d) checkerboards


@functools.lru_cache(maxsize=2)
def checkerboard_figure(lang: str = "en", scale: float = 1.0) -> tuple[Image.Image, str]:
    """Transposed conv vs. sub-pixel (random) vs. sub-pixel (ICNR), each on a constant image (`scale`: text)."""
    images = checkerboard_demo()
    spread = {k: interior_spread(v) for k, v in images.items()}
    panels = [
        ("transposed", "ps_cb_transposed"),
        ("subpixel_random", "ps_cb_subpixel"),
        ("subpixel_icnr", "ps_cb_icnr"),
    ]
    fig = new_figure(15, 6, scale)
    for n, (key, label) in enumerate(panels):
        ax = fig.add_subplot(1, 3, n + 1)
        ax.imshow(images[key], cmap="viridis", interpolation="nearest")
        ax.set_title(t(label, lang), fontsize=17)
        ax.set_xlabel(f"{t(label + '_cap', lang)}\n{t('ps_cb_spread', lang, v=spread[key])}", fontsize=15)
        ax.set_xticks([])
        ax.set_yticks([])
    text = t("ps_cb_text", lang, tr=spread["transposed"], sp=spread["subpixel_random"], ic=spread["subpixel_icnr"])
    return fig_to_pil(fig), text


# -----------------------------------------------------------------------------------------------
# the event


class PixelShuffleOutputs(NamedTuple):
    """What the `/pixel_shuffle` event shows."""

    grid: Image.Image  # the numbered input and output tensors
    check: str  # Markdown: nn.PixelShuffle equals reshape/permute, the formula, a worked element
    real: Image.Image | None  # the real feature map (None without the bundled SRResNet)
    real_text: str
    checker: Image.Image  # the checkerboard comparison
    checker_text: str


def pixel_shuffle_view(
    C: int = 1, r: int = 2, H: int = 3, W: int = 3, channel: int = 0, lang: str = "en"
) -> PixelShuffleOutputs:
    """Everything the tab shows, for one setting of the sliders.

    Args:
        C: output channels (1..3). r: upscaling factor (2..4). H, W: input height and width (1..4).
        channel: the output channel shown on the real feature map (0..63).
        lang: "en" or "es".

    In presenter mode (`common.presenter_scaled`) the real feature map and the checkerboards have larger text
    (the numbered grid's text is sized to its cells already).
    """
    C, r, H, W, channel = (int(v) for v in (C, r, H, W, channel))
    if not (1 <= C <= 3 and 2 <= r <= 4 and 1 <= H <= 4 and 1 <= W <= 4):
        raise ValueError("C must be 1..3, r 2..4, and H, W 1..4")
    lang = "es" if lang == "es" else "en"
    real_image, real_text = real_feature_map(channel, lang, figure_scale())  # cached: the scale is in the key
    checker_image, checker_text = checkerboard_figure(lang, figure_scale())
    return PixelShuffleOutputs(
        grid=shuffle_figure(C, r, H, W, lang),
        check=shuffle_check_markdown(C, r, H, W, lang),
        real=real_image,
        real_text=real_text,
        checker=checker_image,
        checker_text=checker_text,
    )


def build(ctx: TabContext) -> None:
    """The PixelShuffle tab: sliders, four outputs and the lesson beside them."""
    import gradio as gr

    from . import lessons
    from .common import output_list, user_errors

    ctx = ctx.with_strings(STRINGS)
    picture = {"type": "pil", "format": "png", "show_label": False, "interactive": False}
    with gr.Row():
        with gr.Column(scale=3):
            ctx.widget(gr.Markdown, "ps_intro", latex_delimiters=lessons.LATEX_DELIMITERS)
            with gr.Row():
                sliders = [
                    ctx.widget(gr.Slider, "ps_C", 1, 3, value=1, step=1),
                    ctx.widget(gr.Slider, "ps_r", 2, 4, value=2, step=1),
                    ctx.widget(gr.Slider, "ps_H", 1, 4, value=3, step=1),
                    ctx.widget(gr.Slider, "ps_W", 1, 4, value=3, step=1),
                ]
            out = {"grid": ctx.widget(gr.Image, "ps_grid_image", **picture)}
            out["check"] = gr.Markdown(latex_delimiters=lessons.LATEX_DELIMITERS)
            channel = ctx.widget(gr.Slider, "ps_channel", 0, 63, value=0, step=1)
            out["real"] = ctx.widget(gr.Image, "ps_real_image", **picture)
            out["real_text"] = gr.Markdown()
            out["checker"] = ctx.widget(gr.Image, "ps_checker_image", **picture)
            out["checker_text"] = gr.Markdown()
        with gr.Column(scale=2):
            lessons.lesson_panel(ctx, "07_pixel_shuffle")
    # Runs when the tab is first opened (not on page load: the first tab must stay responsive), on every
    # change, and in a new language when the tab is on screen (or next opened): ctx.shown_language.
    triggers = [ctx.shown_language().change, *[s.change for s in (*sliders, channel)]]
    gr.on(
        triggers,
        *ctx.scaled(user_errors(pixel_shuffle_view), [*sliders, channel, ctx.lang]),
        output_list(PixelShuffleOutputs, out),
        api_name="pixel_shuffle",
        trigger_mode="always_last",
    )
