"""Fine-tune tab: train a bundled model (or an earlier run) a little further, and watch it learn (event `/finetune`).

Lessons: [perceptual loss](../lessons/en/06_perceptual_loss.md),
[adversarial loss](../lessons/en/05_adversarial_loss.md).
Code: `srgan.classroom.runs.RunManager` (one run at a time, in a background thread) around `srgan.training.train`,
the same loop as `python -m srgan train`.

The handlers are plain functions: `finetune` and `watch` are generators that poll the run every
second and yield the tab's outputs (`RunView`: progress, curves, preview before, preview now, status,
download); they end when the run ends. The run itself lives on in the server: closing or
refreshing the page only stops the watching, and opening the tab again reattaches to it.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from srgan.checkpoints import atomic_write
from srgan.classroom.runs import (
    BUNDLED_BASES,
    MAX_STEPS,
    OBJECTIVES,
    PREVIEW_IMAGE,
    RunBusyError,
    RunStatus,
    get_manager,
    uploaded_data,
)

from .common import fig_to_pil, figure_scale, new_figure
from .context import TabContext
from .i18n import Strings, normalise_lang

KEY = "tab_finetune"
STRINGS = Strings({
    "tab_finetune": ("Fine-tune", "Ajuste fino"),
    "ft_base": ("Base model", "Modelo de partida"),
    "ft_base_srresnet": ("SRResNet (bundled, MSE)", "SRResNet (incluido, MSE)"),
    "ft_base_srgan": ("SRGAN (bundled)", "SRGAN (incluido)"),
    "ft_base_run": ("{name} ({objective}, {steps} steps, {state})", "{name} ({objective}, {steps} pasos, {state})"),
    "ft_data": ("Training images", "Imágenes de entrenamiento"),
    "ft_data_builtin": ("Built-in photos (11, held-out ones excluded)", "Fotos incluidas (11, sin las reservadas)"),
    "ft_data_upload": ("My images", "Mis imágenes"),
    "ft_uploads": ("Images, or a zip of images (each at least the patch size)",
                   "Imágenes, o un zip de imágenes (cada una al menos del tamaño del parche)"),
    "ft_objective": ("Objective", "Objetivo"),
    "ft_obj_mse": ("MSE (Eq. 4): PSNR goes up, textures blur", "MSE (ec. 4): sube el PSNR, se difuminan las texturas"),
    "ft_obj_vgg54": ("VGG54 content (Eq. 5)", "Contenido VGG54 (ec. 5)"),
    "ft_obj_srgan": ("SRGAN: content + 10⁻³ adversarial (Eq. 3)", "SRGAN: contenido + 10⁻³ adversaria (ec. 3)"),
    "ft_settings": ("Training settings", "Ajustes del entrenamiento"),
    "ft_steps": ("Steps (1 to {max})", "Pasos (de 1 a {max})"),
    "ft_learning_rate": ("Learning rate (the paper: 1e-4)", "Tasa de aprendizaje (el artículo: 1e-4)"),
    "ft_batch_size": ("Batch size (the paper: 16)", "Tamaño del lote (el artículo: 16)"),
    "ft_patch": ("HR patch size (the paper: 96)", "Tamaño del parche HR (el artículo: 96)"),
    "ft_seed": ("Seed", "Semilla"),
    "ft_name": ("Run name (optional: letters, digits, - and _)", "Nombre (opcional: letras, dígitos, - y _)"),
    "ft_start": ("Start fine-tuning", "Empezar el ajuste"),
    "ft_stop": ("Stop (keeps the last checkpoint)", "Parar (conserva el último punto de control)"),
    "ft_progress": ("Progress", "Progreso"),
    "ft_curves": ("Losses, D(HR), D(SR) and held-out PSNR", "Pérdidas, D(HR), D(SR) y PSNR reservado"),
    "ft_before": ("Held-out preview: base model", "Vista previa reservada: modelo de partida"),
    "ft_now": ("Held-out preview: now", "Vista previa reservada: ahora"),
    "ft_status": ("Status", "Estado"),
    "ft_download": ("Fine-tuned generator (safetensors)", "Generador ajustado (safetensors)"),
    "ft_runs": ("Saved runs on this server (newest first)",
                "Ejecuciones guardadas en este servidor (recientes primero)"),
    "ft_col_name": ("Run", "Ejecución"),
    "ft_col_base": ("Base", "Partida"),
    "ft_col_objective": ("Objective", "Objetivo"),
    "ft_col_steps": ("Steps", "Pasos"),
    "ft_col_psnr": ("Preview PSNR-Y (dB)", "PSNR-Y vista previa (dB)"),
    "ft_col_state": ("State", "Estado"),
    "ft_intro": (
        ("Continue training one of the models on your own images (or the built-in ones) and watch every term of the "
        "loss move. One run at a time per server: if someone else's run is in progress you can watch it. The run "
        "goes on if you close the page; come back to this tab to see it again."),
        ("Sigue entrenando uno de los modelos con tus imágenes (o con las incluidas) y observa cómo se mueve cada "
        "término de la pérdida. Una ejecución a la vez por servidor: si hay otra en curso, puedes observarla. "
        "La ejecución continúa aunque cierres la página; vuelve a esta pestaña para verla de nuevo."),
    ),
    "ft_idle": ("No run yet on this server. Pick the settings (the defaults work) and press **Start**.",
                ("Aún no hay ninguna ejecución en este servidor. Elige los ajustes (los predeterminados sirven) y "
                "pulsa **Empezar**.")),
    "ft_state_running": ("running", "en curso"),
    "ft_state_stopping": ("stopping", "parando"),
    "ft_state_done": ("done", "terminada"),
    "ft_state_stopped": ("stopped", "parada"),
    "ft_state_failed": ("failed", "fallida"),
    "ft_state_interrupted": ("interrupted", "interrumpida"),
    "ft_state_idle": ("idle", "inactiva"),
    "ft_line_step": ("step **{step}** of {total} ({pct:.0f} %)", "paso **{step}** de {total} ({pct:.0f} %)"),
    "ft_line_speed": ("{rate:.2f} steps/s · {eta} left · {elapsed} elapsed · on {device}",
                      "{rate:.2f} pasos/s · quedan {eta} · {elapsed} transcurridos · en {device}"),
    "ft_line_setup": ("setting up (loading the data and the models) · on {device}",
                      "preparando (cargando los datos y los modelos) · en {device}"),
    "ft_line_psnr": (("PSNR-Y on the held-out preview ({image}): base **{base:.2f} dB** → step {step}: **{now:.2f} dB** "
                     "({delta:+.2f} dB)"),
                     ("PSNR-Y en la vista previa reservada ({image}): partida **{base:.2f} dB** → paso {step}: "
                     "**{now:.2f} dB** ({delta:+.2f} dB)")),
    "ft_line_recipe": (("base {base} · data {data} · {objective} · learning rate {learning_rate:g} · batch "
                       "{batch_size} · patch {hr_patch} · seed {seed}"),
                       ("partida {base} · datos {data} · {objective} · tasa de aprendizaje {learning_rate:g} · lote "
                       "{batch_size} · parche {hr_patch} · semilla {seed}")),
    "ft_msg_running": ("Training on {device}; a checkpoint is saved every {every} steps.",
                       "Entrenando en {device}; se guarda un punto de control cada {every} pasos."),
    "ft_msg_stopping": ("Stopping: the current step ends, then its checkpoint is saved.",
                        "Parando: termina el paso en curso y se guarda su punto de control."),
    "ft_msg_done": ("Done: {name} is saved; pick it as a base model, or download it below.",
                    "Terminada: {name} está guardada; elígela como modelo de partida o descárgala abajo."),
    "ft_msg_stopped": ("Stopped at step {step} of {total}; the checkpoint of step {step} is kept.",
                       "Parada en el paso {step} de {total}; se conserva el punto de control del paso {step}."),
    "ft_msg_failed": ("Failed: {error}", "Fallida: {error}"),
    "ft_msg_failed_kept": ("The last good checkpoint (step {step}) is kept.",
                           "Se conserva el último punto de control bueno (paso {step})."),
    "ft_busy": (("Another fine-tuning run is in progress on this server: {name} (step {step} of {total}). One run at "
                "a time: you are watching it; start yours when it ends."),
                ("Hay otra ejecución de ajuste en curso en este servidor: {name} (paso {step} de {total}). Una a la "
                "vez: la estás observando; empieza la tuya cuando termine.")),
    "ft_stop_asked": ("Stopping {name}: the current step ends, then its checkpoint is saved.",
                      "Parando {name}: termina el paso en curso y se guarda su punto de control."),
    "ft_nothing_to_stop": ("No run is in progress.", "No hay ninguna ejecución en curso."),
    "ft_bad_base": ("unknown base model {base!r}: choose a bundled model or a saved run",
                    "modelo de partida desconocido {base!r}: elige un modelo incluido o una ejecución guardada"),
    "ft_bad_data": ("unknown data source {data!r}", "origen de datos desconocido {data!r}"),
    "ft_plot_content": ("Content loss ({objective})", "Pérdida de contenido ({objective})"),
    "ft_plot_gan": ("Adversarial and discriminator losses", "Pérdidas adversaria y del discriminador"),
    "ft_plot_d": ("D(HR) and D(SR): what D believes is real", "D(HR) y D(SR): lo que D cree real"),
    "ft_plot_psnr": ("PSNR-Y on the held-out preview", "PSNR-Y en la vista previa reservada"),
    "ft_plot_no_d": ("no discriminator in this objective", "este objetivo no tiene discriminador"),
    "ft_plot_step": ("step", "paso"),
    "ft_plot_base": ("base model", "modelo de partida"),
    "ft_plot_avg": ("{name} (moving average)", "{name} (media móvil)"),
    "ft_disabled": (("Fine-tuning is turned off on this server (started with --no-train, or a Space without "
                     "SRGAN_FINETUNE=1 in its settings): training needs "
                    "minutes of the whole machine, so public servers only upscale. Run the app on your own "
                    "computer (python app.py) to fine-tune."),
                    ("El ajuste fino está desactivado en este servidor (se inició con --no-train, o es un Space sin "
                     "SRGAN_FINETUNE=1 en su configuración): entrenar ocupa "
                    "la máquina entera durante minutos, así que los servidores públicos solo amplían. Ejecuta la "
                    "aplicación en tu ordenador (python app.py) para hacer ajustes finos.")),
})  # fmt: skip
t = STRINGS.t

POLL_SECONDS = 1.0  # how often a watcher looks at the run (and at most how often it sends an update)
OBJECTIVE_KEYS = {"mse": "ft_obj_mse", "vgg54": "ft_obj_vgg54", "srgan": "ft_obj_srgan"}
PREVIEW_ENLARGE = 2  # 128x128 preview shown at 256x256, nearest neighbour: the pixels stay visible


def base_choices(lang: str = "en") -> list[tuple[str, str]]:
    """(label, value) for the base-model dropdown: the bundled models, then the saved runs, newest first."""
    choices = [(t(f"ft_base_{b}", lang), b) for b in BUNDLED_BASES]
    for run in get_manager().list_runs():
        m = run.metadata
        choices.append(
            (
                t(
                    "ft_base_run",
                    lang,
                    name=run.name,
                    objective=m.get("objective", "?"),
                    steps=m.get("steps_done", "?"),
                    state=_state_label(m.get("state", "done"), lang),
                ),
                run.name,
            )
        )
    return choices


def objective_choices(lang: str = "en") -> list[tuple[str, str]]:
    return [(t(OBJECTIVE_KEYS[k], lang), k) for k in OBJECTIVES]


def data_choices(lang: str = "en") -> list[tuple[str, str]]:
    return [(t("ft_data_builtin", lang), "builtin"), (t("ft_data_upload", lang), "upload")]


def runs_headers(lang: str = "en") -> list[str]:
    return [
        t(k, lang)
        for k in ("ft_col_name", "ft_col_base", "ft_col_objective", "ft_col_steps", "ft_col_psnr", "ft_col_state")
    ]


def runs_table(lang: str = "en") -> list[list]:
    """One row per saved run: name, base, objective, steps done, preview PSNR-Y, state."""
    rows = []
    for run in get_manager().list_runs():
        m = run.metadata
        psnr = m.get("eval_psnr_y")
        rows.append(
            [
                run.name,
                m.get("base", ""),
                m.get("objective", ""),
                m.get("steps_done", ""),
                f"{psnr:.2f}" if isinstance(psnr, float) else "",
                _state_label(m.get("state", ""), lang),
            ]
        )
    return rows or [["", "", "", "", "", ""]]


def _state_label(state: str, lang: str) -> str:
    return (
        t(f"ft_state_{state}", lang)
        if state in ("running", "stopping", "done", "stopped", "failed", "interrupted", "idle")
        else state
    )


def _duration(seconds: float | None) -> str:
    """3725 -> "1 h 02 min", 75 -> "1 min 15 s", None -> "?"."""
    if seconds is None or not np.isfinite(seconds):
        return "?"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def progress_markdown(s: RunStatus, lang: str = "en") -> str:
    """The run at a glance: state, a progress bar, measured steps/s and time left, PSNR before/now, the recipe."""
    if s.name is None:
        return t("ft_idle", lang)
    fraction = s.step / s.total if s.total else 0.0
    bar = "█" * round(20 * fraction) + "░" * (20 - round(20 * fraction))
    lines = [
        f"**{s.name}** · {_state_label(s.state, lang)}",
        f"`{bar}` " + t("ft_line_step", lang, step=s.step, total=s.total, pct=100 * fraction),
    ]
    if s.steps_per_second:
        eta = s.eta_seconds if s.active else 0.0
        lines.append(
            t(
                "ft_line_speed",
                lang,
                rate=s.steps_per_second,
                eta=_duration(eta),
                elapsed=_duration(s.elapsed_seconds),
                device=s.device,
            )
        )
    elif s.active:
        lines.append(t("ft_line_setup", lang, device=s.device))
    if s.base_psnr_y is not None and s.eval_psnr_y is not None:
        lines.append(
            t(
                "ft_line_psnr",
                lang,
                image=PREVIEW_IMAGE,
                base=s.base_psnr_y,
                now=s.eval_psnr_y,
                step=s.preview_step,
                delta=s.eval_psnr_y - s.base_psnr_y,
            )
        )
    st = s.settings
    if st:
        recipe = t(
            "ft_line_recipe",
            lang,
            base=st["base"],
            data=st["data"],
            objective=t(OBJECTIVE_KEYS[st["objective"]], lang),
            learning_rate=st["learning_rate"],
            batch_size=st["batch_size"],
            hr_patch=st["hr_patch"],
            seed=st["seed"],
        )
        lines.append(f"<small>{recipe}</small>")
    return "\n\n".join(lines)


def status_text(s: RunStatus, lang: str = "en", note: str = "") -> str:
    """What is happening, in a sentence, then the run's notes (skipped files, discriminator, VGG19)."""
    if s.name is None:
        return note
    every = s.settings.get("checkpoint_every", "?")
    messages = {
        "running": lambda: t("ft_msg_running", lang, device=s.device, every=every),
        "stopping": lambda: t("ft_msg_stopping", lang),
        "done": lambda: t("ft_msg_done", lang, name=s.name),
        "stopped": lambda: t("ft_msg_stopped", lang, step=s.preview_step, total=s.total),
        "failed": lambda: (
            t("ft_msg_failed", lang, error=s.error)
            + (" " + t("ft_msg_failed_kept", lang, step=s.preview_step) if s.checkpoint else "")
        ),
    }
    lines = [note] if note else []
    lines.append(messages.get(s.state, lambda: "")())
    lines += [f"• {n}" for n in s.notes]
    return "\n".join(line for line in lines if line)


_curve_cache: dict[tuple, Image.Image] = {}
_curve_lock = threading.Lock()


def curves_figure(s: RunStatus, lang: str = "en") -> Image.Image | None:
    """Every logged term against the step, on a 2x2 figure (cached: all watchers share one drawing).

    Panels: content loss (and the total perceptual loss); adversarial and discriminator losses;
    D(HR) and D(SR); PSNR-Y on the held-out preview, with the base model's as a dashed line.
    """
    if not s.log:
        return None
    key = (s.name, len(s.log), s.base_psnr_y, lang, figure_scale())  # presenter mode draws its own copy
    with _curve_lock:
        if key in _curve_cache:
            return _curve_cache[key]
    steps = np.array([e["step"] for e in s.log])

    def series(name: str) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(e["step"], e[name]) for e in s.log if e.get(name) is not None]
        return (np.array([p for p, _ in pairs]), np.array([v for _, v in pairs])) if pairs else (np.array([]),) * 2

    def plot_noisy(ax, name: str, label: str, colour: str) -> None:
        x, y = series(name)
        if not len(x):
            return
        ax.plot(x, y, color=colour, alpha=0.3, linewidth=1)
        window = max(1, min(50, len(y) // 10))  # a moving average shows the trend through the batch noise
        if window > 1:
            smooth = np.convolve(y, np.ones(window) / window, mode="valid")
            ax.plot(x[window - 1 :], smooth, color=colour, linewidth=2.2, label=t("ft_plot_avg", lang, name=label))
        else:
            ax.plot(x, y, color=colour, linewidth=2.2, label=label)

    fig = new_figure(11, 7)
    (ax_c, ax_g), (ax_d, ax_p) = fig.subplots(2, 2)
    objective = s.settings.get("objective", "mse")
    plot_noisy(ax_c, "content", s.settings.get("content_loss", objective).upper(), "tab:blue")
    if objective == "srgan":
        plot_noisy(ax_c, "perceptual", r"$l^{SR}$ (Eq. 3)", "tab:purple")
    ax_c.set_yscale("log")
    ax_c.set_title(t("ft_plot_content", lang, objective=t(OBJECTIVE_KEYS[objective], lang)), fontsize=11)
    has_d = any(e.get("d_hr") is not None for e in s.log)
    if has_d:
        plot_noisy(ax_g, "adversarial", r"$l^{SR}_{Gen} = -\log D(G(I^{LR}))$", "tab:orange")
        plot_noisy(ax_g, "discriminator", r"$l_D$ (Eq. 2)", "tab:red")
        plot_noisy(ax_d, "d_hr", "D(HR)", "tab:green")
        plot_noisy(ax_d, "d_sr", "D(SR)", "tab:orange")
        ax_d.set_ylim(0, 1)
    else:
        for ax in (ax_g, ax_d):
            ax.text(
                0.5,
                0.5,
                t("ft_plot_no_d", lang),
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=12,
                color="#777",
            )
    ax_g.set_title(t("ft_plot_gan", lang), fontsize=11)
    ax_d.set_title(t("ft_plot_d", lang), fontsize=11)
    x, y = series("eval_psnr_y")
    if len(x):
        ax_p.plot(x, y, "o-", color="tab:blue", linewidth=2)
    if s.base_psnr_y is not None:
        ax_p.axhline(s.base_psnr_y, color="#555", linestyle="--", label=t("ft_plot_base", lang))
    ax_p.set_title(t("ft_plot_psnr", lang) + " (dB)", fontsize=11)
    for ax in (ax_c, ax_g, ax_d, ax_p):
        last = max(int(steps.max()), s.total, 1)
        ax.set_xlim(0, last * 1.03)  # room for the last point's marker (at the edge it was cut in half)
        ax.set_xlabel(t("ft_plot_step", lang))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9, loc="best")
    image = fig_to_pil(fig, dpi=80)
    with _curve_lock:
        if len(_curve_cache) > 8:
            _curve_cache.clear()
        _curve_cache[key] = image
    return image


def _enlarge(image: Image.Image | None) -> Image.Image | None:
    if image is None:
        return None
    return image.resize((image.width * PREVIEW_ENLARGE, image.height * PREVIEW_ENLARGE), Image.Resampling.NEAREST)


_downloads: dict[tuple[str, int], str] = {}
_downloads_lock = threading.Lock()


def download_path(s: RunStatus) -> str | None:
    """A copy of a finished run's generator, named after the run (in its folder it is "generator.safetensors")."""
    if s.active or s.checkpoint is None or not s.checkpoint.is_file():
        return None
    key = (str(s.checkpoint), s.checkpoint.stat().st_mtime_ns)
    with _downloads_lock:
        if key not in _downloads or not Path(_downloads[key]).is_file():
            folder = Path(tempfile.mkdtemp(prefix="srgan-finetune-"))  # the temp dir is served by Gradio
            target = folder / f"{s.name}.safetensors"
            atomic_write(target, lambda tmp: shutil.copyfile(s.checkpoint, tmp))  # a full disk: no half file
            _downloads[key] = str(target)
        return _downloads[key]


class RunView(NamedTuple):
    """What the tab shows of a run (every event of `/finetune` and `/finetune_watch`)."""

    progress: str  # Markdown: state, progress bar, speed, PSNR before/now, the recipe
    curves: Image.Image | None  # every logged term against the step (None before the first step)
    before: Image.Image | None  # the held-out preview by the base model, enlarged
    now: Image.Image | None  # the same preview now
    status: str  # what is happening, in a sentence, and the run's notes
    download: str | None  # the finished run's generator, to download


def view(s: RunStatus, lang: str = "en", note: str = "") -> RunView:
    """The tab's outputs for a run snapshot."""
    return RunView(
        progress=progress_markdown(s, lang),
        curves=curves_figure(s, lang),
        before=_enlarge(s.preview_before),
        now=_enlarge(s.preview_now),
        status=status_text(s, lang, note),
        download=download_path(s),
    )


def watch(
    lang: str = "en", *, name: str | None = None, note: str = "", poll_seconds: float = POLL_SECONDS
) -> Iterator[RunView]:
    """Stream the current run (or show the last one) until it ends.

    Args:
        lang: "en" or "es".
        name: follow this run only (stop watching if another replaces it); None: whichever is current.
        note: a sentence to put before the status (e.g. "another run is in progress").
        poll_seconds: how often to look; an update is sent only when something changed.

    Yields:
        `view()`s.
    """
    lang = normalise_lang(lang)
    manager = get_manager()
    last = None
    while True:
        s = manager.status()
        if name is not None and s.name != name and last is not None:
            return
        key = (s.name, s.state, s.step, s.preview_step, s.preview_now is not None, s.checkpoint)
        if key != last:
            yield view(s, lang, note)
            last = key
        if not s.active:
            return
        time.sleep(poll_seconds)


def finetune(
    base: str = "srresnet",
    data_source: str = "builtin",
    uploads: list[str] | None = None,
    objective: str = "mse",
    steps: float = 50,
    learning_rate: float = 1e-4,
    batch_size: float = 4,
    hr_patch: float = 96,
    seed: float = 0,
    run_name: str = "",
    lang: str = "en",
    *,
    notify: Callable[[str], None] | None = None,
    poll_seconds: float = POLL_SECONDS,
    allow_training: bool = True,
) -> Iterator[RunView]:
    """The `/finetune` event: start a run and stream it until it ends (or watch the run already in progress).

    Args:
        base: "srresnet", "srgan" or the name of a saved run.
        data_source: "builtin" or "upload" (then `uploads`: image files and/or zips).
        objective: "mse", "vgg54" or "srgan".
        steps, learning_rate, batch_size, hr_patch, seed: the training settings.
        run_name: the user's name for the run (sanitised; a timestamp is prepended).
        lang: "en" or "es".
        notify: shows a message to the user (the app passes `gr.Warning`).
        allow_training: False on a server started with --no-train: refuse before anything starts.

    Yields:
        `view()`s, about once a second while the run makes progress.

    Raises:
        ValueError: bad settings or data (before anything starts), the run failed (e.g. diverged), or
            training is disabled on this server.
    """
    lang = normalise_lang(lang)
    if not allow_training:  # checked here, not only in the page: the API reaches this handler directly
        raise ValueError(t("ft_disabled", lang))
    manager = get_manager()
    current = manager.status()
    if not current.active:
        if base not in [value for _, value in base_choices(lang)]:
            raise ValueError(t("ft_bad_base", lang, base=base))
        if data_source not in ("builtin", "upload"):
            raise ValueError(t("ft_bad_data", lang, data=data_source))
        data = uploaded_data(uploads) if data_source == "upload" else None
        try:
            name = manager.start(
                base=base,
                data=data,
                objective=objective,
                steps=steps,
                learning_rate=learning_rate,
                batch_size=batch_size,
                hr_patch=hr_patch,
                seed=seed,
                name=run_name or "",
            )
        except RunBusyError:  # someone started one while the data loaded
            current = manager.status()
        else:
            yield from watch(lang, name=name, poll_seconds=poll_seconds)
            final = manager.status()
            if final.name == name and final.state == "failed":  # the outputs show it; the toast makes it heard
                raise ValueError(t("ft_msg_failed", lang, error=final.error))
            return
    busy = t("ft_busy", lang, name=current.name, step=current.step, total=current.total)
    if notify is not None:
        notify(busy)
    yield from watch(lang, name=current.name, note=busy, poll_seconds=poll_seconds)


def stop_run(lang: str = "en", *, allow_training: bool = True) -> str:
    """The `/finetune_stop` event: ask the run in progress to stop (it saves its checkpoint first).

    Raises:
        ValueError: training is disabled on this server (--no-train).
    """
    lang = normalise_lang(lang)
    if not allow_training:
        raise ValueError(t("ft_disabled", lang))
    name = get_manager().active_run()
    if name is None or not get_manager().stop():
        return t("ft_nothing_to_stop", lang)
    return t("ft_stop_asked", lang, name=name)


def build(ctx: TabContext) -> None:
    """Widgets and wiring of the Fine-tune tab."""
    import gradio as gr

    ctx = ctx.with_strings(STRINGS)
    ctx.widget(gr.Markdown, "ft_intro")
    if not ctx.settings.allow_training:
        ctx.relabel(
            gr.Markdown(f"> **{ctx.text('ft_disabled')}**", elem_id="ft-disabled"),
            lambda lg: f"> **{t('ft_disabled', lg)}**",
            "value",
        )
    with gr.Row():
        with gr.Column(scale=1, min_width=340):
            w = _settings_column(ctx)
        with gr.Column(scale=2):
            w.update(_run_column(ctx))
    _wire_events(ctx, w)


def _settings_column(ctx: TabContext) -> dict[str, Any]:
    """Base model, data, objective, the training settings, Start/Stop, status, download and the lesson."""
    import gradio as gr

    from .lessons import lesson_panel

    lang0, allowed = ctx.default_lang, ctx.settings.allow_training
    w: dict[str, Any] = {}
    w["base"] = ctx.widget(gr.Dropdown, "ft_base", base_choices(lang0), value="srresnet", allow_custom_value=True)
    ctx.relabel(w["base"], base_choices, "choices")  # "SRResNet (incluido, MSE)" after a switch or on a ?lang=es page
    w["data_source"] = ctx.widget(gr.Radio, "ft_data", data_choices(lang0), value="builtin")
    ctx.relabel(w["data_source"], data_choices, "choices")
    w["uploads"] = ctx.widget(
        gr.File, "ft_uploads", file_count="multiple", file_types=["image", ".zip"], type="filepath", visible=False
    )
    w["objective"] = ctx.widget(gr.Radio, "ft_objective", objective_choices(lang0), value="mse")
    ctx.relabel(w["objective"], objective_choices, "choices")
    with ctx.widget(gr.Accordion, "ft_settings", open=True):
        with gr.Row():
            w["steps"] = ctx.widget(gr.Number, "ft_steps", 50, precision=0, fmt={"max": MAX_STEPS})
            w["learning_rate"] = ctx.widget(gr.Number, "ft_learning_rate", 1e-4)
        with gr.Row():
            w["batch_size"] = ctx.widget(gr.Slider, "ft_batch_size", 1, 32, value=4, step=1)
            w["hr_patch"] = ctx.widget(gr.Slider, "ft_patch", 32, 192, value=96, step=8)
        with gr.Row():
            w["seed"] = ctx.widget(gr.Number, "ft_seed", 0, precision=0)
            w["run_name"] = ctx.widget(gr.Textbox, "ft_name", "", max_length=80)
    with gr.Row():
        w["start"] = ctx.widget(gr.Button, "ft_start", variant="primary", interactive=allowed)
        w["stop"] = ctx.widget(gr.Button, "ft_stop", variant="stop", interactive=allowed)
    w["status"] = ctx.widget(gr.Textbox, "ft_status", interactive=False, lines=3)
    w["download"] = ctx.widget(gr.File, "ft_download", interactive=False)
    lesson_panel(ctx, "06_perceptual_loss")
    return w


def _run_column(ctx: TabContext) -> dict[str, Any]:
    """Progress, the curves, the two previews and the saved runs."""
    import gradio as gr

    lang0 = ctx.default_lang
    picture = {"type": "pil", "format": "png", "interactive": False}
    w: dict[str, Any] = {}
    # Empty until the tab's first opening streams the run's state (or "no run yet") in the page's language: a
    # text made here would be in the server's language, and the stream does not hold up the page's settling.
    w["progress"] = ctx.widget(gr.Markdown, "ft_progress", "", prop="label")
    w["curves"] = ctx.widget(gr.Image, "ft_curves", show_label=False, elem_id="ft-curves", **picture)  # has titles
    with gr.Row():
        w["before"] = ctx.widget(gr.Image, "ft_before", height=280, **picture)
        w["now"] = ctx.widget(gr.Image, "ft_now", height=280, **picture)
    w["runs"] = ctx.widget(
        gr.Dataframe, "ft_runs", runs_table(lang0), headers=runs_headers(lang0), interactive=False, wrap=True
    )
    return w


def _wire_events(ctx: TabContext, w: dict[str, Any]) -> None:
    """`/finetune`, `/finetune_stop`, `/finetune_watch` (on opening the tab), and the language switch."""
    import gradio as gr

    from .common import output_list, user_errors, user_errors_gen

    allowed = ctx.settings.allow_training
    outputs = output_list(RunView, w)
    # The streams only poll and draw: their own concurrency group, so a run being watched never holds up
    # the other tabs' events (the training itself is in the RunManager's thread, not in a Gradio worker).
    stream = {"concurrency_id": "finetune_stream", "concurrency_limit": 16, "show_progress": "hidden"}

    def refresh_runs(lang):
        return gr.update(choices=base_choices(lang)), gr.update(value=runs_table(lang), headers=runs_headers(lang))

    w["data_source"].change(
        lambda d: gr.update(visible=d == "upload"),
        w["data_source"],
        w["uploads"],
        api_visibility="private",
        queue=False,
    )
    names = (
        "base",
        "data_source",
        "uploads",
        "objective",
        "steps",
        "learning_rate",
        "batch_size",
        "hr_patch",
        "seed",
        "run_name",
    )
    inputs = [*(w[n] for n in names), ctx.lang]
    # A busy server says so in a toast (notify).
    on_finetune = user_errors_gen(functools.partial(finetune, notify=gr.Warning, allow_training=allowed))
    runs = [w["base"], w["runs"]]
    w["start"].click(*ctx.scaled(on_finetune, inputs), outputs, api_name="finetune", **stream).then(
        refresh_runs, ctx.lang, runs, api_visibility="private"
    )
    w["stop"].click(
        user_errors(functools.partial(stop_run, allow_training=allowed)),
        ctx.lang,
        w["status"],
        api_name="finetune_stop",
        concurrency_limit=None,
    )
    # Reattach on opening the tab: after a refresh, or to watch someone else's run.
    watching = ctx.scaled(user_errors_gen(watch), [ctx.lang])
    ctx.tab.select(*watching, outputs, api_name="finetune_watch", **stream).then(
        refresh_runs, ctx.lang, runs, api_visibility="private"
    )
    shown = ctx.shown_language()  # a new language, on screen now or at the next opening (not at the first)
    # One event on the trigger, the view chained after: two events on one trigger re-fire each other.
    shown.change(refresh_runs, ctx.lang, runs, api_visibility="private").then(
        *ctx.scaled(lambda lang: view(get_manager().status(), normalise_lang(lang)), [ctx.lang]),
        outputs,
        api_visibility="private",
    )
