"""The PReLU tab: the activation, and the slopes our generators actually learned, layer by layer.

Lesson: [PReLU](../lessons/en/08_prelu.md). Code: `srgan.teaching.prelu_slopes`, `srgan.teaching.prelu_summary`,
`srgan.models.Generator.prelus`.

The handlers are plain functions (numbers in, PIL images and Markdown out); gradio is only
imported inside `build()`.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from PIL import Image

from srgan.checkpoints import CheckpointError, load_pretrained
from srgan.models import Generator
from srgan.teaching import PRELU_INIT, prelu_layer_group, prelu_slopes, prelu_summary

from .common import fig_to_pil, figure_scale, generator_label, new_figure
from .context import TabContext
from .i18n import Strings

KEY = "tab_prelu"
STRINGS = Strings({
    "tab_prelu": ("PReLU", "PReLU"),
    "prelu_run": ("Add a fine-tuned run to the plot", "Añadir un ajuste fino a la gráfica"),
    "prelu_slope": ("Slope a for negative inputs", "Pendiente a para entradas negativas"),
    "prelu_curve_image": ("The activation", "La activación"),
    "prelu_slopes_image": ("Learned slopes, layer by layer", "Pendientes aprendidas, capa a capa"),
    "prelu_curve_title": ("f(y) = y if y ≥ 0, a·y if y < 0", "f(y) = y si y ≥ 0, a·y si y < 0"),
    "prelu_curve_prelu": ("PReLU, a = {a:.2f} (learned, per channel)", "PReLU, a = {a:.2f} (aprendida, por canal)"),
    "prelu_curve_relu": ("ReLU (a = 0)", "ReLU (a = 0)"),
    "prelu_curve_leaky": ("LeakyReLU, a = 0.2 (SRGAN's discriminator)", "LeakyReLU, a = 0.2 (discriminador de SRGAN)"),
    "prelu_slopes_title": ("Learned slopes $a_i$: mean and 10–90 % of the channels of each PReLU",
                           "Pendientes aprendidas $a_i$: media y 10–90 % de los canales de cada PReLU"),
    "prelu_axis_layer": ("PReLU layer, in forward order", "Capa PReLU, en orden de propagación"),
    "prelu_axis_slope": ("slope a", "pendiente a"),
    "prelu_group_head": ("head", "cabeza"),
    "prelu_group_residual": ("residual blocks", "bloques residuales"),
    "prelu_group_upsample": ("upsampling", "escalado"),
    "prelu_tick_head": ("head", "cab."),
    "prelu_tick_up": ("up{k}", "esc{k}"),
    "prelu_init": ("initial value 0.25", "valor inicial 0,25"),
    "prelu_none": ("No bundled generator could be loaded, so there are no learned slopes to show.",
                   "No se ha podido cargar ningún generador incluido: no hay pendientes aprendidas que mostrar."),
    "prelu_missing": ("**{model}** is not shown: {error}", "**{model}** no se muestra: {error}"),
    "prelu_table": (
        "| | head | residual blocks | upsampling | moved from 0.25 | min | max |\n|---|---|---|---|---|---|---|",
        "| | cabeza | bloques residuales | escalado | cambio desde 0,25 | mín | máx |\n|---|---|---|---|---|---|---|",
    ),
    "prelu_claim": (
        ("**The slide's claim** (He et al. 2015, for ImageNet classifiers): the first layers learn larger, more "
        "linear slopes; deeper layers smaller ones. Checked on our weights:"),
        ("**Lo que dice la diapositiva** (He et al. 2015, en clasificadores de ImageNet): las primeras capas "
        "aprenden pendientes mayores, más lineales; las profundas, menores. Comprobado con nuestros pesos:"),
    ),
    "prelu_check_head": ("head {head:.3f} vs. residual blocks {residual:.3f}: {mark}",
                         "cabeza {head:.3f} frente a bloques residuales {residual:.3f}: {mark}"),
    "prelu_check_trend": (
        "along the residual blocks the mean slope changes by {trend:+.4f} per block: {mark}",
        "a lo largo de los bloques residuales la pendiente media cambia {trend:+.4f} por bloque: {mark}",
    ),
    "prelu_check_up": ("upsampling {upsample:.3f} vs. residual blocks {residual:.3f}: {mark}",
                       "escalado {upsample:.3f} frente a bloques residuales {residual:.3f}: {mark}"),
    "prelu_agrees": ("agrees", "coincide"),
    "prelu_disagrees": ("does not agree", "no coincide"),
    "prelu_verdict_all": ("All three agree with the claim.", "Las tres coinciden con la afirmación."),
    "prelu_verdict_none": ("None of the three agrees with the claim.",
                           "Ninguna de las tres coincide con la afirmación."),
    "prelu_verdict_some": ("Only {n} of the three agree: our weights support the claim only in part.",
                           "Solo {n} de las tres coinciden: nuestros pesos apoyan la afirmación solo en parte."),
    "prelu_small": (
        ("Caution: on average the slopes of {model} moved only {moved:.3f} from their initial 0.25, so these "
        "differences are tiny; they say more about a short training than about what a generator needs."),
        ("Cuidado: de media las pendientes de {model} solo se han movido {moved:.3f} desde su valor inicial 0,25, "
        "así que las diferencias son minúsculas; dicen más de un entrenamiento corto que de lo que necesita un "
        "generador."),
    ),
    "prelu_extremes": ("{negative} channels have a negative slope and {above_one} a slope above 1.",
                       "{negative} canales tienen pendiente negativa y {above_one} una pendiente mayor que 1."),
    "prelu_identical": (
        ("The SRResNet and SRGAN weights have exactly the same slopes (the two curves coincide): the adversarial "
        "stage did not change them, or the SRGAN file is a copy of SRResNet's."),
        ("Los pesos de SRResNet y SRGAN tienen exactamente las mismas pendientes (las dos curvas coinciden): la "
        "fase adversarial no las ha cambiado, o el archivo de SRGAN es una copia del de SRResNet."),
    ),
})  # fmt: skip
t = STRINGS.t

MODELS = ("srresnet", "srgan")
COLOURS = {"srresnet": "#1f77b4", "srgan": "#ff7f0e"}  # blue = MSE, orange = GAN, as in the paper's Fig. 3
SMALL_MOVE = 0.02  # mean |a - 0.25| below this: the slopes have barely left their initialisation


def prelu_curve(slope: float = 0.25, lang: str = "en") -> Image.Image:
    """f(y) for the chosen slope a, beside ReLU and LeakyReLU(0.2).

    Args:
        slope: the negative slope a.
        lang: "en" or "es".

    Returns:
        The plot as an RGB PIL image.
    """
    y = np.linspace(-3, 3, 601)
    fig = new_figure(7.5, 6.4)
    ax = fig.add_subplot()
    ax.axhline(0, color="#999", linewidth=1)
    ax.axvline(0, color="#999", linewidth=1)
    ax.plot(y, np.maximum(y, 0), "--", color="black", linewidth=2, label=t("prelu_curve_relu", lang))
    ax.plot(y, np.where(y >= 0, y, 0.2 * y), ":", color="#d62728", linewidth=3, label=t("prelu_curve_leaky", lang))
    ax.plot(
        y,
        np.where(y >= 0, y, slope * y),
        color="#1f77b4",
        linewidth=4,
        alpha=0.85,
        label=t("prelu_curve_prelu", lang, a=slope),
    )
    ax.set_xlim(-3, 3)
    ax.set_ylim(-2, 3)
    ax.set_xlabel("y", fontsize=16)
    ax.set_ylabel("f(y)", fontsize=16)
    ax.set_title(t("prelu_curve_title", lang), fontsize=17)
    ax.tick_params(labelsize=14)
    fig.legend(fontsize=13, loc="outside lower center", ncols=1)  # under the axes: never on a curve
    ax.grid(alpha=0.3)
    return fig_to_pil(fig)


def bundled_slopes() -> tuple[dict[str, Generator], dict[str, str]]:
    """The bundled generators that load, and an error message for each one that does not."""
    found, missing = {}, {}
    for name in MODELS:
        try:
            found[name] = load_pretrained(name)
        except CheckpointError as e:
            missing[name] = str(e)
    return found, missing


def _tick_labels(names: list[str], lang: str) -> list[str]:
    """ "head", "1".."16", "up1", "up2" for the PReLUs of a generator."""
    labels, block, up = [], 0, 0
    for name in names:
        group = prelu_layer_group(name)
        if group == "residual":
            block += 1
            labels.append(str(block))
        elif group == "upsample":
            up += 1
            labels.append(t("prelu_tick_up", lang, k=up))
        else:
            labels.append(t("prelu_tick_head", lang))
    return labels


@functools.lru_cache(maxsize=4)
def slopes_figure(models: tuple[tuple[str, Generator], ...], lang: str, scale: float = 1.0) -> Image.Image:
    """Mean slope and its 10-90 % band for every PReLU, both models on one plot (cached per model set).

    Args:
        models: ((name, generator), ...), e.g. (("srresnet", g1), ("srgan", g2)).
        lang: "en" or "es".
        scale: of the text (`common.figure_scale()`, an argument: it is part of the cache key).

    Returns:
        The plot as an RGB PIL image.
    """
    fig = new_figure(14, 5.8, scale)
    ax = fig.add_subplot()
    names: list[str] = []
    for k, (model, generator) in enumerate(models):
        layers = prelu_slopes(generator)
        names = [n for n, _ in layers]
        x = np.arange(len(layers)) + 0.12 * (k - (len(models) - 1) / 2)  # side by side, not on top of each other
        mean = np.array([a.mean() for _, a in layers])  # (layers,)
        lo, hi = np.array([np.percentile(a, [10, 90]) for _, a in layers]).T  # (layers,) each
        colour = COLOURS.get(model, f"C{k}")
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, linewidth=0)
        ax.errorbar(
            x,
            mean,
            yerr=[mean - lo, hi - mean],
            fmt="o-",
            color=colour,
            linewidth=2.5,
            markersize=7,
            capsize=4,
            label=generator_label(model, lang),
        )
    ax.axhline(PRELU_INIT, color="#555", linestyle="--", linewidth=1.5, label=t("prelu_init", lang))
    groups = [prelu_layer_group(n) for n in names]
    top = ax.get_ylim()[1]
    for group in ("head", "residual", "upsample"):  # name each region once, above its layers
        where = [i for i, g in enumerate(groups) if g == group]
        if where:
            if group == "residual":
                ax.axvspan(where[0] - 0.5, where[-1] + 0.5, color="#eee", zorder=0)
            ax.text(
                (where[0] + where[-1]) / 2,
                top,
                t(f"prelu_group_{group}", lang),
                ha="center",
                va="bottom",
                fontsize=14,
                weight="bold",
            )
    ax.set_xticks(np.arange(len(names)), _tick_labels(names, lang))
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_xlabel(t("prelu_axis_layer", lang), fontsize=15)
    ax.set_ylabel(t("prelu_axis_slope", lang), fontsize=15)
    ax.set_title(t("prelu_slopes_title", lang), fontsize=16, pad=30)
    ax.tick_params(labelsize=13)
    ax.legend(fontsize=13, loc="best")
    ax.grid(axis="y", alpha=0.3)
    return fig_to_pil(fig)


def slopes_markdown(models: dict[str, Generator], missing: dict[str, str], lang: str) -> str:
    """What the weights say about the slide's claim, computed now from the slopes, in `lang`."""
    missing_lines = [t("prelu_missing", lang, model=generator_label(m, lang), error=e) for m, e in missing.items()]
    if not models:
        return "\n\n".join([t("prelu_none", lang), *missing_lines])
    slopes = {m: prelu_slopes(g) for m, g in models.items()}
    summaries = {m: prelu_summary(s) for m, s in slopes.items()}
    rows = [t("prelu_table", lang)]
    for m, s in summaries.items():
        rows.append(
            f"| {generator_label(m, lang)} | {s['head']:.3f} | {s['residual']:.3f} | {s['upsample']:.3f} | "
            f"{s['moved']:.3f} | {s['min']:.3f} | {s['max']:.3f} |"
        )
    parts = ["\n".join(rows), t("prelu_claim", lang)]
    identical = len(slopes) == 2 and all(
        np.array_equal(a, b) for (_, a), (_, b) in zip(*slopes.values())
    )  # then one check says it all
    for m, s in list(summaries.items())[: 1 if identical else None]:
        parts.append(
            _claim_check(
                " = ".join(generator_label(k, lang) for k in summaries) if identical else generator_label(m, lang),
                s,
                lang,
            )
        )
    if identical:
        parts.append(t("prelu_identical", lang))
    return "\n\n".join(parts + missing_lines)


def _claim_check(model: str, s: dict, lang: str) -> str:
    """The three parts of He et al.'s claim, each checked on one model's summary, and an honest verdict."""
    yes, no = f"✓ {t('prelu_agrees', lang)}", f"✗ {t('prelu_disagrees', lang)}"
    checks = [
        t(
            "prelu_check_head",
            lang,
            head=s["head"],
            residual=s["residual"],
            mark=yes if s["head_above_residual"] else no,
        ),
        t("prelu_check_trend", lang, trend=s["residual_trend"], mark=yes if s["residual_decreasing"] else no),
        t(
            "prelu_check_up",
            lang,
            upsample=s["upsample"],
            residual=s["residual"],
            mark=yes if s["upsample_below_residual"] else no,
        ),
    ]
    n = sum(bool(s[k]) for k in ("head_above_residual", "residual_decreasing", "upsample_below_residual"))
    verdict = (
        t("prelu_verdict_all", lang)
        if n == 3
        else t("prelu_verdict_none", lang)
        if n == 0
        else t("prelu_verdict_some", lang, n=n)
    )
    lines = [
        f"**{model}**: {verdict} " + t("prelu_extremes", lang, negative=s["negative"], above_one=s["above_one"]),
        *(f"- {c}" for c in checks),
    ]
    if s["moved"] < SMALL_MOVE:
        lines.append(f"\n*{t('prelu_small', lang, model=model, moved=s['moved'])}*")
    return "\n".join(lines)


class PreluOutputs(NamedTuple):
    """What the `/prelu` event shows."""

    curve: Image.Image  # the activation for the chosen slope, beside ReLU and LeakyReLU
    slopes: Image.Image | None  # the learned slopes, layer by layer (None when no model loads)
    analysis: str  # Markdown: what the weights say about the slide's claim


def prelu_view(slope: float = 0.25, lang: str = "en", run: str = "") -> PreluOutputs:
    """Everything the tab shows.

    Args:
        slope: the negative slope a of the plotted PReLU (-0.5..1).
        lang: "en" or "es".
        run: optionally a fine-tuned run (or "srresnet"/"srgan") whose slopes join the plot.
    """
    slope = float(slope)
    if not -0.5 <= slope <= 1:
        raise ValueError("the slope must be between -0.5 and 1")
    lang = "es" if lang == "es" else "en"
    models, missing = bundled_slopes()
    if run and run not in models:  # a fine-tuned run, beside the bundled models
        from .common import resolve_generator

        models[run] = load_pretrained(resolve_generator(run))
    figure = slopes_figure(tuple(models.items()), lang, figure_scale()) if models else None  # cached: scale in key
    return PreluOutputs(
        curve=prelu_curve(slope, lang), slopes=figure, analysis=slopes_markdown(models, missing, lang)
    )


def run_choices(lang: str = "en") -> list[tuple[str, str]]:
    """The fine-tuned runs that may join the plot (the bundled models are always on it), after "—" for none."""
    from .common import generator_choices

    return [("—", "")] + generator_choices(lang)[2:]


def build(ctx: TabContext) -> None:
    """The PReLU tab: the slope slider, the two plots, the analysis and the lesson beside them."""
    import gradio as gr

    from . import lessons
    from .common import output_list, user_errors

    ctx = ctx.with_strings(STRINGS)
    picture = {"type": "pil", "format": "png", "show_label": False, "interactive": False}
    out = {}
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                with gr.Column():
                    slope = ctx.widget(gr.Slider, "prelu_slope", -0.5, 1, value=0.25, step=0.05)
                    run = ctx.widget(
                        gr.Dropdown, "prelu_run", run_choices(ctx.default_lang), value="", allow_custom_value=True
                    )
                    ctx.relabel(run, run_choices, "choices")
                    out["curve"] = ctx.widget(gr.Image, "prelu_curve_image", **picture)
                out["analysis"] = gr.Markdown()
            out["slopes"] = ctx.widget(gr.Image, "prelu_slopes_image", **picture)
        with gr.Column(scale=2):
            lessons.lesson_panel(ctx, "08_prelu")
    # Runs when the tab is first opened (not on page load: the first tab must stay responsive), on every
    # change, and in a new language when the tab is on screen (or next opened): ctx.shown_language.
    gr.on(
        [ctx.shown_language().change, slope.change, run.change],
        *ctx.scaled(user_errors(prelu_view), [slope, ctx.lang, run]),
        output_list(PreluOutputs, out),
        api_name="prelu",
        trigger_mode="always_last",
    )
    # Fine-tuned runs join the list as soon as they exist.
    ctx.tab.select(  # with its value: a dropdown given new choices alone shows a stale label
        lambda lang, value: gr.update(choices=run_choices(lang), value=value),
        [ctx.lang, run],
        run,
        api_visibility="private",
    )
