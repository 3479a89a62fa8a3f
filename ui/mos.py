"""MOS test tab: the paper's mean-opinion-score study (Ledig et al. 2017, §3.4, Table 2), live in class.

Two roles on one page. The teacher opens a session and projects its code; each student enters the code on
their own device and rates blind crops (bicubic, SRResNet, SRGAN or HR, shown as nothing but a number) from
1 (bad) to 5 (excellent). The teacher's chart pools every vote live: mean ± 95 % interval per method,
labelled A-D until the teacher reveals which is which, beside the paper's MOS.

Events: `/mos_open`, `/mos_results`, `/mos_reveal`, `/mos_reset`, `/mos_export` (teacher), `/mos_join`,
`/mos_vote` (student). Storage and statistics: `srgan.classroom.mos`.

Who is a voter: a hash of Gradio's `session_hash`, which the browser creates when it loads the page and
sends with every event. It is decided on the server, so a student cannot type someone else's id, and a
`gradio_client.Client` is a voter of its own, like a browser. `gr.BrowserState` would survive a page
reload, but its value arrives from the browser as a plain API parameter (anyone can send any id) and its
encryption key changes at every server restart; a reload giving a fresh ballot is the lesser evil in a
classroom, where the teacher sees the number of students beside the number of votes.

The handlers are plain functions; gradio is only imported inside `build()`.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from PIL import Image

from srgan.classroom.mos import METHODS, PAPER_MOS, PAPER_SETS, Results, get_store, normalise_code

from .common import METHOD_LABELS, fig_to_pil, new_figure
from .context import TabContext
from .i18n import Strings

KEY = "tab_mos"
STRINGS = Strings({
    "tab_mos": ("MOS test", "Test MOS"),
    "mos_intro": (
        ("**The paper's opinion test, with your class as the raters.** Ledig et al. (2017, §3.4) asked 26 people "
        "to score images from 1 (bad) to 5 (excellent) without knowing how each was made; SRGAN scored far "
        "above SRResNet although its PSNR is lower. Teacher: open a session and project the code. Students: "
        "enter the code on your own device and rate every crop."),
        ("**La prueba de opinión del artículo, con la clase como evaluadores.** Ledig et al. (2017, §3.4) "
        "pidieron a 26 personas puntuar imágenes de 1 (mala) a 5 (excelente) sin saber cómo se había obtenido "
        "cada una; SRGAN puntuó muy por encima de SRResNet aunque su PSNR es menor. Docente: abre una sesión y "
        "proyecta el código. Estudiantes: introducid el código en vuestro dispositivo y puntuad cada recorte."),
    ),
    "mos_student": ("Student: rate the crops", "Estudiante: puntúa los recortes"),
    "mos_teacher": ("Teacher: session, live results, reveal", "Docente: sesión, resultados en directo, revelar"),
    "mos_code": ("Session code (from the teacher's screen)", "Código de la sesión (en la pantalla del docente)"),
    "mos_join": ("Join", "Unirse"),
    "mos_crop": ("Which version is this? Nobody knows: rate what you see",
                 "¿Qué versión es esta? Nadie lo sabe: puntúa lo que ves"),
    "mos_crop_id": ("Crop", "Recorte"),
    "mos_score": ("Your rating", "Tu puntuación"),
    "mos_rate": ("Rate and show the next crop", "Puntuar y ver el siguiente"),
    "mos_score_1": ("1 · bad", "1 · mala"),
    "mos_score_2": ("2 · poor", "2 · pobre"),
    "mos_score_3": ("3 · fair", "3 · aceptable"),
    "mos_score_4": ("4 · good", "4 · buena"),
    "mos_score_5": ("5 · excellent", "5 · excelente"),
    "mos_progress": (("Session **{code}**: you have rated {done} of {total} crops. Look closely at textures and "
                     "edges, then choose a rating."),
                     ("Sesión **{code}**: has puntuado {done} de {total} recortes. Fíjate en las texturas y los "
                     "bordes, y elige una puntuación.")),
    "mos_again": ("You had already rated crop {crop}; your first rating counts.",
                  "Ya habías puntuado el recorte {crop}; cuenta tu primera puntuación."),
    "mos_done": ("Session **{code}**: all {total} crops rated. Thank you! Look at the teacher's screen.",
                 "Sesión **{code}**: has puntuado los {total} recortes. ¡Gracias! Mira la pantalla del docente."),
    "mos_pick_score": ("Choose a rating from 1 to 5 first.", "Elige antes una puntuación de 1 a 5."),
    "mos_join_first": ("Enter the session code and press Join first.",
                       "Introduce antes el código de la sesión y pulsa Unirse."),
    "mos_open": ("Open a new session", "Abrir una sesión nueva"),
    "mos_teacher_code": ("Session code (type one and press Resume to reopen it)",
                         "Código de la sesión (escribe uno y pulsa Reanudar para volver a él)"),
    "mos_resume": ("Resume", "Reanudar"),
    "mos_code_caption": ("Students: open the **MOS test** tab and enter this session code under **Student**.",
                         ("Estudiantes: abrid la pestaña **Test MOS** e introducid este código de sesión en "
                         "**Estudiante**.")),
    "mos_refresh": ("Refresh", "Actualizar"),
    "mos_reveal": ("Reveal the methods", "Revelar los métodos"),
    "mos_reset": ("Reset the votes", "Borrar los votos"),
    "mos_export": ("Export the votes (CSV)", "Exportar los votos (CSV)"),
    "mos_csv": ("Votes (CSV)", "Votos (CSV)"),
    "mos_chart": ("Mean opinion score", "Puntuación media de opinión"),
    "mos_table": ("Scores", "Puntuaciones"),
    "mos_summary": (("**{votes}** votes from **{voters}** students on session **{code}** ({crops} crops each). "
                    "{state}"),
                    ("**{votes}** votos de **{voters}** estudiantes en la sesión **{code}** ({crops} recortes cada "
                    "uno). {state}")),
    "mos_hidden": ("The methods are hidden as A-D until you reveal them.",
                   "Los métodos se muestran como A-D hasta que los reveles."),
    "mos_shown": ("Methods revealed.", "Métodos revelados."),
    "mos_reset_done": ("{n} votes deleted; the methods are hidden again.",
                       "{n} votos borrados; los métodos vuelven a estar ocultos."),
    "mos_col_method": ("Method", "Método"),
    "mos_col_n": ("Votes", "Votos"),
    "mos_col_mean": ("Mean", "Media"),
    "mos_col_ci": ("95 % interval", "Intervalo del 95 %"),
    "mos_col_paper": ("Paper MOS (Set5 / Set14 / BSD100)", "MOS del artículo (Set5 / Set14 / BSD100)"),
    "mos_class_title": ("This class: mean ± 95 % interval", "Esta clase: media ± intervalo del 95 %"),
    "mos_paper_title": ("Ledig et al. 2017, Table 2 (26 raters)", "Ledig et al. 2017, tabla 2 (26 evaluadores)"),
    "mos_no_votes": ("no votes yet", "aún sin votos"),
    "mos_axis": ("MOS (1 bad … 5 excellent)", "MOS (1 mala … 5 excelente)"),
    "mos_note": (
        ("Our SRGAN is a small demo model trained with an MSE content term (the paper's SRGAN-MSE variant), not "
        "the paper's SRGAN-VGG54, and the crops come from four held-out photos rather than Set5/Set14/BSD100."),
        ("Nuestra SRGAN es un modelo de demostración pequeño entrenado con un término de contenido MSE (la variante "
        "SRGAN-MSE del artículo), no la SRGAN-VGG54 del artículo, y los recortes salen de cuatro fotos reservadas, "
        "no de Set5/Set14/BSD100."),
    ),
})  # fmt: skip
t = STRINGS.t

SHOW_ZOOM = 3  # crops are 128 px: enlarged with nearest neighbour so no browser smoothing changes what is judged
CLASS_COLOURS = {"bicubic": "#7f7f7f", "srresnet": "#1f77b4", "srgan": "#ff7f0e", "hr": "#2ca02c"}
BLIND_COLOUR = "#8c6bb1"  # one colour for every blind bar: per-method colours would give the game away
PAPER_SHADES = ("#c6dbef", "#6baed6", "#2171b5")  # Set5, Set14, BSD100


class SessionView(NamedTuple):
    """What the teacher sees of a session's code (`/mos_open`)."""

    code_html: str  # the code, large enough to read from the back of the room
    code: str


class ResultsView(NamedTuple):
    """What the teacher sees of a session's votes (`/mos_results`, `/mos_reveal`, `/mos_reset`)."""

    chart: Image.Image
    table: Any  # a pandas DataFrame, one row per method
    summary: str  # Markdown


class CropView(NamedTuple):
    """What a student sees (`/mos_join`)."""

    crop: Image.Image | None  # the next crop, enlarged; None when all are rated
    crop_id: str  # "" when all are rated
    progress: str  # Markdown


class VoteView(NamedTuple):
    """What a student sees after rating (`/mos_vote`): the next crop, and the rating cleared."""

    crop: Image.Image | None
    crop_id: str
    progress: str
    score: None


def voter_id(session_hash: str | None) -> str:
    """The stored voter id: a hash of the browser session (the raw value routes that session's events)."""
    if not session_hash:
        raise ValueError("no browser session: reload the page")
    return hashlib.sha256(f"srgan-mos:{session_hash}".encode()).hexdigest()[:16]


def _label(results: Results, method: str) -> str:
    return METHOD_LABELS[method] if results.revealed else results.labels[method]


def _order(results: Results) -> list[str]:
    """Methods in the paper's order once revealed; by blind letter before (the order must not give it away)."""
    return list(METHODS) if results.revealed else sorted(METHODS, key=lambda m: results.labels[m])


# ----------------------------------------------------------------------------------------------
# Teacher


def code_html(code: str) -> str:
    """The session code, large enough to read from the back of the room (no words: the caption is translated)."""
    if not code:
        return ""
    style = "text-align:center;font-size:5rem;font-weight:800;letter-spacing:0.3em;line-height:1.2"
    return f"<div style='{style}'>{normalise_code(code)}</div>"


def open_session() -> SessionView:
    """Open a new session (makes its crops, about a second per region on a CPU)."""
    session = get_store().open_session()
    return SessionView(code_html=code_html(session.code), code=session.code)


def resume_session(code: str) -> SessionView:
    """Show an existing session again (after a page reload or a server restart)."""
    session = get_store().session(code)
    return SessionView(code_html=code_html(session.code), code=session.code)


def results_table(results: Results, lang: str = "en"):
    """One row per method: label, votes, mean, 95 % interval, and the paper's MOS once revealed."""
    import pandas as pd

    rows = []
    for m in _order(results):
        s = results.stats[m]
        paper = " / ".join(f"{v:.2f}" for v in PAPER_MOS[m]) if results.revealed else "—"
        rows.append(
            [
                _label(results, m),
                s.n,
                "—" if s.mean is None else f"{s.mean:.2f}",
                "—" if s.half_width is None else f"{s.low:.2f} – {s.high:.2f}",
                paper,
            ]
        )
    columns = [t(k, lang) for k in ("mos_col_method", "mos_col_n", "mos_col_mean", "mos_col_ci", "mos_col_paper")]
    return pd.DataFrame(rows, columns=columns)


def results_chart(results: Results, lang: str = "en") -> Image.Image:
    """The class's mean ± 95 % interval per method (left) beside the paper's MOS (right)."""
    fig = new_figure(13, 5.2)
    ours, paper = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.4])
    order = _order(results)
    for x, m in enumerate(order):
        s = results.stats[m]
        colour = CLASS_COLOURS[m] if results.revealed else BLIND_COLOUR
        if s.mean is None:
            ours.text(x, 0.15, t("mos_no_votes", lang), ha="center", fontsize=12, rotation=90, va="bottom")
            continue
        ours.bar(x, s.mean, color=colour, width=0.65)
        if s.half_width is not None:
            ours.errorbar(x, s.mean, yerr=s.half_width, color="black", capsize=8, linewidth=2)
        ours.text(x + 0.36, s.mean, f"{s.mean:.2f}\nn={s.n}", fontsize=11, va="center")
    ours.set_xticks(range(len(order)), [_label(results, m) for m in order], fontsize=15)
    ours.set_title(t("mos_class_title", lang), fontsize=15)
    ours.set_ylabel(t("mos_axis", lang), fontsize=14)
    width = 0.26
    for k, (name, shade) in enumerate(zip(PAPER_SETS, PAPER_SHADES)):
        paper.bar(
            [x + (k - 1) * width for x in range(len(METHODS))],
            [PAPER_MOS[m][k] for m in METHODS],
            width,
            color=shade,
            label=name,
        )
    paper.set_xticks(range(len(METHODS)), [METHOD_LABELS[m] for m in METHODS], fontsize=13)
    paper.set_title(t("mos_paper_title", lang), fontsize=15)
    paper.legend(fontsize=12, loc="upper left")
    for ax in (ours, paper):
        ax.set_ylim(0, 5.3)
        ax.set_yticks(range(6))
        ax.tick_params(axis="y", labelsize=13)
        ax.grid(axis="y", alpha=0.3)
    return fig_to_pil(fig)


def results_view(code: str, lang: str = "en") -> ResultsView:
    """Everything the teacher sees about a session's votes."""
    results = get_store().results(code)
    state = t("mos_shown" if results.revealed else "mos_hidden", lang)
    summary = t(
        "mos_summary",
        lang,
        votes=results.votes,
        voters=results.voters,
        code=results.code,
        crops=results.n_crops,
        state=state,
    )
    return ResultsView(
        chart=results_chart(results, lang),
        table=results_table(results, lang),
        summary=f"{summary}\n\n*{t('mos_note', lang)}*",
    )


def results_signature(code: str, lang: str = "en") -> tuple:
    """What the results look like, cheaply: the timer redraws the chart only when this changes."""
    if not normalise_code(code):
        return ()
    r = get_store().results(code)
    return (r.code, r.revealed, lang, r.votes, tuple((s.n, s.mean, s.sd) for s in r.stats.values()))


def reveal(code: str, lang: str = "en") -> ResultsView:
    """Unblind the methods, and the results that show them."""
    get_store().set_revealed(code, True)
    return results_view(code, lang)


def reset(code: str, lang: str = "en") -> ResultsView:
    """Delete the session's votes (hides the methods again), and the empty results."""
    n = get_store().reset(code)
    view = results_view(code, lang)
    return view._replace(summary=f"{t('mos_reset_done', lang, n=n)}\n\n{view.summary}")


def export_votes(code: str) -> str:
    """The session's votes as a CSV file in a temp folder (which Gradio serves), named after the session."""
    store = get_store()
    session = store.session(code)
    folder = Path(tempfile.mkdtemp(prefix="srgan-mos-"))
    path = folder / f"mos_{session.code}_{time.strftime('%Y%m%d-%H%M%S')}.csv"
    path.write_text(store.export_csv(session.code), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------------------------
# Student


def _show(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGB")
    return image.resize((image.width * SHOW_ZOOM, image.height * SHOW_ZOOM), Image.Resampling.NEAREST)


def next_crop_view(code: str, voter: str, lang: str = "en", note: str = "") -> CropView:
    """The voter's next unrated crop (None and "" when all are rated), and their progress."""
    store = get_store()
    session = store.session(code)
    crop = store.next_crop(session.code, voter)
    done = len(store.rated(session.code, voter))
    prefix = f"{note}\n\n" if note else ""
    if crop is None:
        return CropView(None, "", prefix + t("mos_done", lang, code=session.code, total=session.n_crops))
    progress = t("mos_progress", lang, code=session.code, done=done, total=session.n_crops)
    return CropView(crop=_show(crop.path), crop_id=crop.crop_id, progress=prefix + progress)


def join(code: str, voter: str, lang: str = "en") -> CropView:
    """A student joins a session: their first (or next) crop."""
    if not normalise_code(code):
        raise ValueError(t("mos_join_first", lang))
    return next_crop_view(code, voter, lang)


def vote(code: str, crop_id: str, score: int | None, voter: str, lang: str = "en") -> VoteView:
    """Record a rating and move on to the next crop (the rating is cleared for it)."""
    if not normalise_code(code) or not crop_id:
        raise ValueError(t("mos_join_first", lang))
    if score in (None, ""):
        raise ValueError(t("mos_pick_score", lang))
    recorded = get_store().vote(code, voter, crop_id, score)
    note = "" if recorded else t("mos_again", lang, crop=crop_id)
    return VoteView(*next_crop_view(code, voter, lang, note), score=None)


# ----------------------------------------------------------------------------------------------


def build(ctx: TabContext) -> None:
    """The MOS tab: a Student accordion (open) and a Teacher accordion."""
    import gradio as gr

    ctx = ctx.with_strings(STRINGS)
    ctx.widget(gr.Markdown, "mos_intro")
    student = _student_panel(ctx)
    teacher = _teacher_panel(ctx)
    _wire_student(ctx, student)
    _wire_teacher(ctx, teacher)


def _student_panel(ctx: TabContext) -> dict[str, Any]:
    """Code, Join, the blind crop and its rating."""
    import gradio as gr

    w: dict[str, Any] = {}
    with ctx.widget(gr.Accordion, "mos_student", open=True, elem_id="mos-student"), gr.Row():
        with gr.Column(scale=1, min_width=280):
            w["code"] = ctx.widget(gr.Textbox, "mos_code", max_lines=1, elem_id="mos-student-code")
            w["join"] = ctx.widget(gr.Button, "mos_join", variant="primary")
            w["crop_id"] = ctx.widget(gr.Textbox, "mos_crop_id", interactive=False, max_lines=1, elem_id="mos-crop-id")
            w["score"] = ctx.widget(gr.Radio, "mos_score", score_choices(ctx.default_lang), elem_id="mos-score")
            ctx.relabel(w["score"], score_choices, "choices")
            w["rate"] = ctx.widget(gr.Button, "mos_rate", variant="primary")
            w["progress"] = gr.Markdown(elem_id="mos-progress")
        with gr.Column(scale=2):
            w["crop"] = ctx.widget(
                gr.Image, "mos_crop", type="pil", format="png", interactive=False, height=420, elem_id="mos-crop"
            )
    return w


def score_choices(lang: str = "en") -> list[tuple[str, int]]:
    return [(t(f"mos_score_{s}", lang), s) for s in range(1, 6)]


def _teacher_panel(ctx: TabContext) -> dict[str, Any]:
    """Open/resume a session, its code for the projector, the live chart and table, reveal, reset, export."""
    import gradio as gr

    w: dict[str, Any] = {}
    with ctx.widget(gr.Accordion, "mos_teacher", open=False, elem_id="mos-teacher"), gr.Row():
        with gr.Column(scale=1, min_width=300):
            w["open"] = ctx.widget(gr.Button, "mos_open", variant="primary")
            w["code"] = ctx.widget(gr.Textbox, "mos_teacher_code", max_lines=1, elem_id="mos-teacher-code")
            w["resume"] = ctx.widget(gr.Button, "mos_resume")
            w["refresh"] = ctx.widget(gr.Button, "mos_refresh")
            w["reveal"] = ctx.widget(gr.Button, "mos_reveal")
            w["reset"] = ctx.widget(gr.Button, "mos_reset", variant="stop")
            w["export"] = ctx.widget(gr.Button, "mos_export")
            w["csv"] = ctx.widget(gr.File, "mos_csv", interactive=False, elem_id="mos-csv")
        with gr.Column(scale=3):
            ctx.widget(gr.Markdown, "mos_code_caption")
            w["code_html"] = gr.HTML(elem_id="mos-code")
            w["summary"] = gr.Markdown(elem_id="mos-summary")
            w["chart"] = ctx.widget(
                gr.Image,
                "mos_chart",
                type="pil",
                format="png",
                interactive=False,
                elem_id="mos-chart",
                show_label=False,
            )
            w["table"] = ctx.widget(gr.Dataframe, "mos_table", interactive=False, elem_id="mos-table")
    return w


def _with_request(fn):
    """Gradio hands the gr.Request to a parameter annotated with the class itself; this module's annotations
    are strings (postponed evaluation) and gradio is not imported at its top, so set it here."""
    import gradio as gr

    fn.__annotations__ = {"request": gr.Request}
    return fn


def _wire_student(ctx: TabContext, w: dict[str, Any]) -> None:
    """`/mos_join` (also on Enter in the code box) and `/mos_vote`."""
    from .common import output_list, user_errors

    @_with_request
    def on_join(code, lang, request):
        return join(code, voter_id(getattr(request, "session_hash", None)), lang)

    @_with_request
    def on_vote(code, crop_id, score, lang, request):
        return vote(code, crop_id, score, voter_id(getattr(request, "session_hash", None)), lang)

    # Votes are quick database writes: their own group, so a class voting at once never waits for a
    # network elsewhere in the app.
    votes = {"concurrency_id": "mos_vote", "concurrency_limit": 8}
    join_inputs, shown = [w["code"], ctx.lang], output_list(CropView, w)
    w["join"].click(user_errors(on_join), join_inputs, shown, api_name="mos_join", **votes)
    w["code"].submit(user_errors(on_join), join_inputs, shown, api_visibility="private", **votes)
    w["rate"].click(
        user_errors(on_vote),
        [w["code"], w["crop_id"], w["score"], ctx.lang],
        output_list(VoteView, w),
        api_name="mos_vote",
        **votes,
    )


def _wire_teacher(ctx: TabContext, w: dict[str, Any]) -> None:
    """`/mos_open`, resume, the live timer, `/mos_results`, `/mos_reveal`, `/mos_reset`, `/mos_export`."""
    import gradio as gr

    from .common import output_list, user_errors

    timer = gr.Timer(2.0, active=False)  # live results, started once a session is shown
    shown = gr.State(())  # the signature of the results on screen
    # Results share a small group (each draws a chart).
    teacher = {"concurrency_id": "mos_results", "concurrency_limit": 2}
    code, results = w["code"], output_list(ResultsView, w)

    def on_tick(code, lang, on_screen):
        try:
            signature = results_signature(code, lang)
        except ValueError:  # a code being typed in the box: no toast every two seconds
            signature = ()
        if not signature or signature == on_screen:  # nothing new: send nothing, the browser keeps its chart
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (*results_view(code, lang), signature)

    def start_live(code, lang):
        return (*results_view(code, lang), results_signature(code, lang), gr.Timer(active=True))

    live = {
        "fn": user_errors(start_live),
        "inputs": [code, ctx.lang],
        "outputs": [*results, shown, timer],
        "api_visibility": "private",
        **teacher,
    }
    session = output_list(SessionView, w)
    w["open"].click(
        user_errors(open_session), None, session, api_name="mos_open", concurrency_id="mos_open", concurrency_limit=1
    ).success(**live)
    gr.on(
        [w["resume"].click, code.submit],
        user_errors(resume_session),
        code,
        session,
        api_visibility="private",
        queue=False,
    ).success(**live)
    w["refresh"].click(user_errors(results_view), [code, ctx.lang], results, api_name="mos_results", **teacher)
    timer.tick(
        on_tick, [code, ctx.lang, shown], [*results, shown], api_visibility="private", show_progress="hidden", **teacher
    )
    w["reveal"].click(user_errors(reveal), [code, ctx.lang], results, api_name="mos_reveal", **teacher)
    w["reset"].click(user_errors(reset), [code, ctx.lang], results, api_name="mos_reset", **teacher)
    w["export"].click(user_errors(export_votes), code, w["csv"], api_name="mos_export", **teacher)
