"""Loss lab tab: every loss of the paper on one image, and Fig. 3 made live (events `/losses`, `/fig3`).

Lessons: [content loss and PSNR](../lessons/en/03_content_loss_psnr.md),
[adversarial loss](../lessons/en/05_adversarial_loss.md), [perceptual loss](../lessons/en/06_perceptual_loss.md),
[SRGAN and Fig. 3](../lessons/en/01_srgan_fig3.md).

For bicubic, SRResNet, SRGAN and HR itself, against HR:
    MSE (Eq. 4, images in [-1, 1]), PSNR-Y (dB), VGG22 and VGG54 (Eq. 5, rescaled by 1/12.75),
    adversarial −log D(I) (Eq. 6, our trained discriminator, averaged over 96x96 patches),
    perceptual l^SR = l_X + 10^-3 l_Gen (Eq. 3) with l_X = MSE (how our SRGAN was trained) and with VGG54.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from srgan import losses
from srgan.data import pil_to_tensor
from srgan.metrics import psnr_y

from . import compare
from .common import as_pil, fig_to_pil, method_label, new_figure
from .compare import run_compare
from .context import TabContext
from .feature_maps import ORDER, square_crop
from .i18n import Strings

PATCH = 96  # the discriminator's training size (Fig. 4)

KEY = "tab_loss_lab"
STRINGS = Strings({
    "tab_loss_lab": ("Loss lab", "Laboratorio de pérdidas"),
    "ll_image": ("HR image (a 192x192 centre crop is used)", "Imagen HR (se usa un recorte central de 192x192)"),
    "ll_run": ("Compute the losses", "Calcular las pérdidas"),
    "ll_table": ("Losses against HR (lower is better, except PSNR)", "Pérdidas frente a HR (menor es mejor, salvo PSNR)"),
    "ll_chart": ("The same numbers as bars", "Los mismos números en barras"),
    "ll_image_col": ("Image", "Imagen"),
    "ll_note_random": (("⚠️ VGG22/VGG54 use a **randomly initialised** VGG19 here (no ImageNet weights offline): "
                       "compare them between methods only, not with the paper."),
                       ("⚠️ VGG22/VGG54 usan aquí una VGG19 con **pesos aleatorios** (sin pesos de ImageNet sin conexión): "
                       "compáralas solo entre métodos, no con el artículo.")),
    "ll_note_pretrained": ("VGG22/VGG54 use ImageNet VGG19 weights.", "VGG22/VGG54 usan pesos de ImageNet."),
    "ll_explain": (("On this image, the lowest MSE (highest PSNR) is {mse}'s; the lowest −log D, the most "
                   "'real' for our discriminator, is {adv}'s. Pixel losses reward the average of the plausible "
                   "answers; the adversarial term rewards looking like a photo: the perceptual loss adds "
                   "10⁻³ · l_Gen to the content loss to ask for both."),
                   ("En esta imagen, el menor MSE (mayor PSNR) es el de {mse}; el menor −log D, lo más «real» "
                   "para nuestro discriminador, es el de {adv}. Las pérdidas de píxel premian el promedio de las "
                   "respuestas plausibles; el término adversarial premia parecer una foto: la pérdida perceptual "
                   "suma 10⁻³ · l_Gen a la de contenido para pedir ambas cosas.")),
    "ll_fig3": ("Fig. 3, live: many HR patches fit one LR patch", "Fig. 3 en vivo: muchos parches HR encajan en un parche LR"),
    "ll_fig3_run": ("Draw plausible HR patches", "Dibujar parches HR plausibles"),
    "ll_fig3_count": ("How many plausible patches", "Cuántos parches plausibles"),
    "ll_fig3_seed": ("Random seed", "Semilla aleatoria"),
    "ll_fig3_x": ("Patch position x", "Posición del parche x"),
    "ll_fig3_y": ("Patch position y", "Posición del parche y"),
    "ll_fig3_out": ("Plausible patches and their average", "Parches plausibles y su promedio"),
    "ll_fig3_candidate": ("plausible #{k}\ngrad ratio {g:.2f}", "plausible n.º {k}\nrazón grad. {g:.2f}"),
    "ll_fig3_average": ("pixel-wise average\n(the MSE optimum)\ngrad ratio {g:.2f}",
                        "promedio píxel a píxel\n(el óptimo de MSE)\nrazón grad. {g:.2f}"),
    "ll_fig3_lr": ("the one LR patch\nthey all downsample to", "el único parche LR\nal que todos se reducen"),
    "ll_fig3_text": (("All {n} patches downsample to the same LR patch (largest difference {diff:.1e}). "
                     "Each is sharp (gradient ratio {lo:.2f}–{hi:.2f}); their average, which is what minimising "
                     "MSE converges to when the network cannot know which one is true, has ratio {avg:.2f}: "
                     "blurry, off the natural-image manifold. A GAN must instead pick one sharp answer."),
                     ("Los {n} parches se reducen al mismo parche LR (diferencia máxima {diff:.1e}). "
                     "Cada uno es nítido (razón de gradientes {lo:.2f}–{hi:.2f}); su promedio, que es hacia donde "
                     "converge minimizar el MSE cuando la red no puede saber cuál es el verdadero, tiene razón "
                     "{avg:.2f}: borroso, fuera de la variedad de imágenes naturales. Una GAN debe elegir una "
                     "respuesta nítida.")),
})  # fmt: skip
t = STRINGS.t

COLUMNS = ("MSE", "PSNR-Y (dB)", "VGG22", "VGG54", "−log D", "l^SR (MSE)", "l^SR (VGG54)")


def _patches(batch: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N·k, 3, 96, 96): the non-overlapping 96x96 patches the discriminator was trained on."""
    n, c, h, w = batch.shape
    ph, pw = h // PATCH, w // PATCH
    x = batch[:, :, : ph * PATCH, : pw * PATCH].reshape(n, c, ph, PATCH, pw, PATCH)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(n * ph * pw, c, PATCH, PATCH)


def compute_losses(images: dict[str, Image.Image]) -> tuple[dict[str, dict[str, float]], bool]:
    """Every loss of the paper for each image in `images` (keys of ORDER) against images["hr"].

    Returns:
        ({name: {column: value}}, vgg_pretrained)
    """
    from srgan.checkpoints import load_pretrained_discriminator
    from srgan.vgg import vgg_features

    batch = torch.stack([pil_to_tensor(images[k].convert("RGB")) * 2 - 1 for k in ORDER])  # (4, 3, H, W) in [-1, 1]
    hr = batch[:1]
    vgg = vgg_features("relu5_4")
    with torch.inference_mode():
        feats = vgg.all_layers(batch)
        discriminator = load_pretrained_discriminator()
        patches = _patches(batch)  # (4k, 3, 96, 96)
        logits = discriminator(patches).reshape(len(ORDER), -1)  # (4, k)
    table: dict[str, dict[str, float]] = {}
    for i, name in enumerate(ORDER):
        x = batch[i : i + 1]
        mse = losses.mse_content_loss(x, hr).item()
        vgg22 = torch.mean((feats["relu2_2"][i] / 12.75 - feats["relu2_2"][0] / 12.75) ** 2).item()
        vgg54 = torch.mean((feats["relu5_4"][i] / 12.75 - feats["relu5_4"][0] / 12.75) ** 2).item()
        adversarial = losses.adversarial_loss(logits[i]).item()
        table[name] = {
            "MSE": mse,
            "PSNR-Y (dB)": psnr_y(images[name], images["hr"], border=4),
            "VGG22": vgg22,
            "VGG54": vgg54,
            "−log D": adversarial,
            "l^SR (MSE)": losses.perceptual_loss(torch.tensor(mse), torch.tensor(adversarial)).item(),
            "l^SR (VGG54)": losses.perceptual_loss(torch.tensor(vgg54), torch.tensor(adversarial)).item(),
        }
    return table, vgg.pretrained


def explanation(table: dict[str, dict[str, float]], lang: str = "en", labels: dict[str, str] | None = None) -> str:
    """What this table says, measured: which method wins on MSE and which on −log D (HR itself left out)."""
    methods = [n for n in ORDER if n != "hr"]
    best_mse = min(methods, key=lambda n: table[n]["MSE"])
    best_adv = min(methods, key=lambda n: table[n]["−log D"])
    labels = labels or {n: method_label(n, lang) for n in ORDER}
    return t("ll_explain", lang, mse=labels[best_mse], adv=labels[best_adv])


def losses_chart(
    table: dict[str, dict[str, float]], *, lang: str = "en", labels: dict[str, str] | None = None
) -> Image.Image:
    """One small bar chart per loss (their scales differ by orders of magnitude)."""
    labels = labels or {n: method_label(n, lang) for n in ORDER}
    fig = new_figure(15, 6.4)
    axes = fig.subplots(2, 4).ravel()
    colors = {"hr": "black", "bicubic": "tab:gray", "srresnet": "tab:blue", "srgan": "tab:orange"}
    for ax, column in zip(axes, COLUMNS):
        names = [n for n in ORDER if not (column.startswith("PSNR") and n == "hr")]  # HR's PSNR is infinite
        values = [table[n][column] for n in names]
        ax.bar([labels[n] for n in names], values, color=[colors[n] for n in names])
        ax.set_title(column, fontsize=14)
        ax.tick_params(axis="x", labelrotation=30, labelsize=11)
    axes[-1].axis("off")
    axes[-1].text(0, 0.5, textwrap.fill(explanation(table, lang, labels), 38), fontsize=11, va="center")
    return fig_to_pil(fig)


def table_rows(table: dict[str, dict[str, float]], labels: dict[str, str] | None = None) -> list[list]:
    labels = labels or {n: method_label(n) for n in ORDER}
    rows = []
    for name in ORDER:
        v = table[name]
        rows.append([labels[name]] + ["∞" if not np.isfinite(v[c]) else f"{v[c]:.4g}" for c in COLUMNS])
    return rows


class LossLabOutputs(NamedTuple):
    """What the `/losses` event shows."""

    table: list[list]  # one row per image of ORDER: its name, then COLUMNS
    chart: Image.Image
    note: str  # Markdown: the VGG weights used, and what the table says


class Fig3Outputs(NamedTuple):
    """What the `/fig3` event shows."""

    figure: Image.Image  # the plausible HR patches, their average and the LR patch
    text: str  # Markdown: what it means, measured


def loss_lab(image, lang: str = "en", gan_model: str = "srgan") -> LossLabOutputs:
    """The `/losses` event: table rows, chart, note on the VGG weights; `gan_model` may be a fine-tuned run."""
    hr = square_crop(as_pil(image, lang).convert("RGB"))
    if min(hr.size) < PATCH:
        raise ValueError(compare.STRINGS.t("cmp_too_small", lang, min=PATCH))
    result = run_compare(hr, "ground_truth", lang=lang, max_input_pixels=hr.width * hr.height, gan_model=gan_model)
    table, pretrained = compute_losses(result.images)
    labels = {name: result.label(name, lang) for name in ORDER}  # the SRGAN row named after its generator
    note = t("ll_note_pretrained" if pretrained else "ll_note_random", lang) + "\n\n" + explanation(table, lang, labels)
    return LossLabOutputs(
        table=table_rows(table, labels), chart=losses_chart(table, lang=lang, labels=labels), note=note
    )


def fig3_live(image, x: float = 0.5, y: float = 0.5, count: int = 6, seed: int = 0, lang: str = "en") -> Fig3Outputs:
    """The `/fig3` event: plausible HR patches for one LR patch, their average, and what it means."""
    from srgan.teaching import fig3_plausible_patches

    src = as_pil(image, lang).convert("RGB")
    side = min(64, min(src.size) // 4 * 4)
    if side < 16:
        raise ValueError(compare.STRINGS.t("cmp_too_small", lang, min=16))
    left = int(np.clip(x * src.width - side / 2, 0, src.width - side))
    top = int(np.clip(y * src.height - side / 2, 0, src.height - side))
    patch = src.crop((left, top, left + side, top + side))
    out = fig3_plausible_patches(patch, count=int(count), scale=4, seed=int(seed))
    n = len(out["candidates"])
    fig = new_figure(2.2 * (n + 2), 2.9)
    axes = fig.subplots(1, n + 2)
    for k, (ax, cand) in enumerate(zip(axes, out["candidates"])):
        ax.imshow(cand)
        ax.set_title(t("ll_fig3_candidate", lang, k=k + 1, g=out["gradient_ratio"]["candidates"][k]), fontsize=11)
    axes[n].imshow(out["average"])
    axes[n].set_title(t("ll_fig3_average", lang, g=out["gradient_ratio"]["average"]), fontsize=11, color="tab:blue")
    axes[n + 1].imshow(out["lr"].resize((side, side), Image.Resampling.NEAREST))
    axes[n + 1].set_title(t("ll_fig3_lr", lang), fontsize=11)
    for ax in axes:
        ax.axis("off")
    ratios = out["gradient_ratio"]["candidates"]
    text = t(
        "ll_fig3_text",
        lang,
        n=n,
        diff=out["max_lr_difference"],
        lo=min(ratios),
        hi=max(ratios),
        avg=out["gradient_ratio"]["average"],
    )
    return Fig3Outputs(figure=fig_to_pil(fig), text=text)


def build(ctx: TabContext) -> None:
    """The Loss lab tab: every loss on one image (top), then Fig. 3 made live (below)."""
    import gradio as gr

    from .common import output_list, retitled_table, user_errors

    ctx = ctx.with_strings(STRINGS)
    image, gan_model, run, out = _losses_section(ctx)
    fig3_inputs, fig3_run, fig3_out = _fig3_section(ctx)
    # Also on opening the tab (with the default example), so the class never looks at empty panels.
    gr.on(
        [run.click, ctx.tab.select],
        *ctx.scaled(user_errors(loss_lab), [image, ctx.lang, gan_model]),
        output_list(LossLabOutputs, out),
        api_name="losses",
        concurrency_limit=2,
    )
    ctx.shown_language().change(
        lambda rows, lg: retitled_table(rows, table_headers(lg), lang=lg),
        [out["table"], ctx.lang],
        out["table"],
        api_visibility="private",
    )
    gr.on(
        [fig3_run.click, ctx.tab.select],
        *ctx.scaled(user_errors(fig3_live), [image, *fig3_inputs, ctx.lang]),
        output_list(Fig3Outputs, fig3_out),
        api_name="fig3",
    )


def table_headers(lang: str = "en") -> list[str]:
    return [t("ll_image_col", lang), *COLUMNS]


def _losses_section(ctx: TabContext):
    """Upload and generator (left); the loss table, its note and the chart (right)."""
    import gradio as gr

    from .components import example_photos, example_upload, generator_dropdown
    from .lessons import lesson_panel

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            image, examples = example_upload(ctx, "ll_image")
            gan_model = generator_dropdown(ctx)
            run = ctx.widget(gr.Button, "ll_run", variant="primary")
            example_photos(ctx, examples, image)
            lesson_panel(ctx, "06_perceptual_loss")
            lesson_panel(ctx, "05_adversarial_loss")
        with gr.Column(scale=3):
            out = {
                "table": ctx.widget(
                    gr.Dataframe, "ll_table", headers=table_headers(ctx.default_lang), interactive=False
                )
            }
            out["note"] = gr.Markdown()
            out["chart"] = ctx.widget(
                gr.Image, "ll_chart", type="pil", format="png", show_label=False, interactive=False
            )
    return image, gan_model, run, out


def _fig3_section(ctx: TabContext):
    """Fig. 3's patch position, count and seed (left); the patches and what they mean (right)."""
    import gradio as gr

    from .lessons import lesson_panel

    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            ctx.relabel(gr.Markdown(f"### {ctx.text('ll_fig3')}"), lambda lg: f"### {t('ll_fig3', lg)}", "value")
            inputs = [
                ctx.widget(gr.Slider, "ll_fig3_x", 0, 1, 0.5, step=0.01),
                ctx.widget(gr.Slider, "ll_fig3_y", 0, 1, 0.5, step=0.01),
                ctx.widget(gr.Slider, "ll_fig3_count", 2, 8, 5, step=1),
                ctx.widget(gr.Number, "ll_fig3_seed", 0, precision=0),
            ]
            run = ctx.widget(gr.Button, "ll_fig3_run")
            lesson_panel(ctx, "01_srgan_fig3")
        with gr.Column(scale=3):
            out = {
                "figure": ctx.widget(
                    gr.Image, "ll_fig3_out", type="pil", format="png", show_label=False, interactive=False
                )
            }
            out["text"] = gr.Markdown()
    return inputs, run, out
