"""Realism dial tab: network interpolation between SRResNet and SRGAN, and the perception–distortion plot.

Lesson: [the perception–distortion trade-off](../lessons/en/09_perception_distortion.md). Code:
`srgan.interpolation` (θ = (1 − α)·θ_SRResNet + α·θ_SRGAN, Wang et al. 2018, ESRGAN §3.4, an extension
beyond the SRGAN paper).

Events:
- `/realism`: upload (used as HR) + α + the two ends -> the SR image at α, the HR crop, and its
  PSNR-Y, gradient ratio and grid (checkerboard) score. Live on the slider (`trigger_mode="always_last"`).
- `/perception_distortion`: the same inputs -> every method as a point in the (PSNR, gradient ratio)
  plane, the curve the dial traces from α = 0 to α = 1, HR marked, and a sentence on what the class sees
  (Blau & Michaeli 2018, "The Perception-Distortion Tradeoff", arXiv 1711.06077).

To answer in well under a second on two CPU cores, both work on a centre crop of at most CROP x CROP
HR pixels (48 x 48 LR), and the SR results are cached per (crop, ends, α): the plot reuses what the
slider already computed. The handlers are plain functions (PIL/numpy in, PIL and Markdown out);
gradio is only imported inside `build()`.
"""

from __future__ import annotations

import hashlib
import time
from typing import NamedTuple

import numpy as np
from PIL import Image

from srgan.cache import LRUCache
from srgan.config import SCALE
from srgan.data import bicubic_downsample, centre_crop
from srgan.engine.inference import bicubic_upscale
from srgan.interpolation import checkpoint_key, interpolated_upscaler
from srgan.metrics import gradient_ratio, grid_artifact_score, psnr_y

from . import compare
from .common import as_pil, fig_to_pil, generator_label, method_label, new_figure
from .context import TabContext
from .i18n import Strings

CROP = 192  # HR side of the centre crop (48 x 48 LR): one forward pass is ~0.1 s on 2 CPU cores
MIN_SIDE = 64  # below this the grid score (8 periods per side) and the border shave leave too little
CURVE_ALPHAS = tuple(round(a, 2) for a in np.linspace(0, 1, 11))  # the dial's path, every 0.1

KEY = "tab_realism"
STRINGS = Strings({
    "tab_realism": ("Realism dial", "Dial de realismo"),
    "rl_image": ("Your image (used as HR: a centre crop is downsampled x4)",
                 "Tu imagen (se usa como HR: un recorte central se reduce x4)"),
    "rl_alpha": ("Realism α: 0 = first generator (MSE), 1 = second (GAN)",
                 "Realismo α: 0 = primer generador (MSE), 1 = segundo (GAN)"),
    "rl_model_a": ("Generator at α = 0", "Generador en α = 0"),
    "rl_model_b": ("Generator at α = 1 (bundled, or a fine-tuned run)",
                   "Generador en α = 1 (incluido, o un ajuste fino)"),
    "rl_sr": ("Result at α", "Resultado en α"),
    "rl_hr": ("HR (the crop, for reference)", "HR (el recorte, como referencia)"),
    "rl_plot": ("Perception–distortion plot", "Gráfica percepción–distorsión"),
    "rl_formula": ("θ = (1 − α)·θ[{a}] + α·θ[{b}], α = {alpha:.2f} · {w}x{h} crop · {ms:.0f} ms",
                   "θ = (1 − α)·θ[{a}] + α·θ[{b}], α = {alpha:.2f} · recorte de {w}x{h} · {ms:.0f} ms"),
    "rl_table": ("| | PSNR-Y (dB) ↑ | gradient ratio (HR = 1) | grid score (checkerboard) ↓ |\n|---|---|---|---|",
                 "| | PSNR-Y (dB) ↑ | razón de gradientes (HR = 1) | índice de rejilla (damero) ↓ |\n|---|---|---|---|"),
    "rl_axis_x": ("PSNR-Y (dB)  →  less distortion", "PSNR-Y (dB)  →  menos distorsión"),
    "rl_axis_y": ("gradient ratio  →  more detail (HR = 1)", "razón de gradientes  →  más detalle (HR = 1)"),
    "rl_title": ("Perception–distortion plane of this crop", "Plano percepción–distorsión de este recorte"),
    "rl_curve": ("the dial, α = 0 … 1", "el dial, α = 0 … 1"),
    "rl_here": ("α = {alpha:.2f} (the slider)", "α = {alpha:.2f} (el deslizador)"),
    "rl_hr_line": ("HR: gradient ratio 1, PSNR = ∞ →", "HR: razón de gradientes 1, PSNR = ∞ →"),
    "rl_sentence_tradeoff": (
        ("Each dot is one method on this crop; the line is the dial. From α = 0 ({a}) to α = 1 ({b}) the gradient "
        "ratio rises from {g0:.2f} to {g1:.2f} (HR = 1) while PSNR falls from {p0:.2f} to {p1:.2f} dB: **more "
        "realism costs PSNR**. This is the perception–distortion trade-off (Blau & Michaeli 2018): the average "
        "of all plausible images has the best PSNR and looks blurry; adding believable detail moves away from "
        "that average, so no method reaches HR's corner (top right)."),
        ("Cada punto es un método en este recorte; la línea es el dial. De α = 0 ({a}) a α = 1 ({b}) la razón de "
        "gradientes sube de {g0:.2f} a {g1:.2f} (HR = 1) mientras el PSNR baja de {p0:.2f} a {p1:.2f} dB: **más "
        "realismo cuesta PSNR**. Es el compromiso percepción–distorsión (Blau y Michaeli 2018): la media de todas "
        "las imágenes plausibles tiene el mejor PSNR y se ve borrosa; añadir detalle creíble se aleja de esa "
        "media, así que ningún método llega a la esquina de HR (arriba a la derecha)."),
    ),
    "rl_sentence_free": (
        ("Each dot is one method on this crop; the line is the dial. Here, from α = 0 ({a}) to α = 1 ({b}), the "
        "gradient ratio rises from {g0:.2f} to {g1:.2f} and PSNR does not fall ({p0:.2f} → {p1:.2f} dB): on this "
        "crop the dial adds detail for free. The trade-off of Blau & Michaeli (2018) is a bound over many images, "
        "not a rule for every crop: try another image."),
        ("Cada punto es un método en este recorte; la línea es el dial. Aquí, de α = 0 ({a}) a α = 1 ({b}), la "
        "razón de gradientes sube de {g0:.2f} a {g1:.2f} y el PSNR no baja ({p0:.2f} → {p1:.2f} dB): en este "
        "recorte el dial añade detalle gratis. El compromiso de Blau y Michaeli (2018) es un límite sobre muchas "
        "imágenes, no una regla para cada recorte: prueba otra imagen."),
    ),
    "rl_sentence_flat": (
        ("Each dot is one method on this crop; the line is the dial. Here {b} has no more detail than {a} "
        "(gradient ratio {g0:.2f} → {g1:.2f}), so the dial shows no trade-off: choose a GAN-trained generator "
        "for α = 1."),
        ("Cada punto es un método en este recorte; la línea es el dial. Aquí {b} no tiene más detalle que {a} "
        "(razón de gradientes {g0:.2f} → {g1:.2f}), así que el dial no muestra ningún compromiso: elige un "
        "generador entrenado con GAN para α = 1."),
    ),
    "rl_sentence_dip": (
        (" The line is not straight: at α = {lo:g}–{hi:g} the blend is worse than {a} on *both* axes. Blending two "
        "networks' weights is not blending their images; only the ends were trained."),
        (" La línea no es recta: en α = {lo:g}–{hi:g} la mezcla es peor que {a} en *los dos* ejes. Mezclar los pesos "
        "de dos redes no es mezclar sus imágenes; solo los extremos se entrenaron."),
    ),
})  # fmt: skip
t = STRINGS.t


class RealismOutputs(NamedTuple):
    """What the `/realism` event shows."""

    sr: Image.Image  # the SR crop at α
    hr: Image.Image  # the HR crop
    table: str  # Markdown: PSNR-Y, gradient ratio and grid score beside HR's, and the blend


class PerceptionDistortionOutputs(NamedTuple):
    """What the `/perception_distortion` event shows."""

    plot: Image.Image
    sentence: str  # Markdown: what the class sees, from the numbers


def centre_crop_pair(image, lang: str = "en") -> tuple[Image.Image, Image.Image]:
    """The upload -> (lr_image, hr_image): an HR centre crop of at most CROP x CROP, downsampled x4 (PIL bicubic).

    Raises:
        ImageError: no image. ValueError: smaller than MIN_SIDE pixels on a side.
    """
    rgb = as_pil(image, lang).convert("RGB")
    w, h = rgb.size
    if min(w, h) < MIN_SIDE:
        raise ValueError(compare.STRINGS.t("cmp_too_small", lang, min=MIN_SIDE))
    hr_image = centre_crop(rgb, CROP, multiple=SCALE)  # at most CROP x CROP, rounded down to x4
    return bicubic_downsample(hr_image, SCALE), hr_image


def grid_score(image: Image.Image) -> float:
    """`grid_artifact_score`, or NaN where it is undefined (an image under 32 pixels on a side)."""
    try:
        return grid_artifact_score(image, period=SCALE)
    except ValueError:  # too small for a spectrum: the rest of the answer must still show
        return float("nan")


def scores(sr_image: Image.Image, hr_image: Image.Image) -> dict[str, float]:
    """PSNR-Y, gradient ratio and grid score of one result (no SSIM: the slider must stay fast)."""
    return {
        "psnr_y": psnr_y(sr_image, hr_image, border=SCALE),
        "gradient_ratio": gradient_ratio(sr_image, hr_image, border=SCALE),
        "grid": grid_score(sr_image),
    }


RESULTS_CACHE = 96  # 192x192 images, ~110 kB each: the curve of a few crops and endpoints
_results: LRUCache[tuple[Image.Image, dict[str, float]]] = LRUCache(RESULTS_CACHE)


def sr_at(
    lr_image: Image.Image, hr_image: Image.Image, model_a: str, model_b: str, alpha: float
) -> tuple[Image.Image, dict[str, float]]:
    """The SR image of the generator at α between `model_a` and `model_b`, and its scores (cached).

    `model_a`/`model_b` are what `ui.common.resolve_generator` returns: a bundled name or a checkpoint path;
    "bicubic" for `model_a` gives the bicubic baseline (α is then ignored).
    """
    digest = hashlib.sha1(hr_image.tobytes()).hexdigest()  # the crop's content: a new upload is a new key
    alpha = round(float(alpha), 3)
    ends = ("bicubic",) if model_a == "bicubic" else (checkpoint_key(model_a), checkpoint_key(model_b), alpha)
    key = (digest, hr_image.size, *ends)

    def compute() -> tuple[Image.Image, dict[str, float]]:
        if model_a == "bicubic":
            sr_image = bicubic_upscale(lr_image, SCALE)
        else:
            sr_image = interpolated_upscaler(model_a, model_b, alpha)(lr_image)  # (4h, 4w) RGB
        return sr_image, scores(sr_image, hr_image)

    return _results.get_or_create(key, compute)


def model_label(name: str, lang: str = "en") -> str:
    """ "srresnet" -> "SRResNet (MSE)"; a fine-tuned run keeps its own name (and says its objective)."""
    return generator_label(name, lang)


def _ends(model_a: str, model_b: str) -> tuple[str, str]:
    from .common import resolve_generator

    return resolve_generator(model_a or "srresnet"), resolve_generator(model_b or "srgan")


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"α must be between 0 and 1, got {alpha}")
    return alpha


def metrics_markdown(
    alpha: float,
    values: dict[str, float],
    hr_grid: float,
    model_a: str,
    model_b: str,
    size: tuple[int, int],
    ms: float,
    lang: str = "en",
) -> str:
    """The scores of the result at α beside HR's, with the blend written out."""
    rows = [
        t("rl_table", lang),
        f"| α = {alpha:.2f} | {values['psnr_y']:.2f} | {values['gradient_ratio']:.3f} | {values['grid']:.3f} |",
        f"| HR | ∞ | 1.000 | {hr_grid:.3f} |",
    ]
    formula = t(
        "rl_formula",
        lang,
        a=model_label(model_a, lang),
        b=model_label(model_b, lang),
        alpha=alpha,
        w=size[0],
        h=size[1],
        ms=ms,
    )
    return "\n".join(rows) + f"\n\n{formula}"


def realism(
    image, alpha: float = 0.5, model_a: str = "srresnet", model_b: str = "srgan", lang: str = "en"
) -> RealismOutputs:
    """The `/realism` event: the SR crop at α, the HR crop, and their scores (Markdown).

    Args:
        image: the upload (PIL or numpy), used as HR; a centre crop of at most CROP x CROP is taken.
        alpha: 0 = `model_a`, 1 = `model_b`.
        model_a, model_b: "srresnet", "srgan" or a fine-tuned run's name (same architecture).
        lang: "en" or "es".
    """
    start = time.perf_counter()
    lang = "es" if lang == "es" else "en"
    alpha = _check_alpha(alpha)
    path_a, path_b = _ends(model_a, model_b)
    lr_image, hr_image = centre_crop_pair(image, lang)
    sr_image, values = sr_at(lr_image, hr_image, path_a, path_b, alpha)
    hr_grid = grid_score(hr_image)
    ms = 1000 * (time.perf_counter() - start)
    table = metrics_markdown(alpha, values, hr_grid, model_a or "srresnet", model_b or "srgan", hr_image.size, ms, lang)
    return RealismOutputs(sr=sr_image, hr=hr_image, table=table)


def pd_points(image, alpha: float = 0.5, model_a: str = "srresnet", model_b: str = "srgan", lang: str = "en") -> dict:
    """The numbers behind the plot.

    Returns:
        {"methods": {"bicubic"|"srresnet"|"srgan": (psnr, ratio)}, "curve": [(α, psnr, ratio), ...],
         "here": (α, psnr, ratio), "ends": (label a, label b), "size": (w, h)}
    """
    alpha = _check_alpha(alpha)
    path_a, path_b = _ends(model_a, model_b)
    lr_image, hr_image = centre_crop_pair(image, lang)

    def point(a: str, b: str, x: float) -> tuple[float, float]:
        _, v = sr_at(lr_image, hr_image, a, b, x)
        return v["psnr_y"], v["gradient_ratio"]

    methods = {
        "bicubic": point("bicubic", "", 0.0),
        "srresnet": point("srresnet", "srgan", 0.0),
        "srgan": point("srresnet", "srgan", 1.0),
    }
    curve = [(x, *point(path_a, path_b, x)) for x in CURVE_ALPHAS]
    return {
        "methods": methods,
        "curve": curve,
        "here": (alpha, *point(path_a, path_b, alpha)),
        "ends": (model_label(model_a or "srresnet"), model_label(model_b or "srgan")),
        "size": hr_image.size,
    }


def warm_up(image: Image.Image) -> None:
    """Compute the dial's curve for the example the tab opens with, before anyone opens it (`ui.launch` warm-up).

    The first opening runs the generator at every α of `CURVE_ALPHAS` plus the two ends and bicubic; done at
    start, they are all in `_results` when the first student opens the tab.

    Args:
        image: `ui.common.first_example()`, at the tab's default α and ends.
    """
    pd_points(image)


def pd_figure(points: dict, lang: str = "en") -> Image.Image:
    """Methods as points in the (PSNR, gradient ratio) plane, the dial's curve, HR at ratio 1 and PSNR = ∞."""
    fig = new_figure(9, 6)
    ax = fig.add_subplot()
    curve = np.array([(p, g) for _, p, g in points["curve"]])  # (len(CURVE_ALPHAS), 2)
    ax.plot(
        curve[:, 0],
        curve[:, 1],
        "-",
        color="tab:purple",
        linewidth=2.5,
        marker=".",
        markersize=10,
        label=t("rl_curve", lang),
        zorder=2,
    )
    for x, p, g in points["curve"]:  # the two ends and the middle: enough to read the direction
        if x in (0.0, 0.5, 1.0):
            ax.annotate(  # below and left of the point: the method's name is above and right, the marker between
                f"α={x:g}",
                (p, g),
                textcoords="offset points",
                xytext=(-12, -14),
                ha="right",
                va="top",
                fontsize=12,
                color="tab:purple",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                zorder=4,
            )
    styles = {"bicubic": ("s", "dimgray"), "srresnet": ("o", "tab:blue"), "srgan": ("o", "tab:orange")}
    for name, (p, g) in points["methods"].items():
        marker, colour = styles[name]
        ax.scatter(
            [p], [g], s=180, marker=marker, color=colour, edgecolor="black", zorder=3, label=method_label(name, lang)
        )
        ax.annotate(
            method_label(name, lang),
            (p, g),
            textcoords="offset points",
            xytext=(8, 8),
            fontsize=13,
            color=colour,
            weight="bold",
        )
    alpha, p, g = points["here"]
    ax.scatter(
        [p], [g], s=420, marker="*", color="tab:red", edgecolor="black", zorder=4, label=t("rl_here", lang, alpha=alpha)
    )
    # HR has PSNR = ∞, so it cannot be a point: a line at its gradient ratio, and a marker at the right edge.
    xs = [q for q, _ in points["methods"].values()] + list(curve[:, 0])
    ys = [q for _, q in points["methods"].values()] + list(curve[:, 1]) + [1.0]
    lo, hi = min(xs), max(xs)
    pad = max(0.5, 0.12 * (hi - lo))
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1.5, zorder=1)
    ax.scatter([hi + pad], [1.0], s=260, marker=">", color="black", zorder=3, clip_on=False, label="HR")
    ax.text(hi + pad * 0.8, 1.0, t("rl_hr_line", lang), ha="right", va="bottom", fontsize=12)
    ax.set_xlim(lo - pad, hi + pad * 1.15)
    ax.set_ylim(min(0.0, min(ys) - 0.05), max(ys) * 1.12)
    ax.set_xlabel(t("rl_axis_x", lang), fontsize=14)
    ax.set_ylabel(t("rl_axis_y", lang), fontsize=14)
    ax.set_title(t("rl_title", lang) + f" ({points['size'][0]}x{points['size'][1]})", fontsize=15)
    ax.tick_params(labelsize=12)
    ax.legend(fontsize=11, loc="best", framealpha=0.9)
    ax.grid(alpha=0.3)
    return fig_to_pil(fig)


def pd_sentence(points: dict, lang: str = "en") -> str:
    """What the class sees, said from the numbers (and honestly when this crop shows no trade-off)."""
    (_, p0, g0), (_, p1, g1) = points["curve"][0], points["curve"][-1]
    a, b = points["ends"]
    key = "rl_sentence_flat" if g1 <= g0 else "rl_sentence_tradeoff" if p1 < p0 else "rl_sentence_free"
    text = t(key, lang, a=a, b=b, p0=p0, p1=p1, g0=g0, g1=g1)
    dominated = [x for x, p, g in points["curve"][1:-1] if p < p0 and g < g0]  # worse than α = 0 on both axes
    if dominated:
        text += t("rl_sentence_dip", lang, lo=min(dominated), hi=max(dominated), a=a)
    return text


def perception_distortion(
    image, alpha: float = 0.5, model_a: str = "srresnet", model_b: str = "srgan", lang: str = "en"
) -> PerceptionDistortionOutputs:
    """The `/perception_distortion` event: the plot and the sentence under it. Same inputs as `realism`."""
    lang = "es" if lang == "es" else "en"
    points = pd_points(image, alpha, model_a, model_b, lang)
    return PerceptionDistortionOutputs(plot=pd_figure(points, lang), sentence=pd_sentence(points, lang))


def build(ctx: TabContext) -> None:
    """The Realism dial tab: upload + ends + α on the left; result, scores and plot on the right."""
    import gradio as gr

    from .common import generator_choices, output_list, user_errors
    from .components import example_photos, example_upload
    from .lessons import lesson_panel

    ctx = ctx.with_strings(STRINGS)
    out = {}
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            image, examples = example_upload(ctx, "rl_image")
            example_photos(ctx, examples, image)
            ends = {"allow_custom_value": True}
            lang0 = ctx.default_lang
            model_a = ctx.widget(gr.Dropdown, "rl_model_a", generator_choices(lang0), value="srresnet", **ends)
            model_b = ctx.widget(gr.Dropdown, "rl_model_b", generator_choices(lang0), value="srgan", **ends)
            ctx.relabel(model_a, generator_choices, "choices")
            ctx.relabel(model_b, generator_choices, "choices")
            lesson_panel(ctx, "09_perception_distortion")
        with gr.Column(scale=3):
            alpha = ctx.widget(gr.Slider, "rl_alpha", 0, 1, value=0.5, step=0.05, elem_id="rl-alpha")
            with gr.Row():
                shown = {"type": "pil", "interactive": False, "height": 384, "format": "png"}
                out["sr"] = ctx.widget(gr.Image, "rl_sr", elem_id="rl-sr", elem_classes="srgan-fill", **shown)
                out["hr"] = ctx.widget(gr.Image, "rl_hr", elem_id="rl-hr", elem_classes="srgan-fill", **shown)
            out["table"] = gr.Markdown(elem_id="rl-metrics")
            out["plot"] = ctx.widget(
                gr.Image, "rl_plot", type="pil", format="png", interactive=False, show_label=False, elem_id="rl-plot"
            )
            out["sentence"] = gr.Markdown(elem_id="rl-sentence")

    def refresh(lang, a, b):  # fine-tuned runs join both lists as soon as they exist (values kept: fresh labels)
        return gr.update(choices=generator_choices(lang), value=a), gr.update(choices=generator_choices(lang), value=b)

    ctx.tab.select(refresh, [ctx.lang, model_a, model_b], [model_a, model_b], api_visibility="private", queue=False)
    inputs = [image, alpha, model_a, model_b, ctx.lang]
    shown = ctx.shown_language()  # first opening, and a new language while on screen (or at the next opening)
    live = {"trigger_mode": "always_last", "show_progress": "minimal", "concurrency_limit": 2}
    dial_fn, dial_in = ctx.scaled(user_errors(realism), inputs)
    dial_out = output_list(RealismOutputs, out)
    plot_fn, plot_in = ctx.scaled(user_errors(perception_distortion), inputs)
    plot_out = output_list(PerceptionDistortionOutputs, out)
    # The image moves with every slider step ("always_last" drops the stale steps queued while one runs); the
    # plot moves its star when the slider is let go (each α of the curve is cached after the first time). The
    # named events first: a private event of the same function would otherwise take the name.
    alpha.change(dial_fn, dial_in, dial_out, api_name="realism", **live)
    alpha.release(plot_fn, plot_in, plot_out, api_name="perception_distortion", **live)
    # What redraws both panels is one event, the plot chained after the image. Two "always_last" events on the
    # same triggers re-fire each other as each one ends: the first opening in Chromium showed 40 requests and
    # 28 s of spinners (113 s once, and a CI time-out) for what takes under a second.
    both = gr.on([shown.change, image.change, model_a.change, model_b.change], dial_fn, dial_in, dial_out,
                 api_visibility="private", **live)  # fmt: skip
    both.then(plot_fn, plot_in, plot_out, api_visibility="private", show_progress="minimal")
