"""MOS test tab: the paper's mean-opinion-score study (Ledig et al. 2017, §3.4, Table 2), live in class.

Two roles. The teacher opens a session here and projects its code, its join address and a QR code of
that address; each student opens the address on a phone (`ui/mos_phone.py`: the /mos page, nothing but the
code, the blind crop and five rating buttons) or uses the Student panel below, and rates blind crops
(bicubic, SRResNet, SRGAN or HR, shown as nothing but a number) from 1 (bad) to 5 (excellent). The
teacher's chart pools every vote live: mean and 95 % bootstrap interval over raters per method, labelled
A-D until the teacher reveals which is which, beside the paper's MOS.

Events: `/mos_open`, `/mos_results`, `/mos_reveal`, `/mos_reset`, `/mos_undo_reset`, `/mos_export`
(teacher), `/mos_join`, `/mos_vote` (student). Storage and statistics: `srgan.classroom.mos`.

Who is the teacher: the browser that opened the session. `/mos_open` returns the session's teacher key
(`secrets.token_urlsafe`) into a `gr.BrowserState` keyring, {code: key}, kept in that browser's local
storage and never drawn on the page; every teacher event sends the keyring back and the store checks the
key's sha256 (`MosStore.teacher_session`). A script passes the key itself in the keyring's place:
`client.predict(code, key, api_name="/mos_reveal")`. The projected code only lets students join and vote.
Before the reveal only the teacher sees results; after it, anyone with the code may (they are on the
projector anyway). Wrong codes and keys are counted per browser session and per address
(`GuessLimiter`), and a client over its limit is refused for the rest of the minute. With --auth the
teacher still needs the key: --auth is one shared account for the whole class, so being logged in says
nothing about who is the teacher (docs/reliability.md).

Who is a voter: a hash of Gradio's `session_hash`, which the browser creates when it loads the page and
sends with every event. It is decided on the server, so a student cannot type someone else's id, and a
`gradio_client.Client` is a voter of its own, like a browser. A reload gives a fresh ballot, the lesser
evil in a classroom, where the teacher sees the number of students beside the number of votes.

The handlers are plain functions; gradio is only imported inside `build()` and the wiring.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

from PIL import Image

from srgan.classroom.mos import (
    METHODS,
    PAPER_MOS,
    PAPER_SETS,
    UNDO_SECONDS,
    GuessLimiter,
    NothingToUndo,
    NotTeacher,
    Results,
    Session,
    TooManyGuesses,
    UnknownSession,
    get_store,
    normalise_code,
)
from srgan.classroom.mos_stats import BOOTSTRAP_RESAMPLES, FEW_RATERS

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
    "mos_refresh": ("Refresh", "Actualizar"),
    "mos_reveal": ("Reveal the methods", "Revelar los métodos"),
    "mos_reset": ("Reset the votes", "Borrar los votos"),
    "mos_export": ("Export the votes (CSV)", "Exportar los votos (CSV)"),
    "mos_csv": ("Votes (CSV)", "Votos (CSV)"),
    "mos_chart": ("Mean opinion score", "Puntuación media de opinión"),
    "mos_table": ("Scores", "Puntuaciones"),
    "mos_summary": ("{votes} from {voters} on session **{code}** ({crops} each). {state}",
                    "{votes} de {voters} en la sesión **{code}** ({crops} cada uno). {state}"),
    # Counted words (`counted`): the key + "_1" for one, + "_n" for any other number.
    "mos_vote_1": ("**{n}** vote", "**{n}** voto"),
    "mos_vote_n": ("**{n}** votes", "**{n}** votos"),
    "mos_student_1": ("**{n}** student", "**{n}** estudiante"),
    "mos_student_n": ("**{n}** students", "**{n}** estudiantes"),
    "mos_crop_1": ("{n} crop", "{n} recorte"),
    "mos_crop_n": ("{n} crops", "{n} recortes"),
    "mos_hidden": ("The methods are hidden as A-D until you reveal them.",
                   "Los métodos se muestran como A-D hasta que los reveles."),
    "mos_shown": ("Methods revealed.", "Métodos revelados."),
    "mos_col_method": ("Method", "Método"),
    "mos_col_n": ("Votes", "Votos"),
    "mos_col_mean": ("Mean", "Media"),
    "mos_col_ci": ("95 % interval", "Intervalo del 95 %"),
    "mos_col_paper": ("Paper MOS (Set5 / Set14 / BSD100)", "MOS del artículo (Set5 / Set14 / BSD100)"),
    "mos_class_title": ("This class: mean, 95 % bootstrap interval", "Esta clase: media, intervalo bootstrap del 95 %"),
    "mos_paper_title": ("Ledig et al. 2017, Table 2 (26 raters)", "Ledig et al. 2017, tabla 2 (26 evaluadores)"),
    "mos_no_votes": ("no votes yet", "aún sin votos"),
    "mos_axis": ("MOS (1 bad … 5 excellent)", "MOS (1 mala … 5 excelente)"),
    "mos_note": (
        ("Our SRGAN is a small demo model trained with an L1 content term (heavier where a photo is flat), LDL's "
        "artifact loss and blurred copies of "
        "its photos (beyond the paper), not the paper's SRGAN-VGG54, and the crops come from four held-out photos "
        "rather than Set5/Set14/BSD100."),
        ("Nuestra SRGAN es un modelo de demostración pequeño entrenado con un término de contenido L1 (más pesado "
        "donde la foto es lisa), la pérdida de "
        "artefactos de LDL y copias desenfocadas de sus fotos (más allá del artículo), no la SRGAN-VGG54 del "
        "artículo, y los recortes salen de cuatro fotos reservadas, no de Set5/Set14/BSD100."),
    ),
    "mos_code_caption": (("Students: scan the QR code or open the address on your phone, or open the **MOS test** "
                          "tab and enter this code under **Student**."),
                         ("Estudiantes: escanead el código QR o abrid la dirección en el móvil, o abrid la pestaña "
                          "**Test MOS** e introducid este código en **Estudiante**.")),
    "mos_join_at": ("Join at", "Únete en"),
    "mos_local_only": (("This address only works on this computer: start the app with `--host 0.0.0.0` and open it "
                        "by this computer's network address, so that the phones can reach it."),
                       ("Esta dirección solo funciona en este ordenador: arranca la app con `--host 0.0.0.0` y ábrela "
                        "con la dirección de red de este ordenador, para que los móviles lleguen a ella.")),
    "mos_reset_ask_1": ("Delete the 1 vote of session {code}? You can undo it for {minutes} minutes.",
                        "¿Borrar el único voto de la sesión {code}? Podrás deshacerlo durante {minutes} minutos."),
    "mos_reset_ask_n": ("Delete the {n} votes of session {code}? You can undo it for {minutes} minutes.",
                        "¿Borrar los {n} votos de la sesión {code}? Podrás deshacerlo durante {minutes} minutos."),
    "mos_reset_yes": ("Yes, delete the votes", "Sí, borrar los votos"),
    "mos_reset_no": ("Cancel", "Cancelar"),
    "mos_undo": ("Undo the reset", "Deshacer el borrado"),
    "mos_reset_done_1": (("1 vote deleted; the methods are hidden again. **Undo the reset** brings it back for "
                          "{minutes} minutes; the CSV file beside holds it for good."),
                         ("1 voto borrado; los métodos vuelven a estar ocultos. **Deshacer el borrado** lo "
                          "recupera durante {minutes} minutos; el CSV de al lado lo guarda para siempre.")),
    "mos_reset_done_n": (("{n} votes deleted; the methods are hidden again. **Undo the reset** brings them back for "
                          "{minutes} minutes; the CSV file beside holds them for good."),
                         ("{n} votos borrados; los métodos vuelven a estar ocultos. **Deshacer el borrado** los "
                          "recupera durante {minutes} minutos; el CSV de al lado los guarda para siempre.")),
    "mos_undo_done_1": ("1 vote is back.", "Ha vuelto 1 voto."),
    "mos_undo_done_n": ("{n} votes are back.", "Han vuelto {n} votos."),
    "err_unknown_code": ("No session has the code {code}: check the code on the teacher's screen.",
                         "Ninguna sesión tiene el código {code}: revisa el código en la pantalla del docente."),
    "err_not_teacher": (("Only the teacher's browser (the one that opened session {code}) can do this; students "
                         "can join and vote."),
                        ("Solo el navegador del docente (el que abrió la sesión {code}) puede hacer esto; los "
                         "estudiantes pueden unirse y votar.")),
    "err_not_yet": ("The results of session {code} are shown after the teacher reveals the methods.",
                    "Los resultados de la sesión {code} se ven cuando el docente revela los métodos."),
    "err_too_many": ("Too many wrong codes from this device: wait {wait} s and try again.",
                     "Demasiados códigos erróneos desde este dispositivo: espera {wait} s y vuelve a intentarlo."),
    "err_no_undo": ("There is no reset to undo (a reset can be undone for {minutes} minutes).",
                    "No hay ningún borrado que deshacer (se puede deshacer durante {minutes} minutos)."),
    "err_no_session": ("Open a session first (or type its code and press Resume).",
                       "Abre antes una sesión (o escribe su código y pulsa Reanudar)."),
    "mos_col_raters": ("Raters", "Evaluadores"),
    "mos_few": ("few raters", "pocos evaluadores"),
    "mos_ci_note": (("Interval: 95 % percentile bootstrap over raters ({resamples} resamples; each student's votes "
                     "stay together), so it stays inside 1-5. Fewer than {few} raters: drawn dashed, too narrow "
                     "to trust."),
                    ("Intervalo: bootstrap de percentiles al 95 % sobre evaluadores ({resamples} remuestreos; los "
                     "votos de cada estudiante van juntos), así que queda dentro de 1-5. Con menos de {few} "
                     "evaluadores: discontinuo, demasiado estrecho para fiarse.")),
})  # fmt: skip
t = STRINGS.t

SHOW_ZOOM = 3  # crops are 128 px: enlarged with nearest neighbour so no browser smoothing changes what is judged
CLASS_COLOURS = {"bicubic": "#7f7f7f", "srresnet": "#1f77b4", "srgan": "#ff7f0e", "hr": "#2ca02c"}
BLIND_COLOUR = "#8c6bb1"  # one colour for every blind bar: per-method colours would give the game away
PAPER_SHADES = ("#c6dbef", "#6baed6", "#2171b5")  # Set5, Set14, BSD100
PHONE_PATH = "mos"  # the students' page, ui/mos_phone.py: <server>/mos?code=ABCD
KEYRING_SIZE = 20  # sessions a teacher's browser keeps keys for
LIMITER = GuessLimiter()  # wrong codes and keys per client per minute, for this server process
Keys = Mapping[str, str] | str | None  # the keyring {code: key} of a teacher's browser, or a key itself


class SessionView(NamedTuple):
    """What the teacher sees of a session (`/mos_open`): its code, the join address, and the browser's keyring."""

    code_html: str  # the code, large enough to read from the back of the room
    code: str
    join_html: str  # the students' address and its QR code
    keys: dict[str, str]  # the keyring, with this session's key: kept in the teacher's browser, never drawn


class ResultsView(NamedTuple):
    """What the teacher sees of a session's votes (`/mos_results`, `/mos_reveal`, `/mos_undo_reset`)."""

    chart: Image.Image
    table: Any  # a pandas DataFrame, one row per method
    summary: str  # Markdown


class ResetView(NamedTuple):
    """What the teacher sees after a reset (`/mos_reset`): the empty results and a CSV of what was deleted."""

    chart: Image.Image
    table: Any
    summary: str
    csv: str  # the CSV file of the deleted votes


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
# Who may: the teacher key, and guessing slowed down


def client_keys(request: Any) -> tuple[str, ...]:
    """The keys `LIMITER` counts a request under: its browser session and its address.

    Args:
        request: the gr.Request (None in direct calls: nothing is counted).

    Returns:
        ("session:<hash>", "host:<address>"), an empty string for what the request lacks.
    """
    session = getattr(request, "session_hash", None)
    host = getattr(getattr(request, "client", None), "host", None)
    return (f"session:{session}" if session else "", f"host:{host}" if host else "")


def teacher_key(keys: Keys, code: str) -> str:
    """The key for session `code` in what a teacher event received: a keyring {code: key}, or a key itself."""
    if isinstance(keys, str):
        return keys
    if isinstance(keys, Mapping):
        return str(keys.get(normalise_code(code), ""))
    return ""


def guarded(action: Callable[[], Any], code: str, lang: str = "en", request: Any = None) -> Any:
    """`action()`, its refusals in the user's language; an unknown code or a wrong key counts as a guess.

    Args:
        action: the store call (it raises UnknownSession, NotTeacher, NothingToUndo as the case may be).
        code: the session code the user sent (for the message).
        lang: the user's language.
        request: the gr.Request, for `LIMITER` (None: not counted).

    Raises:
        ValueError: the refusal, translated (the app shows it as a gr.Error).
    """
    shown = normalise_code(code)
    try:
        return LIMITER.guarded(client_keys(request), action)
    except TooManyGuesses as e:
        wait = "".join(ch for ch in str(e).split("wait", 1)[-1] if ch.isdigit()) or "60"
        raise ValueError(t("err_too_many", lang, wait=wait)) from None
    except UnknownSession:
        raise ValueError(t("err_unknown_code", lang, code=shown or "—")) from None
    except NotTeacher:
        raise ValueError(t("err_not_teacher", lang, code=shown)) from None
    except NothingToUndo:
        raise ValueError(t("err_no_undo", lang, minutes=UNDO_SECONDS // 60)) from None


def _teacher(code: str, keys: Keys, lang: str, request: Any) -> Session:
    """The session, if the keys hold its teacher key (else a translated refusal, counted as a guess)."""
    if not normalise_code(code):
        raise ValueError(t("err_no_session", lang))
    return guarded(lambda: get_store().teacher_session(code, teacher_key(keys, code)), code, lang, request)


# ----------------------------------------------------------------------------------------------
# Teacher


def code_html(code: str) -> str:
    """The session code, large enough to read from the back of the room (no words: the caption is translated)."""
    if not code:
        return ""
    style = "text-align:center;font-size:5rem;font-weight:800;letter-spacing:0.3em;line-height:1.2"
    return f"<div style='{style}'>{normalise_code(code)}</div>"


def join_url(request: Any, code: str, lang: str = "en") -> str:
    """The students' address: this server as the teacher's browser reached it, /mos, the code and language.

    Behind a proxy or a share link the forwarded host and scheme are used.
    """
    headers = getattr(request, "headers", None) or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or "127.0.0.1:7860"
    scheme = headers.get("x-forwarded-proto") or ("https" if host.endswith(".gradio.live") else "http")
    query = urlencode({"code": normalise_code(code), "lang": lang})
    return f"{scheme}://{host.split(',')[0].strip()}/{PHONE_PATH}?{query}"


def qr_svg(text: str) -> str:
    """A QR code of `text` as inline SVG (segno: medium error correction, black on white)."""
    import segno

    return segno.make(text, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff", omitsize=True)


def join_html(url: str, lang: str = "en") -> str:
    """The join address and its QR code, large enough for phones to scan from their seats."""
    if not url:
        return ""
    host = url.split("//", 1)[-1].split("/", 1)[0].split(":")[0]
    local = host in ("127.0.0.1", "localhost", "::1", "[::1]") or host.startswith("127.")
    warning = f"<p style='color:#b45309'>{html.escape(t('mos_local_only', lang))}</p>" if local else ""
    return (
        "<div style='display:flex;gap:2rem;align-items:center;flex-wrap:wrap;justify-content:center'>"
        f"<div style='width:min(320px,80vw)' id='mos-qr'>{qr_svg(url)}</div>"
        f"<div style='font-size:1.6rem'><b>{html.escape(t('mos_join_at', lang))}</b><br>"
        f"<a href='{html.escape(url)}' target='_blank' style='word-break:break-all'>{html.escape(url)}</a>{warning}</div>"
        "</div>"
    )


def _keyring(keys: Keys, session: Session) -> dict[str, str]:
    """The browser's keyring with this session's key added (the newest last, at most `KEYRING_SIZE`)."""
    ring = {k: v for k, v in keys.items() if k != session.code} if isinstance(keys, Mapping) else {}
    ring[session.code] = session.secret
    return dict(list(ring.items())[-KEYRING_SIZE:])


def open_session(keys: Keys = None, lang: str = "en", request: Any = None) -> SessionView:
    """Open a new session (makes its crops, about a second per region on a CPU) and keep its key.

    Args:
        keys: the browser's keyring (the new key is added to it).
        lang: the teacher's language.
        request: the gr.Request (for the join address).
    """
    session = get_store().open_session()
    url = join_url(request, session.code, lang)
    return SessionView(code_html(session.code), session.code, join_html(url, lang), _keyring(keys, session))


def resume_session(code: str, keys: Keys, lang: str = "en", request: Any = None) -> SessionView:
    """Show a session again (after a page reload or a server restart): only with its key.

    An empty code resumes the newest session of the keyring.
    """
    if not normalise_code(code) and isinstance(keys, Mapping) and keys:
        code = list(keys)[-1]
    session = _teacher(code, keys, lang, request)
    ring = dict(keys) if isinstance(keys, Mapping) else {session.code: teacher_key(keys, code)}
    url = join_url(request, session.code, lang)
    return SessionView(code_html(session.code), session.code, join_html(url, lang), ring)


def results_table(results: Results, lang: str = "en"):
    """One row per method: label, votes, raters, mean, 95 % interval, and the paper's MOS once revealed."""
    import pandas as pd

    rows = []
    for m in _order(results):
        s = results.stats[m]
        paper = " / ".join(f"{v:.2f}" for v in PAPER_MOS[m]) if results.revealed else "—"
        interval = "—" if s.low is None else f"{s.low:.2f} – {s.high:.2f}" + (f" ({t('mos_few', lang)})" * s.few_raters)
        rows.append([_label(results, m), s.n, s.raters, "—" if s.mean is None else f"{s.mean:.2f}", interval, paper])
    keys = ("mos_col_method", "mos_col_n", "mos_col_raters", "mos_col_mean", "mos_col_ci", "mos_col_paper")
    return pd.DataFrame(rows, columns=[t(k, lang) for k in keys])


def results_figure(results: Results, lang: str = "en") -> Any:
    """The class's mean and 95 % bootstrap interval per method, with n (left), beside the paper's MOS (right).

    Sized for a projector: 13 x 5.6 in at 100 dpi, drawn 1:1 in the teacher's column at 1920 px; tick labels
    of 15 and 13 pt. Returns the matplotlib Figure (`results_chart` draws it).
    """
    fig = new_figure(13, 5.6)
    ours, paper = fig.subplots(1, 2, sharey=True, width_ratios=[1, 1.4])
    order = _order(results)
    for x, m in enumerate(order):
        _draw_method(ours, x, results.stats[m], CLASS_COLOURS[m] if results.revealed else BLIND_COLOUR, lang)
    ticks = [f"{_label(results, m).replace(' (', chr(10) + '(')}\nn={results.stats[m].n}" for m in order]
    ours.set_xticks(range(len(order)), ticks, fontsize=15)
    ours.set_xlim(-0.6, len(order) - 0.4)
    ours.set_title(t("mos_class_title", lang), fontsize=15)
    ours.set_ylabel(t("mos_axis", lang), fontsize=14)
    width = 0.26
    for k, (name, shade) in enumerate(zip(PAPER_SETS, PAPER_SHADES)):
        xs = [x + (k - 1) * width for x in range(len(METHODS))]
        paper.bar(xs, [PAPER_MOS[m][k] for m in METHODS], width, color=shade, label=name)
    paper.set_xticks(range(len(METHODS)), [METHOD_LABELS[m].replace(" (", "\n(") for m in METHODS], fontsize=13)
    paper.set_title(t("mos_paper_title", lang), fontsize=15)
    paper.legend(fontsize=12, loc="upper left")
    for ax in (ours, paper):
        ax.set_ylim(0, 5.3)
        ax.set_yticks(range(6))
        ax.tick_params(axis="y", labelsize=13)
        ax.grid(axis="y", alpha=0.3)
    note = t("mos_ci_note", lang, resamples=BOOTSTRAP_RESAMPLES, few=FEW_RATERS)
    fig.get_layout_engine().set(h_pad=0.1)
    fig.supxlabel(note, fontsize=11, wrap=True)
    return fig


def _draw_method(ax: Any, x: int, s: Any, colour: str, lang: str) -> None:
    """One method's bar, its interval (dashed when from few raters) and its mean written beside it."""
    if s.mean is None:
        ax.text(x, 0.15, t("mos_no_votes", lang), ha="center", fontsize=12, rotation=90, va="bottom")
        return
    ax.bar(x, s.mean, color=colour, width=0.6)
    if s.low is not None:
        bar = ax.errorbar(x, s.mean, yerr=[[s.mean - s.low], [s.high - s.mean]], color="black", capsize=8, linewidth=2)
        if s.few_raters:
            bar[2][0].set_linestyle("--")
    ax.text(x + 0.33, s.mean, f"{s.mean:.2f}", fontsize=12, va="center")


def results_chart(results: Results, lang: str = "en") -> Image.Image:
    """`results_figure`, drawn."""
    return fig_to_pil(results_figure(results, lang))


def counted(n: int, word: str, lang: str, **fmt: Any) -> str:
    """The string `mos_<word>_1` of STRINGS for n = 1, else `mos_<word>_n` ("vote", "student", "reset_done"...)."""
    return t(f"mos_{word}_{'1' if n == 1 else 'n'}", lang, n=n, **fmt)


def _results_view(results: Results, lang: str) -> ResultsView:
    state = t("mos_shown" if results.revealed else "mos_hidden", lang)
    summary = t(
        "mos_summary", lang, votes=counted(results.votes, "vote", lang),
        voters=counted(results.voters, "student", lang), code=results.code,
        crops=counted(results.n_crops, "crop", lang), state=state,
    )  # fmt: skip
    return ResultsView(
        chart=results_chart(results, lang),
        table=results_table(results, lang),
        summary=f"{summary}\n\n*{t('mos_note', lang)}*",
    )


def results_view(code: str, keys: Keys = None, lang: str = "en", request: Any = None) -> ResultsView:
    """Everything the teacher sees about a session's votes; for anyone else only once revealed."""
    if not normalise_code(code):
        raise ValueError(t("err_no_session", lang))
    session = guarded(lambda: get_store().session(code), code, lang, request)
    if not session.revealed:
        _teacher(code, keys, lang, request)
    return _results_view(get_store().results(session.code), lang)


def results_signature(code: str, lang: str = "en") -> tuple:
    """What the results look like, cheaply: the timer redraws the chart only when this changes."""
    if not normalise_code(code):
        return ()
    r = get_store().results(code)
    return (r.code, r.revealed, lang, r.votes, tuple((s.n, s.mean, s.sd) for s in r.stats.values()))


def reveal(code: str, keys: Keys, lang: str = "en", request: Any = None) -> ResultsView:
    """Unblind the methods (teacher only), and the results that show them."""
    session = _teacher(code, keys, lang, request)
    get_store().set_revealed(session.code, True)
    return _results_view(get_store().results(session.code), lang)


def reset_question(code: str, keys: Keys, lang: str = "en", request: Any = None) -> str:
    """What the confirmation asks before a reset: how many votes would go, and for how long it can be undone."""
    session = _teacher(code, keys, lang, request)
    n = get_store().results(session.code).votes
    return counted(n, "reset_ask", lang, code=session.code, minutes=UNDO_SECONDS // 60)


def reset(code: str, keys: Keys, lang: str = "en", request: Any = None) -> ResetView:
    """Delete the session's votes (teacher only; undoable for `UNDO_SECONDS`), hiding the methods again.

    Returns:
        The empty results, and the CSV file of the deleted votes (kept in the session's folder too).
    """
    session = _teacher(code, keys, lang, request)
    receipt = get_store().reset(session.code)
    view = _results_view(get_store().results(session.code), lang)
    done = counted(receipt.deleted, "reset_done", lang, minutes=UNDO_SECONDS // 60)
    return ResetView(view.chart, view.table, f"{done}\n\n{view.summary}", str(receipt.csv_path))


def undo_reset(code: str, keys: Keys, lang: str = "en", request: Any = None) -> ResultsView:
    """Bring back the votes of the last reset (teacher only, for `UNDO_SECONDS`)."""
    session = _teacher(code, keys, lang, request)
    n = guarded(lambda: get_store().undo_reset(session.code), code, lang, request)
    view = _results_view(get_store().results(session.code), lang)
    return view._replace(summary=f"{counted(n, 'undo_done', lang)}\n\n{view.summary}")


def export_votes(code: str, keys: Keys, lang: str = "en", request: Any = None) -> str:
    """The session's votes as a CSV file in a temp folder (which Gradio serves), named after the session."""
    session = _teacher(code, keys, lang, request)
    folder = Path(tempfile.mkdtemp(prefix="srgan-mos-"))
    path = folder / f"mos_{session.code}_{time.strftime('%Y%m%d-%H%M%S')}.csv"
    path.write_text(get_store().export_csv(session.code), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------------------------
# Student


def _show(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGB")
    return image.resize((image.width * SHOW_ZOOM, image.height * SHOW_ZOOM), Image.Resampling.NEAREST)


def crop_html(path: Path | None) -> str:
    """A crop as an <img> that fills its column, pixels kept sharp (the phone page: no re-encoding, ~10 KB)."""
    if path is None:
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    style = "width:100%;aspect-ratio:1/1;image-rendering:pixelated;display:block"
    return f"<img id='mos-phone-img' alt='' src='data:image/png;base64,{data}' style='{style}'>"


def next_crop_view(code: str, voter: str, lang: str = "en", note: str = "", *, show: Callable = _show) -> CropView:
    """The voter's next unrated crop (None and "" when all are rated), and their progress.

    Args:
        show: turns the crop's file into what is shown (the tab: an enlarged image; the phone page: HTML).
    """
    store = get_store()
    session = store.session(code)
    crop = store.next_crop(session.code, voter)
    done = len(store.rated(session.code, voter))
    prefix = f"{note}\n\n" if note else ""
    if crop is None:
        return CropView(None, "", prefix + t("mos_done", lang, code=session.code, total=session.n_crops))
    progress = t("mos_progress", lang, code=session.code, done=done, total=session.n_crops)
    return CropView(crop=show(crop.path), crop_id=crop.crop_id, progress=prefix + progress)


def join(code: str, voter: str, lang: str = "en", request: Any = None, *, show: Callable = _show) -> CropView:
    """A student joins a session: their first (or next) crop (an unknown code counts as a guess)."""
    if not normalise_code(code):
        raise ValueError(t("mos_join_first", lang))
    return guarded(lambda: next_crop_view(code, voter, lang, show=show), code, lang, request)


def vote(
    code: str, crop_id: str, score: int | None, voter: str, lang: str = "en", request: Any = None, *,
    show: Callable = _show,
) -> VoteView:  # fmt: skip
    """Record a rating and move on to the next crop (the rating is cleared for it)."""
    if not normalise_code(code) or not crop_id:
        raise ValueError(t("mos_join_first", lang))
    if score in (None, ""):
        raise ValueError(t("mos_pick_score", lang))
    recorded = guarded(lambda: get_store().vote(code, voter, crop_id, score), code, lang, request)
    note = "" if recorded else t("mos_again", lang, crop=crop_id)
    return VoteView(*next_crop_view(code, voter, lang, note, show=show), score=None)


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


# The teacher keyring's place in the browser's local storage. Gradio encrypts a BrowserState with a key it
# sends to the page, so that key protects nothing; it is fixed so that the keyring survives a server restart
# (a random one per start would leave the teacher unable to manage the session after a restart).
KEYRING_STORAGE = "srgan-mos-teacher-keys"
KEYRING_CIPHER = "srgan-mos-keyring-v1"


def _teacher_panel(ctx: TabContext) -> dict[str, Any]:
    """Open/resume a session, its code and join address for the projector, the live results, reveal, reset, export."""
    import gradio as gr

    w: dict[str, Any] = {"keys": gr.BrowserState({}, storage_key=KEYRING_STORAGE, secret=KEYRING_CIPHER)}
    with ctx.widget(gr.Accordion, "mos_teacher", open=False, elem_id="mos-teacher"), gr.Row():
        with gr.Column(scale=1, min_width=300):
            w["open"] = ctx.widget(gr.Button, "mos_open", variant="primary")
            w["code"] = ctx.widget(gr.Textbox, "mos_teacher_code", max_lines=1, elem_id="mos-teacher-code")
            w["resume"] = ctx.widget(gr.Button, "mos_resume")
            w["refresh"] = ctx.widget(gr.Button, "mos_refresh")
            w["reveal"] = ctx.widget(gr.Button, "mos_reveal")
            w["reset"] = ctx.widget(gr.Button, "mos_reset", variant="stop")
            with gr.Group(visible=False) as w["confirm"]:
                w["question"] = gr.Markdown(elem_id="mos-reset-question")
                with gr.Row():
                    w["reset_yes"] = ctx.widget(gr.Button, "mos_reset_yes", variant="stop", elem_id="mos-reset-yes")
                    w["reset_no"] = ctx.widget(gr.Button, "mos_reset_no")
            w["undo"] = ctx.widget(gr.Button, "mos_undo", visible=False, elem_id="mos-undo")
            w["export"] = ctx.widget(gr.Button, "mos_export")
            w["csv"] = ctx.widget(gr.File, "mos_csv", interactive=False, elem_id="mos-csv")
        with gr.Column(scale=3):
            ctx.widget(gr.Markdown, "mos_code_caption")
            w["code_html"] = gr.HTML(elem_id="mos-code")
            w["join_html"] = gr.HTML(elem_id="mos-join")
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


def with_request(fn: Callable) -> Callable:
    """`fn` for Gradio, which hands the gr.Request to a parameter annotated with the class itself.

    This module's annotations are strings (postponed evaluation) and gradio is not imported at its top, so
    a wrapper carries the annotation (`fn` itself is left as it is).
    """
    import gradio as gr

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    wrapper.__annotations__ = {"request": gr.Request}
    return wrapper


def _wire_student(ctx: TabContext, w: dict[str, Any]) -> None:
    """`/mos_join` (also on Enter in the code box) and `/mos_vote`."""
    from .common import output_list, user_errors

    @with_request
    def on_join(code, lang, request):
        return join(code, voter_id(getattr(request, "session_hash", None)), lang, request)

    @with_request
    def on_vote(code, crop_id, score, lang, request):
        return vote(code, crop_id, score, voter_id(getattr(request, "session_hash", None)), lang, request)

    # Votes are quick database writes: their own group, so a class voting at once never waits for a
    # network elsewhere in the app (the phone page's events share it).
    join_inputs, shown = [w["code"], ctx.lang], output_list(CropView, w)
    w["join"].click(user_errors(on_join), join_inputs, shown, api_name="mos_join", **VOTES)
    w["code"].submit(user_errors(on_join), join_inputs, shown, api_visibility="private", **VOTES)
    w["rate"].click(
        user_errors(on_vote),
        [w["code"], w["crop_id"], w["score"], ctx.lang],
        output_list(VoteView, w),
        api_name="mos_vote",
        **VOTES,
    )


VOTES = {"concurrency_id": "mos_vote", "concurrency_limit": 8}
TEACHER = {"concurrency_id": "mos_results", "concurrency_limit": 2}  # results draw a chart each


def _wire_teacher(ctx: TabContext, w: dict[str, Any]) -> None:
    """`/mos_open`, resume, the live timer, `/mos_results`, `/mos_reveal`, `/mos_export`; reset in `_wire_reset`."""
    import gradio as gr

    from .common import output_list, user_errors

    timer = gr.Timer(2.0, active=False)  # live results, started once a session is shown
    shown = gr.State(())  # the signature of the results on screen
    live_code = gr.State("")  # the session whose key was checked: set on the server only, the timer reads it
    code, keys, results = w["code"], w["keys"], output_list(ResultsView, w)

    def on_tick(session_code, keyring, lang, on_screen):
        try:  # the key was checked when the session was shown; checked again, quietly (no toast every 2 s)
            get_store().teacher_session(session_code, teacher_key(keyring, session_code))
            signature = results_signature(session_code, lang)
        except ValueError:
            signature = ()
        if not signature or signature == on_screen:  # nothing new: send nothing, the browser keeps its chart
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (*_results_view(get_store().results(session_code), lang), signature)

    @with_request
    def start_live(code, keyring, lang, request):
        session = _teacher(code, keyring, lang, request)
        view = _results_view(get_store().results(session.code), lang)
        return (*view, results_signature(session.code, lang), session.code, gr.Timer(active=True))

    live_fn, live_inputs = ctx.scaled(user_errors(start_live), [code, keys, ctx.lang])  # every chart: presenter-sized
    live = {
        "fn": live_fn,
        "inputs": live_inputs,
        "outputs": [*results, shown, live_code, timer],
        "api_visibility": "private",
        **TEACHER,
    }
    session = output_list(SessionView, w)
    opened = w["open"].click(
        user_errors(with_request(open_session)), [keys, ctx.lang], session, api_name="mos_open",
        concurrency_id="mos_open", concurrency_limit=1,
    )  # fmt: skip
    opened.success(**live)
    gr.on(
        [w["resume"].click, code.submit],
        user_errors(with_request(resume_session)),
        [code, keys, ctx.lang],
        session,
        api_visibility="private",
        **TEACHER,
    ).success(**live)
    teacher_inputs = [code, keys, ctx.lang]
    w["refresh"].click(
        *ctx.scaled(user_errors(with_request(results_view)), teacher_inputs), results, api_name="mos_results",
        **TEACHER,
    )  # fmt: skip
    timer.tick(
        *ctx.scaled(on_tick, [live_code, keys, ctx.lang, shown]), [*results, shown], api_visibility="private",
        show_progress="hidden", **TEACHER,
    )  # fmt: skip
    w["reveal"].click(
        *ctx.scaled(user_errors(with_request(reveal)), teacher_inputs), results, api_name="mos_reveal", **TEACHER
    )
    w["export"].click(
        user_errors(with_request(export_votes)), teacher_inputs, w["csv"], api_name="mos_export", **TEACHER
    )
    _wire_reset(ctx, w, teacher_inputs)


def _wire_reset(ctx: TabContext, w: dict[str, Any], teacher_inputs: list[Any]) -> None:
    """Reset asks first (a question and two buttons, in the page), then `/mos_reset`; `/mos_undo_reset` after."""
    import gradio as gr

    from .common import output_list, user_errors

    @with_request
    def ask(code, keys, lang, request):
        return gr.Group(visible=True), reset_question(code, keys, lang, request)

    def hide():
        return gr.Group(visible=False)

    w["reset"].click(
        user_errors(ask), teacher_inputs, [w["confirm"], w["question"]], api_visibility="private", **TEACHER
    )
    w["reset_no"].click(hide, None, w["confirm"], api_visibility="private", queue=False)
    done = w["reset_yes"].click(
        *ctx.scaled(user_errors(with_request(reset)), teacher_inputs), output_list(ResetView, w),
        api_name="mos_reset", **TEACHER,
    )  # fmt: skip
    done.then(lambda: (gr.Group(visible=False), gr.Button(visible=True)), None, [w["confirm"], w["undo"]],
              api_visibility="private", queue=False)  # fmt: skip
    undone = w["undo"].click(
        *ctx.scaled(user_errors(with_request(undo_reset)), teacher_inputs), output_list(ResultsView, w),
        api_name="mos_undo_reset", **TEACHER,
    )  # fmt: skip
    undone.success(lambda: gr.Button(visible=False), None, w["undo"], api_visibility="private", queue=False)
