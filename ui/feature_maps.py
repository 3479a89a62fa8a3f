"""Feature maps tab: what φ_i,j sees in HR, bicubic, SRResNet and SRGAN (event `/feature_maps`).

Lesson: [the VGG loss](../lessons/en/04_vgg_loss.md). The slides: "consider each maxpool a feature
map φ". The VGG content loss (Eq. 5) compares these maps instead of pixels.

Two networks can be explored:
- VGG19 (`srgan/vgg.py`): ImageNet weights when available; offline it is *randomly initialised* and
  the tab says so in a banner (random filters still respond to edges, but they are not ImageNet's).
- The trained SRGAN discriminator (`srgan/models.py`), "a VGG-like network" (the slides: "consider the
  discriminator is a VGG-19"): meaningful even offline, since we trained it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from srgan.data import centre_crop, pil_to_tensor
from srgan.vgg import PAPER_NAMES, RELU_LAYERS, cached_weights_source, vgg_features

from .common import fig_to_pil, new_figure
from .compare import run_compare
from .context import TabContext
from .i18n import Strings

CROP = 192  # HR side analysed (VGG19 up to relu5_4 on 4 images stays around a second on 2 cores)
DISC_LAYERS = [f"D{k}" for k in range(1, 9)]
ORDER = ("hr", "bicubic", "srresnet", "srgan")

KEY = "tab_feature_maps"
STRINGS = Strings({
    "fm_disc_block": ("Discriminator block {k}", "Bloque {k} del discriminador"),
    "tab_feature_maps": ("Feature maps", "Mapas de activación"),
    "fm_image": ("HR image (a centre crop of 192x192 is analysed)", "Imagen HR (se analiza un recorte central de 192x192)"),
    "fm_layer": ("Layer φ_i,j", "Capa φ_i,j"),
    "fm_channels": ("Channels shown (strongest on HR)", "Canales mostrados (los más activos en HR)"),
    "fm_run": ("Show feature maps", "Mostrar mapas de activación"),
    "fm_maps": ("Feature maps", "Mapas de activación"),
    "fm_losses": ("Feature-space loss against HR", "Pérdida en el espacio de activaciones frente a HR"),
    "fm_vgg_pretrained": ("✅ **VGG19 with ImageNet weights** — {source}", "✅ **VGG19 con pesos de ImageNet** — {source}"),
    "fm_vgg_random": (("⚠️ **This VGG19 is randomly initialised, not ImageNet-trained** (no weights offline). "
                      "Its maps show what random filters respond to; they are *not* the paper's VGG54. "
                      "Set `SRGAN_VGG19_WEIGHTS` to `vgg19-dcbb9e9d.pth` for the real ones, or pick a "
                      "discriminator layer (D1…D8), which we trained."),
                      ("⚠️ **Esta VGG19 tiene pesos aleatorios, no entrenados en ImageNet** (sin pesos sin conexión). "
                      "Sus mapas muestran a qué responden filtros aleatorios; *no* son la VGG54 del artículo. "
                      "Define `SRGAN_VGG19_WEIGHTS` con `vgg19-dcbb9e9d.pth` para usar los reales, o elige "
                      "una capa del discriminador (D1…D8), que sí entrenamos.")),
    "fm_disc": ("🧠 **Trained SRGAN discriminator**, block {k} of 8 (after its LeakyReLU).",
                "🧠 **Discriminador de SRGAN entrenado**, bloque {k} de 8 (tras su LeakyReLU)."),
    "fm_title": ("{layer}: channels {channels}", "{layer}: canales {channels}"),
    "fm_loss_name": ("Image", "Imagen"),
    "fm_loss_value": ("mean squared feature difference (Eq. 5)", "diferencia cuadrática media de activaciones (Ec. 5)"),
    "fm_loss_rescaled": ("× (1/12.75)² (paper's rescale)", "× (1/12,75)² (reescalado del artículo)"),
})  # fmt: skip
t = STRINGS.t


class FeatureMapsOutputs(NamedTuple):
    """What the `/feature_maps` event shows."""

    grid: Image.Image  # the strongest channels of the layer, one row per image
    losses: list[list]  # rows [image, feature-space MSE, rescaled]
    banner: str  # Markdown: which network, pretrained or not


def layer_choices(lang: str = "en") -> list[tuple[str, str]]:
    """(label, value) for the layer dropdown: VGG19's ReLU layers (VGG22/VGG54 marked) and D1..D8."""
    paper = {v: k.upper() for k, v in PAPER_NAMES.items()}
    vgg = [(f"VGG19 {name}" + (f"  ({paper[name]})" if name in paper else ""), name) for name in RELU_LAYERS]
    return vgg + [(t("fm_disc_block", lang, k=k[1:]), k) for k in DISC_LAYERS]


def _activations(images: dict[str, Image.Image], layer: str) -> dict[str, torch.Tensor]:
    """(C, h, w) activations of `layer` for every image (inputs in the paper's [-1, 1] range)."""
    batch = torch.stack([pil_to_tensor(images[k].convert("RGB")) * 2 - 1 for k in ORDER])  # (4, 3, H, W)
    with torch.inference_mode():
        if layer in DISC_LAYERS:
            from srgan.checkpoints import load_pretrained_discriminator

            features = load_pretrained_discriminator().features[: int(layer[1:])]
            out = features(batch)  # (4, C, h, w)
        else:
            out = vgg_features("relu5_4").all_layers(batch, until=layer)[layer]  # (4, C_ij, H_ij, W_ij)
    return {k: out[i] for i, k in enumerate(ORDER)}


def square_crop(image: Image.Image, side: int = CROP) -> Image.Image:
    """The square centre crop the tab shows, at most `side` pixels, a multiple of the scale."""
    return centre_crop(image, side, square=True, multiple=4)


def network_banner(layer: str, lang: str = "en") -> str:
    """Markdown stating which network the maps come from, and whether it is pretrained."""
    if layer in DISC_LAYERS:
        return t("fm_disc", lang, k=layer[1:])
    weights = cached_weights_source()  # what the VGG19 will load, without building it (the app shows this at start)
    return t("fm_vgg_pretrained", lang, source=weights.description) if weights.pretrained else t("fm_vgg_random", lang)


def feature_maps(
    image, layer: str = "relu2_2", channels: int = 6, lang: str = "en", gan_model: str = "srgan"
) -> FeatureMapsOutputs:
    """The `/feature_maps` event: the grid figure, the loss table's rows and the banner.

    `gan_model` is the generator of the SRGAN row: the bundled one or a fine-tuned run.
    """
    from .common import as_pil

    hr = square_crop(as_pil(image, lang).convert("RGB"))
    result = run_compare(hr, "ground_truth", lang=lang, max_input_pixels=CROP * CROP, gan_model=gan_model)
    if layer not in RELU_LAYERS and layer not in DISC_LAYERS:
        raise ValueError(f"unknown layer {layer!r}")
    acts = _activations(result.images, layer)
    k = int(np.clip(channels, 1, 12))
    strongest = acts["hr"].mean(dim=(1, 2)).argsort(descending=True)[:k].tolist()  # by mean activation on HR
    fig = new_figure(2.0 * k + 1.2, 2.1 * len(ORDER) + 0.6)
    axes = fig.subplots(len(ORDER), k, squeeze=False)
    for col, c in enumerate(strongest):
        top = max(float(max(acts[name][c].max() for name in ORDER)), 1e-6)  # one colour scale per channel
        for row, name in enumerate(ORDER):
            ax = axes[row][col]
            ax.imshow(acts[name][c].numpy(), cmap="viridis", vmin=0, vmax=top)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(result.label(name, lang), fontsize=13)
            if row == 0:
                ax.set_title(f"#{c}", fontsize=12)
    label = next((lab for lab, v in layer_choices(lang) if v == layer), layer)
    fig.suptitle(t("fm_title", lang, layer=label, channels=", ".join(map(str, strongest))), fontsize=15)
    rows = []
    for name in ORDER:
        loss = float(torch.mean((acts[name] - acts["hr"]) ** 2))
        rows.append([result.label(name, lang), f"{loss:.4g}", f"{loss / 12.75**2:.4g}"])
    return FeatureMapsOutputs(grid=fig_to_pil(fig), losses=rows, banner=network_banner(layer, lang))


def loss_headers(lang: str = "en") -> list[str]:
    return [t("fm_loss_name", lang), t("fm_loss_value", lang), t("fm_loss_rescaled", lang)]


def build(ctx: TabContext) -> None:
    """The Feature maps tab: upload, layer and channels on the left; the grid, the losses and the banner."""
    import gradio as gr

    from .common import output_list, retitled_table, user_errors
    from .components import example_photos, example_upload, generator_dropdown
    from .lessons import lesson_panel

    ctx = ctx.with_strings(STRINGS)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            image, examples = example_upload(ctx, "fm_image")
            layer = ctx.widget(gr.Dropdown, "fm_layer", layer_choices(ctx.default_lang), value="relu2_2")
            ctx.relabel(layer, layer_choices, "choices")
            channels = ctx.widget(gr.Slider, "fm_channels", 1, 12, 6, step=1)
            gan_model = generator_dropdown(ctx)
            run = ctx.widget(gr.Button, "fm_run", variant="primary")
            example_photos(ctx, examples, image)
            lesson_panel(ctx, "04_vgg_loss")
        with gr.Column(scale=3):
            out = {"banner": gr.Markdown(network_banner("relu2_2", ctx.default_lang))}
            out["grid"] = ctx.widget(gr.Image, "fm_maps", type="pil", format="png", show_label=False, interactive=False)
            out["losses"] = ctx.widget(
                gr.Dataframe, "fm_losses", headers=loss_headers(ctx.default_lang), interactive=False
            )
    # Also on opening the tab (with the default example), so the class never looks at empty panels.
    gr.on(
        [run.click, ctx.tab.select],
        *ctx.scaled(user_errors(feature_maps), [image, layer, channels, ctx.lang, gan_model]),
        output_list(FeatureMapsOutputs, out),
        api_name="feature_maps",
        concurrency_limit=2,
    )
    layer.change(network_banner, [layer, ctx.lang], out["banner"], api_visibility="private", queue=False)
    ctx.shown_language().change(
        lambda lay, lg, rows: (network_banner(lay, lg), retitled_table(rows, loss_headers(lg), lang=lg)),
        [layer, ctx.lang, out["losses"]],
        [out["banner"], out["losses"]],
        api_visibility="private",
    )
