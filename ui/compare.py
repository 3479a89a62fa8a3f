"""Compare tab: bicubic vs SRResNet (MSE) vs SRGAN on the user's image (event `/upscale`).

Lesson: [SRGAN and Fig. 3](../lessons/en/01_srgan_fig3.md): the MSE result is the blurry average of the
plausible images; the GAN result has texture. The spectra show where MSE loses the high frequencies.

Two modes:
- "upscale": the upload is the low-resolution input; the results are 4x larger.
- "ground_truth": the upload is HR; it is downsampled x4 (PIL bicubic) first, so every method can be
  scored against it (PSNR-Y, SSIM-Y, gradient ratio) and HR joins the comparison.

The handlers are plain functions; `build()` wires them to widgets.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from srgan.config import SCALE
from srgan.data import bicubic_downsample, mod_crop
from srgan.engine.inference import bicubic_upscale, tiles_needed, upscaler_for
from srgan.images import ImageError, split_image
from srgan.metrics import evaluate_pair, radial_power_spectrum, rgb_to_y

from .common import (
    METHODS,
    as_pil,
    empty_table,
    example_paths,
    fig_to_pil,
    generator_label,
    method_label,
    new_figure,
)
from .context import TabContext
from .i18n import Strings

KEY = "tab_compare"
STRINGS = Strings({
    "tab_compare": ("Compare", "Comparar"),
    "cmp_input": ("Your image", "Tu imagen"),
    "cmp_mode": ("Mode", "Modo"),
    "cmp_mode_upscale": ("Upscale my image (it is the low-resolution input)",
                         "Ampliar mi imagen (es la entrada en baja resolución)"),
    "cmp_mode_gt": ("Ground truth (my image is HR: downsample x4 first, then score each method)",
                    "Verdad de referencia (mi imagen es HR: se reduce x4 y se evalúa cada método)"),
    "cmp_run": ("Upscale x4", "Ampliar x4"),
    "cmp_results": ("Results", "Resultados"),
    "cmp_metrics": ("Scores against HR", "Métricas frente a HR"),
    "cmp_zoom": ("Synced zoom: the same region of every result", "Zoom sincronizado: la misma región en cada resultado"),
    "cmp_zoom_x": ("Zoom centre x (or click a result)", "Centro del zoom x (o haz clic en un resultado)"),
    "cmp_zoom_y": ("Zoom centre y", "Centro del zoom y"),
    "cmp_zoom_size": ("Zoom window (fraction of the image)", "Ventana de zoom (fracción de la imagen)"),
    "cmp_slider": ("Before / after", "Antes / después"),
    "cmp_slider_a": ("Left image", "Imagen izquierda"),
    "cmp_slider_b": ("Right image", "Imagen derecha"),
    "cmp_diff": ("Difference maps", "Mapas de diferencias"),
    "cmp_spectrum": ("Frequency spectrum", "Espectro de frecuencias"),
    "cmp_downloads": ("Download the results (PNG)", "Descargar los resultados (PNG)"),
    "cmp_status": ("Status", "Estado"),
    "cmp_method": ("Method", "Método"),
    "cmp_psnr": ("PSNR-Y (dB) ↑", "PSNR-Y (dB) ↑"),
    "cmp_ssim": ("SSIM-Y ↑", "SSIM-Y ↑"),
    "cmp_grad": ("Gradient ratio (1 = as detailed as HR)", "Razón de gradientes (1 = tan detallada como HR)"),
    "cmp_flat": ("Detail in flat areas (1 = HR's; above: noise)",
                 "Detalle en zonas lisas (1 = el de HR; más: ruido)"),
    "cmp_busy": ("Detail in textured areas (1 = HR's; below: lost)",
                 "Detalle en zonas con textura (1 = el de HR; menos: perdido)"),
    "cmp_no_hr": ("No HR image in this mode: choose Ground truth to score the methods.",
                  "No hay imagen HR en este modo: elige Verdad de referencia para evaluar los métodos."),
    "cmp_done": ("{w}x{h} → {W}x{H} in {seconds:.1f} s ({tiles} tile(s) per network).",
                 "{w}x{h} → {W}x{H} en {seconds:.1f} s ({tiles} tesela(s) por red)."),
    "cmp_gt_note": (" Your {W0}x{H0} image was used as HR and downsampled to {w}x{h}.",
                    " Tu imagen de {W0}x{H0} se usó como HR y se redujo a {w}x{h}."),
    "cmp_too_big": (("The image is {w}x{h} = {px:,} pixels; this server upscales at most {max:,} ({side}x{side}). "
                    "Crop or resize it, choose Ground truth mode (which downsamples x4 first), "
                    "or use the command line: python -m srgan upscale (no limit)."),
                    ("La imagen es de {w}x{h} = {px:,} píxeles; este servidor amplía como máximo {max:,} ({side}x{side}). "
                    "Recórtala o redúcela, elige el modo Verdad de referencia (que primero reduce x4) "
                    "o usa la línea de órdenes: python -m srgan upscale (sin límite).")),
    "cmp_alpha_note": (" Transparency (alpha) is kept in the downloaded PNGs (upscaled with bicubic).",
                       " La transparencia (alfa) se conserva en los PNG descargados (ampliada con bicúbica)."),
    "cmp_too_small": ("In Ground truth mode the image must be at least {min}x{min} pixels.",
                      "En el modo Verdad de referencia la imagen debe tener al menos {min}x{min} píxeles."),
    "cmp_diff_title_hr": ("|method − HR| (brighter = larger error)", "|método − HR| (más claro = más error)"),
    "cmp_diff_title_bic": ("|network − bicubic|: the detail each network adds",
                           "|red − bicúbica|: el detalle que añade cada red"),
    "cmp_spec_title": ("Radially averaged power spectrum of Y", "Espectro de potencia de Y promediado radialmente"),
    "cmp_spec_x": ("spatial frequency (cycles/pixel)", "frecuencia espacial (ciclos/píxel)"),
    "cmp_spec_y": ("power (log scale)", "potencia (escala log)"),
    "cmp_spec_note": ("MSE (SRResNet) falls below HR at high frequencies: it averages away the fine texture.",
                      "MSE (SRResNet) cae por debajo de HR en altas frecuencias: promedia la textura fina."),
    "cmp_animated": (" Animated image: only the first frame was used.",
                     " Imagen animada: solo se usó el primer fotograma."),
    "cmp_mean": ("mean {value:.2f}", "media {value:.2f}"),
})  # fmt: skip
t = STRINGS.t


@dataclass
class CompareResult:
    """Everything the Compare tab shows, computed once per request and kept in a gr.State."""

    images: dict[str, Image.Image]  # "bicubic", "srresnet", "srgan" and, in ground-truth mode, "hr"
    lr_image: Image.Image
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # empty without HR
    seconds: float = 0.0
    notes: list[tuple[str, dict]] = field(default_factory=list)  # (key, values) of the status's notes: any language
    alpha: Image.Image | None = None  # the upload's alpha (LR size, upscale mode): put back on the downloads
    files: dict[str, str] = field(default_factory=dict)  # the PNG of each image, once `save_downloads` wrote it
    views: dict[str, str] = field(default_factory=dict)  # what the panels show: each file, enlarged `view_scale` x
    view_scale: int = 1
    gan_model: str = "srgan"  # the generator of the SRGAN column: "srgan", "srresnet" or a fine-tuned run's name

    def label(self, name: str, lang: str = "en") -> str:
        """A method's name as the class reads it; the SRGAN column is named after its own generator."""
        gan = generator_label(self.gan_model, lang) if self.gan_model != "srgan" else None
        return method_label(name, lang, gan_label=gan)

    def note(self, lang: str = "en") -> str:
        return "".join(t(key, lang, **values) for key, values in self.notes)


def prepare_input(
    image: Image.Image | np.ndarray, mode: str, *, max_input_pixels: int, lang: str = "en"
) -> tuple[Image.Image, Image.Image | None, list[tuple[str, dict]], Image.Image | None]:
    """Turn the upload into (LR RGB, HR RGB or None, notes, alpha or None), enforcing the pixel limit.

    The notes are (key, values) pairs of this module's strings, so that the status follows a language switch.
    The alpha channel of an upscaled upload is kept aside (the networks only see RGB); in ground-truth mode
    there is none to give back.
    """
    split = split_image(as_pil(image, lang))
    rgb, notes = split.rgb, ([("cmp_animated", {})] if split.note else [])
    alpha = split.alpha if mode != "ground_truth" else None
    notes += [("cmp_alpha_note", {})] if alpha is not None else []
    if mode == "ground_truth":
        w0, h0 = rgb.size
        if min(w0, h0) < 4 * SCALE:
            raise ImageError(t("cmp_too_small", lang, min=4 * SCALE))
        hr = mod_crop(rgb, SCALE)
        lr = bicubic_downsample(hr, SCALE)
        notes.append(("cmp_gt_note", {"W0": w0, "H0": h0, "w": lr.width, "h": lr.height}))
    else:
        hr, lr = None, rgb
    if lr.width * lr.height > max_input_pixels:
        side = int(max_input_pixels**0.5)
        raise ImageError(
            t("cmp_too_big", lang, w=lr.width, h=lr.height, px=lr.width * lr.height, max=max_input_pixels, side=side)
        )
    return lr, hr, notes, alpha


def run_compare(
    image: Image.Image | np.ndarray,
    mode: str = "upscale",
    *,
    lang: str = "en",
    max_input_pixels: int = 512 * 512,
    gan_model: str = "srgan",
    progress=None,
) -> CompareResult:
    """Upscale with every method (and score against HR in ground-truth mode).

    `gan_model` picks the generator of the third column: the bundled SRGAN or a fine-tuned run.
    """
    import time

    from .common import resolve_generator

    models = {"bicubic": "bicubic", "srresnet": "srresnet", "srgan": resolve_generator(gan_model)}
    lr, hr, notes, alpha = prepare_input(image, mode, max_input_pixels=max_input_pixels, lang=lang)
    label = generator_label(gan_model, lang) if gan_model != "srgan" else None
    start = time.perf_counter()
    images: dict[str, Image.Image] = {}
    for k, method in enumerate(METHODS):

        def report(fraction: float, desc: str, k: int = k, method: str = method) -> None:
            if progress is not None:
                name = method_label(method, lang, gan_label=label)
                progress((k + fraction) / len(METHODS), desc=f"{name}: {desc}")

        images[method] = upscaler_for(models[method])(lr, progress=report)
    metrics = {}
    if hr is not None:
        images["hr"] = hr
        metrics = {m: evaluate_pair(images[m], hr, scale=SCALE) for m in METHODS}
        metrics["hr"] = evaluate_pair(hr, hr, scale=SCALE)
    return CompareResult(images, lr, metrics, time.perf_counter() - start, notes, alpha, gan_model=gan_model)


def status_text(result: CompareResult, lang: str = "en") -> str:
    out = result.images["bicubic"]
    tiles = tiles_needed(result.lr_image.width, result.lr_image.height, upscaler_for("srresnet").tile_size)
    return t(
        "cmp_done",
        lang,
        w=result.lr_image.width,
        h=result.lr_image.height,
        W=out.width,
        H=out.height,
        seconds=result.seconds,
        tiles=tiles,
    ) + result.note(lang)


def metrics_table(result: CompareResult, lang: str = "en") -> list[list]:
    """Rows [method, PSNR-Y, SSIM-Y, gradient ratio, detail in flat areas, detail in busy areas].

    The last two (`srgan.metrics.detail_by_region`) teach "detail where it belongs, noise where it does not": a
    GAN that invents speckle on skin or sky scores above 1 in flat areas while still below 1 where HR has texture.
    HR's own PSNR is infinite: shown as "∞".
    """
    if not result.metrics:
        return [[t("cmp_no_hr", lang)] + [""] * (len(metrics_headers(lang)) - 1)]
    rows = []
    for m, v in result.metrics.items():
        psnr = "∞" if not np.isfinite(v["psnr_y"]) else f"{v['psnr_y']:.2f}"
        figures = [psnr, f"{v['ssim_y']:.4f}", f"{v['gradient_ratio']:.3f}"]
        rows.append([result.label(m, lang), *figures, f"{v['detail_flat']:.2f}", f"{v['detail_busy']:.2f}"])
    return rows


def metrics_headers(lang: str = "en") -> list[str]:
    keys = ("cmp_method", "cmp_psnr", "cmp_ssim", "cmp_grad", "cmp_flat", "cmp_busy")
    return [t(k, lang) for k in keys]


def zoom_region(width: int, height: int, cx: float, cy: float, size: float) -> tuple[int, int, int]:
    """(x0, y0, side) of the square the zoom shows: `size` of the shorter side, centred at (cx, cy), inside.

    ZOOM_BOX_JS draws the same square on the result panels (keep the two in step).
    """
    side = max(8, int(min(width, height) * min(max(size, 0.02), 1.0)))
    x0 = int(np.clip(cx * width - side / 2, 0, width - side))
    y0 = int(np.clip(cy * height - side / 2, 0, height - side))
    return x0, y0, side


def zoom_panel(
    result: CompareResult, cx: float = 0.5, cy: float = 0.5, size: float = 0.2, *, lang: str = "en", tile: int = 320
) -> Image.Image:
    """The same region of every result, enlarged with nearest neighbour (pixels stay visible), labelled."""
    names = list(result.images)
    x0, y0, side = zoom_region(*result.images["bicubic"].size, cx, cy, size)
    panel = Image.new("RGB", (tile * len(names) + 8 * (len(names) - 1), tile + 34), "white")
    draw = ImageDraw.Draw(panel)
    for k, name in enumerate(names):  # labels under the crops, clear of the widget's own label
        crop = result.images[name].convert("RGB").crop((x0, y0, x0 + side, y0 + side))
        panel.paste(crop.resize((tile, tile), Image.Resampling.NEAREST), (k * (tile + 8), 0))
        draw.text((k * (tile + 8) + 4, tile + 6), result.label(name, lang), fill="black", font_size=22)
    return panel


# The zoom's square drawn over every result panel, in the browser (no image is sent again): arguments are
# the three zoom sliders; the same arithmetic as `zoom_region`. Runs at every slider move and after each result.
ZOOM_BOX_JS = """(cx, cy, size) => {
  const place = (img) => {
    const frame = img.parentElement;
    let box = frame.querySelector(':scope > .srgan-zoom-box');
    if (!img.naturalWidth) { if (box) box.remove(); return; }
    if (!box) { box = document.createElement('div'); box.className = 'srgan-zoom-box'; frame.appendChild(box); }
    const W = img.naturalWidth, H = img.naturalHeight, r = img.getBoundingClientRect();
    const f = frame.getBoundingClientRect(), s = Math.min(r.width / W, r.height / H);
    const ox = r.left - f.left + (r.width - W * s) / 2, oy = r.top - f.top + (r.height - H * s) / 2;
    const side = Math.max(8, Math.floor(Math.min(W, H) * Math.min(Math.max(size, 0.02), 1)));
    const x0 = Math.floor(Math.min(Math.max(cx * W - side / 2, 0), W - side));
    const y0 = Math.floor(Math.min(Math.max(cy * H - side / 2, 0), H - side));
    Object.assign(box.style, {left: `${ox + x0 * s}px`, top: `${oy + y0 * s}px`,
                              width: `${side * s}px`, height: `${side * s}px`});
  };
  document.querySelectorAll('.srgan-result img').forEach((img) => {
    if (img.complete) place(img); else img.addEventListener('load', () => place(img), {once: true});
  });
  return [];
}"""


def difference_maps(result: CompareResult, *, lang: str = "en") -> Image.Image:
    """|method − HR| per method (ground truth), else |network − bicubic|: where the pixels differ."""
    has_hr = "hr" in result.images
    reference = result.images["hr" if has_hr else "bicubic"]
    methods = list(METHODS) if has_hr else ["srresnet", "srgan"]
    ref_y = rgb_to_y(reference)
    fig = new_figure(4.2 * len(methods), 4.6)
    axes = fig.subplots(1, len(methods), squeeze=False)[0]
    maps = [np.abs(rgb_to_y(result.images[m]) - ref_y) for m in methods]
    top = max(float(np.percentile(np.concatenate([d.ravel() for d in maps]), 99.5)), 1.0)
    for ax, m, d in zip(axes, methods, maps):
        im = ax.imshow(d, cmap="magma", vmin=0, vmax=top)
        ax.set_title(f"{result.label(m, lang)}\n{t('cmp_mean', lang, value=d.mean())}", fontsize=14)
        ax.axis("off")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="|ΔY|")
    fig.suptitle(t("cmp_diff_title_hr" if has_hr else "cmp_diff_title_bic", lang), fontsize=16)
    return fig_to_pil(fig)


def spectrum_figure(result: CompareResult, *, lang: str = "en") -> Image.Image:
    """Radially averaged power spectra of every image's Y: where MSE loses the high frequencies."""
    fig = new_figure(8, 4.8)
    ax = fig.subplots()
    styles = {
        "bicubic": ("tab:gray", "--"),
        "srresnet": ("tab:blue", "-"),
        "srgan": ("tab:orange", "-"),
        "hr": ("black", ":"),
    }
    for name, image in result.images.items():
        freqs, power = radial_power_spectrum(rgb_to_y(image))
        color, style = styles[name]
        ax.semilogy(freqs, power, style, color=color, label=result.label(name, lang), linewidth=2.2)
    ax.set_xlabel(t("cmp_spec_x", lang), fontsize=13)
    ax.set_ylabel(t("cmp_spec_y", lang), fontsize=13)
    fig.suptitle(t("cmp_spec_title", lang), fontsize=15)
    fig.supxlabel(t("cmp_spec_note", lang), fontsize=12, style="italic")  # under the plot: clear of the legend
    ax.legend(fontsize=12, loc="lower left")  # the spectra fall to the right: the lower left stays empty
    ax.grid(alpha=0.3)
    return fig_to_pil(fig)


def shown_image(result: CompareResult, name: str) -> Image.Image | str:
    """What a result panel shows: the image's PNG file when `save_downloads` wrote it, else the image.

    A file goes to the browser as it is; an image Gradio would encode as PNG again (0.5 s at 1024x1024).
    The file may be gone (temporary folders are pruned after a while): then the image is sent.
    """
    path = result.files.get(name)
    return path if path is not None and Path(path).is_file() else result.images[name]


def shown_view(result: CompareResult, name: str) -> Image.Image | str:
    """What the page's result panels show once the `/upscale` answer is in: the enlarged view (`VIEW_SIDE`).

    The API's `/upscale` keeps answering the results themselves (`shown_image`); the page swaps its panels
    to these in a private event chained after it.
    """
    path = result.views.get(name)
    return path if path is not None and Path(path).is_file() else shown_image(result, name)


# A result smaller than this (its longer side, in pixels) is shown enlarged by a whole factor, nearest
# neighbour, to about this size: its pixels stay sharp at any panel size, and the panel never shows an image
# larger than its own pixels (Gradio maps a click to image coordinates only for images shown at most 1:1).
VIEW_SIDE = 1024


def view_scale(size: tuple[int, int]) -> int:
    """The whole factor a result of `size` is shown enlarged by (1: as it is)."""
    return max(1, VIEW_SIDE // max(size))


def slider_pair(result: CompareResult, a: str = "bicubic", b: str = "srgan") -> tuple[Image.Image | str, ...]:
    """Two results for the before/after slider (missing ones fall back to bicubic / SRGAN)."""
    a = a if a in result.images else "bicubic"
    b = b if b in result.images else "srgan"
    return shown_image(result, a), shown_image(result, b)  # the API's answer: the results themselves


# zlib level 1: about 6x faster than PIL's default (6) on a 1024x1024 result (0.08 s against 0.5 s),
# for files about 15 % larger. The class waits for these; nobody waits for the bytes saved.
PNG_COMPRESS_LEVEL = 1


def save_downloads(result: CompareResult) -> dict[str, str]:
    """Write each image as PNG into a fresh temporary folder; return {name: path}, also kept in `result.files`.

    These files are both the downloads and what the result panels show (`shown_image`), so each image is
    encoded once. With an alpha channel in the upload, the results carry it (upscaled with bicubic).
    The folders are removed on the app's clean-up schedule (`ui.launch.prune_temp_folders`); each file is
    written atomically, so a full disk gives an error, never a half PNG to download.
    """
    from srgan.checkpoints import atomic_write

    folder = Path(tempfile.mkdtemp(prefix="srgan-compare-"))
    result.view_scale = view_scale(result.images["bicubic"].size)
    for name, image in result.images.items():
        path = folder / f"{download_stem(result, name)}_x{SCALE}.png" if name != "hr" else folder / "hr.png"
        if result.alpha is not None and name in METHODS:
            image = image.convert("RGBA")
            image.putalpha(bicubic_upscale(result.alpha, SCALE))
        atomic_write(path, lambda tmp, image=image: image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL))
        result.files[name] = str(path)
        result.views[name] = _write_view(image, path, result.view_scale)
    return dict(result.files)


def download_stem(result: CompareResult, name: str) -> str:
    """A result's file name: the method's, and for the SRGAN column its own generator's ("run-7_x4.png")."""
    if name != "srgan" or result.gan_model == "srgan":
        return name
    return result.gan_model if result.gan_model != "srresnet" else "srresnet_third_column"


def _write_view(image: Image.Image, path: Path, scale: int) -> str:
    """The PNG a result panel shows: `path` itself, or beside it the image enlarged `scale` x (nearest)."""
    if scale == 1:
        return str(path)
    view = path.with_name(path.stem + "_view.png")
    big = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    atomic_write_png(view, big)
    return str(view)


def atomic_write_png(path: Path, image: Image.Image) -> None:
    from srgan.checkpoints import atomic_write

    atomic_write(path, lambda tmp: image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL))


class UpscaleOutputs(NamedTuple):
    """What the `/upscale` event shows, one field per output widget (in the API's order)."""

    bicubic: Image.Image | str  # the result panels get the PNG written for download (a path), else the image
    srresnet: Image.Image | str
    srgan: Image.Image | str
    hr: Image.Image | str | None  # ground-truth mode only
    metrics: list[list]  # rows of `metrics_table`
    zoom: Image.Image
    slider: tuple[Image.Image | str, ...]  # the before/after pair
    differences: Image.Image
    spectrum: Image.Image
    downloads: list[str]  # the PNG files
    status: str
    result: CompareResult  # kept in a gr.State for the zoom, the slider and the language switch


def upscale(
    image,
    mode: str = "upscale",
    zoom_x: float = 0.5,
    zoom_y: float = 0.5,
    zoom_size: float = 0.2,
    slider_a: str = "bicubic",
    slider_b: str = "srgan",
    lang: str = "en",
    gan_model: str = "srgan",
    *,
    max_input_pixels: int = 512 * 512,
    progress=None,
) -> UpscaleOutputs:
    """The `/upscale` event: every output of the tab from one upload (plain function, no Gradio).

    The result panels and the slider get the PNG files written for download (paths), the figures images
    (their text larger when the event comes from a page in presenter mode: `common.presenter_scaled`).
    """
    result = run_compare(
        image, mode, lang=lang, max_input_pixels=max_input_pixels, gan_model=gan_model, progress=progress
    )
    downloads = list(save_downloads(result).values())
    return UpscaleOutputs(
        bicubic=shown_image(result, "bicubic"),
        srresnet=shown_image(result, "srresnet"),
        srgan=shown_image(result, "srgan"),
        hr=shown_image(result, "hr") if "hr" in result.images else None,
        metrics=metrics_table(result, lang),
        zoom=zoom_panel(result, zoom_x, zoom_y, zoom_size, lang=lang),
        slider=slider_pair(result, slider_a, slider_b),
        differences=difference_maps(result, lang=lang),
        spectrum=spectrum_figure(result, lang=lang),
        downloads=downloads,
        status=status_text(result, lang),
        result=result,
    )


def result_labels(result: CompareResult | None, lang: str = "en") -> dict[str, str]:
    """The title of each result panel (the SRGAN column named after its generator once a result is shown)."""
    if result is None:
        return {name: method_label(name, lang) for name in (*METHODS, "hr")}
    return {name: result.label(name, lang) for name in (*METHODS, "hr")}


def pair_choices(result: CompareResult | None, lang: str = "en") -> list[tuple[str, str]]:
    """(label, value) of the before/after slider's two dropdowns."""
    return [(label, name) for name, label in result_labels(result, lang).items()]


def mode_choices(lang: str = "en") -> list[tuple[str, str]]:
    return [(t("cmp_mode_upscale", lang), "upscale"), (t("cmp_mode_gt", lang), "ground_truth")]


def build(ctx: TabContext) -> None:
    """Widgets and wiring of the Compare tab."""
    import gradio as gr

    ctx = ctx.with_strings(STRINGS)
    with gr.Row(elem_classes="srgan-compare-row"):  # presenter mode (app.py CSS) stacks the two columns
        with gr.Column(scale=1, min_width=320):
            inputs = _inputs(ctx)
        with gr.Column(scale=3, elem_classes="srgan-compare-results"):
            outputs = _results(ctx)
    _wire_events(ctx, inputs, outputs)


def _inputs(ctx: TabContext) -> dict[str, Any]:
    """The left column: upload, mode, generator, run button, examples, status and the lesson."""
    import gradio as gr

    from .components import example_photos, generator_dropdown, upload_image
    from .lessons import lesson_panel

    w: dict[str, Any] = {}
    w["image"] = ctx.widget(
        upload_image,
        "cmp_input",
        prop="label",
        height=300,
        image_mode=None,
        sources=["upload", "clipboard"],
        elem_classes="srgan-upload",
    )
    w["mode"] = ctx.widget(gr.Radio, "cmp_mode", mode_choices(ctx.default_lang), value="upscale")
    ctx.relabel(w["mode"], mode_choices, "choices")
    w["gan_model"] = generator_dropdown(ctx)
    w["run"] = ctx.widget(gr.Button, "cmp_run", variant="primary")
    example_photos(ctx, example_paths(), w["image"])
    w["status"] = ctx.widget(gr.Textbox, "cmp_status", interactive=False, lines=2)
    lesson_panel(ctx, "01_srgan_fig3")
    return w


def _results(ctx: TabContext) -> dict[str, Any]:
    """The right column: the result panels, scores, zoom, slider, figures and downloads (named as UpscaleOutputs)."""
    import gradio as gr

    lang0 = ctx.default_lang
    choices = pair_choices(None, lang0)
    w: dict[str, Any] = {}
    with gr.Row(elem_classes="srgan-result-row"):
        shown = {"interactive": False, "height": 300, "elem_classes": "srgan-result"}  # taller in presenter mode
        labels = result_labels(None, lang0)
        for name in METHODS:
            w[name] = gr.Image(type="pil", format="png", label=labels[name], elem_id=f"cmp-{name}", **shown)
        w["hr"] = gr.Image(type="pil", format="png", label=labels["hr"], visible=False, elem_id="cmp-hr", **shown)
    w["metrics"] = ctx.widget(
        gr.Dataframe,
        "cmp_metrics",
        empty_table(metrics_headers(lang0)),
        headers=metrics_headers(lang0),
        interactive=False,
        wrap=True,
        column_widths=["20%", "14%", "14%", "18%", "17%", "17%"],
        elem_classes="srgan-table",
    )  # headers wrap by words
    with gr.Row():
        w["zoom_x"] = ctx.widget(gr.Slider, "cmp_zoom_x", 0, 1, 0.5, step=0.01)
        w["zoom_y"] = ctx.widget(gr.Slider, "cmp_zoom_y", 0, 1, 0.5, step=0.01)
        w["zoom_size"] = ctx.widget(gr.Slider, "cmp_zoom_size", 0.05, 1, 0.2, step=0.01)
    w["zoom"] = ctx.widget(
        gr.Image, "cmp_zoom", type="pil", format="png", interactive=False, elem_classes="srgan-pixels"
    )
    with gr.Row():
        w["slider_a"] = ctx.widget(gr.Dropdown, "cmp_slider_a", choices, value="bicubic")
        w["slider_b"] = ctx.widget(gr.Dropdown, "cmp_slider_b", choices, value="srgan")
    w["slider"] = ctx.widget(gr.ImageSlider, "cmp_slider", type="pil", format="png", elem_classes="srgan-pixels")
    with gr.Row():  # the figures carry their own titles; their buttons sit above them (CSS .srgan-figure)
        figure = {"type": "pil", "format": "png", "interactive": False, "show_label": False}
        w["differences"] = ctx.widget(gr.Image, "cmp_diff", elem_classes="srgan-figure", **figure)
        w["spectrum"] = ctx.widget(gr.Image, "cmp_spectrum", elem_classes="srgan-figure", **figure)
    w["downloads"] = ctx.widget(gr.File, "cmp_downloads", file_count="multiple", interactive=False)
    w["result"] = gr.State(None)
    return w


def _wire_events(ctx: TabContext, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
    """`/upscale`, and the private events: HR panel visibility, zoom, click-to-zoom, slider pair, language."""
    import gradio as gr

    from .common import output_list, user_errors

    w = {**inputs, **outputs}
    zoom_inputs = [w["zoom_x"], w["zoom_y"], w["zoom_size"]]
    max_input_pixels = ctx.settings.max_input_pixels

    def on_upscale(image, mode, zx, zy, zs, a, b, lang, gan, progress=gr.Progress()):  # noqa: B008 (how Gradio injects a progress bar)
        return upscale(image, mode, zx, zy, zs, a, b, lang, gan, max_input_pixels=max_input_pixels, progress=progress)

    event_inputs = [w["image"], w["mode"], *zoom_inputs, w["slider_a"], w["slider_b"], ctx.lang, w["gan_model"]]
    done = w["run"].click(
        *ctx.scaled(user_errors(on_upscale), event_inputs),
        output_list(UpscaleOutputs, w),
        api_name="upscale",
        concurrency_limit=2,
    )
    labels, relabelled = _wire_labels(ctx, w)
    panels = [w[name] for name in (*METHODS, "hr")]

    def on_views(result):  # the enlarged views: sharp pixels, and clicks Gradio can map (see VIEW_SIDE)
        if result is None:
            return tuple(gr.skip() for _ in panels)
        return tuple(shown_view(result, n) if n in result.images else gr.skip() for n in (*METHODS, "hr"))

    views = done.then(on_views, w["result"], panels, api_visibility="private", queue=False)
    views.then(**labels).then(None, zoom_inputs, None, js=ZOOM_BOX_JS, queue=False)

    # The HR panel only shows in ground-truth mode (no empty panel otherwise).
    w["mode"].change(
        lambda m: gr.update(visible=m == "ground_truth"), w["mode"], w["hr"], api_visibility="private", queue=False
    )
    _wire_zoom(ctx, w, zoom_inputs, after=relabelled)

    def on_pair(result, a, b):
        return None if result is None else slider_pair(result, a, b)

    for dd in (w["slider_a"], w["slider_b"]):
        dd.change(on_pair, [w["result"], w["slider_a"], w["slider_b"]], w["slider"], api_visibility="private")


def _wire_labels(ctx: TabContext, w: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Panel titles and slider choices in the page's language (after a result: its generator's name).

    Returns the keyword arguments of the labels event, for the upscale event to chain after its results, and
    its dependency on the language switch, for the redraw to chain after.
    """
    import gradio as gr

    panels = [w[name] for name in (*METHODS, "hr")]

    def on_labels(result, lang, a, b, gan):
        from .common import generator_choices

        titles = result_labels(result, lang)
        pairs = pair_choices(result, lang)
        return (
            *(gr.update(label=titles[name]) for name in (*METHODS, "hr")),
            gr.update(choices=pairs, value=a),  # with their values: new choices alone leave a stale label shown
            gr.update(choices=pairs, value=b),
            gr.update(choices=generator_choices(lang), value=gan),
        )

    event = {
        "fn": on_labels,
        "inputs": [w["result"], ctx.lang, w["slider_a"], w["slider_b"], w["gan_model"]],
        "outputs": [*panels, w["slider_a"], w["slider_b"], w["gan_model"]],
        "api_visibility": "private",
        "queue": False,
    }
    return event, ctx.shown_language().change(**event)  # the event, and its language-switch dependency


def _wire_zoom(ctx: TabContext, w: dict[str, Any], zoom_inputs: list[Any], *, after: Any) -> None:
    """The zoom sliders, a click on a result (it moves the zoom's centre there), and the language switch.

    The language switch redraws after `after` (the titles' event on the same trigger): two events on one
    trigger re-fire each other as each ends (`tests/ui/test_tabs.py`).
    """
    import gradio as gr

    state, zoom = w["result"], w["zoom"]

    def on_zoom(result, zx, zy, zs, lang):
        return None if result is None else zoom_panel(result, zx, zy, zs, lang=lang)

    for s in zoom_inputs:
        s.release(on_zoom, [state, *zoom_inputs, ctx.lang], zoom, api_visibility="private")
        s.change(None, zoom_inputs, None, js=ZOOM_BOX_JS, queue=False)  # the square follows the slider, live

    def on_select(result, zs, lang, evt):
        if result is None or evt is None or evt.index is None:
            return gr.update(), gr.update(), gr.update()
        width, height = result.images["bicubic"].size  # the panels show it `view_scale` times larger
        zx, zy = evt.index[0] / (width * result.view_scale), evt.index[1] / (height * result.view_scale)
        return round(zx, 3), round(zy, 3), zoom_panel(result, zx, zy, zs, lang=lang)

    # The class itself, not the string `from __future__ import annotations` would leave here: Gradio finds
    # the SelectData parameter by its annotation, and cannot resolve "gr.SelectData" (gr is a local name).
    on_select.__annotations__["evt"] = gr.SelectData
    for name in (*METHODS, "hr"):
        w[name].select(
            on_select, [state, w["zoom_size"], ctx.lang], [w["zoom_x"], w["zoom_y"], zoom], api_visibility="private"
        ).then(None, [w["zoom_x"], w["zoom_y"], w["zoom_size"]], None, js=ZOOM_BOX_JS, queue=False)

    def on_lang(result, zx, zy, zs, lang):
        headers = gr.update(value=empty_table(metrics_headers(lang)), headers=metrics_headers(lang))
        if result is None:
            return headers, gr.update(), gr.update(), gr.update(), gr.update()
        return (
            gr.update(value=metrics_table(result, lang), headers=metrics_headers(lang)),
            difference_maps(result, lang=lang),
            spectrum_figure(result, lang=lang),
            status_text(result, lang),
            zoom_panel(result, zx, zy, zs, lang=lang),  # where the sliders say, not back at the centre
        )

    after.then(
        *ctx.scaled(on_lang, [state, *zoom_inputs, ctx.lang]),
        [w["metrics"], w["differences"], w["spectrum"], w["status"], zoom],
        api_visibility="private",
    )
