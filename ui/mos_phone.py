"""The students' MOS page, `<server>/mos?code=ABCD`: made for a phone held upright.

Nothing but the session code (filled in from the address the teacher's QR code holds, and joined at
once), the blind crop filling the phone's width, the five rating buttons under it and one line of
progress: at 390 x 844 CSS pixels (an iPhone 12-15) all of it is on screen without scrolling. One tap on a
rating records it and shows the next crop. The page speaks Spanish or English as ?lang= says, else as the
browser's Accept-Language does.

It is a page of its own in the app's Blocks (`gr.Blocks.route`, not shown in a navigation bar): a phone
loads none of the tabs. Its events share the tab's handlers (`ui.mos.join`, `ui.mos.vote`), so the rules
are the same: one vote per crop per browser session, unknown codes counted by `ui.mos.LIMITER`. They are
private (`/mos_join` and `/mos_vote` are the API).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from srgan.classroom.mos import normalise_code

from . import mos
from .context import AppSettings, TabContext
from .i18n import Relabel, Strings, normalise_lang

PATH = mos.PHONE_PATH
STRINGS = Strings({
    "ph_title": ("**MOS test**: rate each crop from 1 (bad) to 5 (excellent).",
                 "**Test MOS**: puntúa cada recorte de 1 (mala) a 5 (excelente)."),
    "ph_code": ("Session code", "Código de la sesión"),
    "ph_join": ("Join", "Unirse"),
    "ph_score_1": ("1\nbad", "1\nmala"),
    "ph_score_2": ("2\npoor", "2\npobre"),
    "ph_score_3": ("3\nfair", "3\nvale"),
    "ph_score_4": ("4\ngood", "4\nbuena"),
    "ph_score_5": ("5\nexcellent", "5\nexcelente"),
})  # fmt: skip
t = STRINGS.t

# The page's own layout (Gradio's widgets keep theirs): a narrow column, the crop edge to edge, five
# buttons on one row whatever the width, the number large and the word under it.
CSS = """
.gradio-container { padding: 8px 10px !important; }
.gradio-container .main.app { padding: 4px 0 !important; }
#mos-phone { max-width: 560px; margin: 0 auto; gap: 8px; }
#mos-phone-join { flex-wrap: nowrap !important; gap: 8px; align-items: stretch; }
#mos-phone-join > * { min-width: 0 !important; }
#mos-phone-scores { flex-wrap: nowrap !important; gap: 6px; }
#mos-phone-scores > * { min-width: 0 !important; flex: 1 1 0 !important; }
#mos-phone-scores button { white-space: pre-line; line-height: 1.15; padding: 10px 1px; font-size: 13px; }
#mos-phone-scores button::first-line { font-size: 22px; font-weight: 700; }
#mos-phone-crop, #mos-phone-crop > * { padding: 0 !important; margin: 0 !important; }
#mos-phone-progress p { margin: 0; font-size: 14px; }
"""


class PhoneView(NamedTuple):
    """What the phone shows after joining or rating: the crop, its id (server-side), progress, the buttons."""

    crop: str  # the crop as HTML ("" when all are rated)
    crop_id: str
    progress: str
    scores: Any  # gr.Row(visible=...): the rating buttons, hidden once every crop is rated


def page_lang(request: Any, default: str = "en") -> str:
    """The page's language: ?lang= first, then the browser's first Accept-Language, then `default`."""
    query = getattr(request, "query_params", None) or {}
    if query.get("lang"):
        return normalise_lang(query["lang"])
    accepted = (getattr(request, "headers", None) or {}).get("accept-language", "")
    first = accepted.split(",")[0].split(";")[0].strip()
    return normalise_lang(first) if first else normalise_lang(default)


def _view(view: mos.CropView | mos.VoteView) -> PhoneView:
    import gradio as gr

    return PhoneView(view.crop or "", view.crop_id, view.progress, gr.Row(visible=bool(view.crop_id)))


def on_join(code: str, lang: str, request: Any) -> PhoneView:
    """Join (or rejoin) the session: the voter's next crop."""
    voter = mos.voter_id(getattr(request, "session_hash", None))
    return _view(mos.join(code, voter, lang, request, show=mos.crop_html))


def on_vote(code: str, crop_id: str, lang: str, request: Any, *, score: int) -> PhoneView:
    """Record one tap's rating and show the next crop."""
    voter = mos.voter_id(getattr(request, "session_hash", None))
    return _view(mos.vote(code, crop_id, score, voter, lang, request, show=mos.crop_html))


def build_page(demo: Any, settings: AppSettings) -> None:
    """Add the /mos page to the app's Blocks (call it after the main page's `with gr.Blocks()` block).

    Args:
        demo: the app's gr.Blocks.
        settings: the app's settings (the default language).
    """
    import gradio as gr

    with demo:  # the main page: a route gives every page a navigation bar ("Home"), which the app has no use for
        gr.Navbar(visible=False)
    with demo.route("MOS", f"/{PATH}", show_in_navbar=False):
        gr.Navbar(visible=False)
        lang = gr.State(settings.default_lang)
        ctx = TabContext(lang=lang, tr=Relabel(), settings=settings, strings=STRINGS)
        w: dict[str, Any] = {"crop_id": gr.State("")}
        with gr.Column(elem_id="mos-phone"):
            gr.HTML(f"<style>{CSS}</style>", padding=False)
            ctx.widget(gr.Markdown, "ph_title")
            with gr.Row(elem_id="mos-phone-join", equal_height=True):
                w["code"] = ctx.widget(
                    gr.Textbox, "ph_code", prop="placeholder", show_label=False, max_lines=1, scale=3,
                    min_width=0, elem_id="mos-phone-code",
                )  # fmt: skip
                w["join"] = ctx.widget(gr.Button, "ph_join", variant="primary", scale=1, min_width=0)
            w["crop"] = gr.HTML(elem_id="mos-phone-crop", padding=False)
            with gr.Row(elem_id="mos-phone-scores", visible=False) as w["scores"]:
                buttons = [
                    ctx.widget(gr.Button, f"ph_score_{s}", min_width=0, elem_id=f"mos-phone-{s}") for s in range(1, 6)
                ]
            w["progress"] = gr.Markdown(elem_id="mos-phone-progress")
        _wire(demo, ctx, w, buttons)


def _wire(demo: Any, ctx: TabContext, w: dict[str, Any], buttons: list[Any]) -> None:
    """Load (language, code from the address, relabel, join), Join, and one event per rating button."""
    import gradio as gr

    from .common import output_list, user_errors

    shown = output_list(PhoneView, w)

    @mos.with_request
    def from_address(request):
        return page_lang(request, ctx.default_lang), normalise_code(
            getattr(request, "query_params", {}).get("code", "")
        )

    @mos.with_request
    def auto_join(code, lang, request):
        return on_join(code, lang, request) if normalise_code(code) else tuple(gr.skip() for _ in shown)

    loaded = demo.load(from_address, None, [ctx.lang, w["code"]], api_visibility="private", queue=False)
    loaded = loaded.then(ctx.tr.updates, ctx.lang, ctx.tr.components, api_visibility="private", queue=False)
    loaded.then(user_errors(auto_join), [w["code"], ctx.lang], shown, api_visibility="private", **mos.VOTES)
    joined = {"fn": user_errors(mos.with_request(on_join)), "api_visibility": "private", **mos.VOTES}
    gr.on([w["join"].click, w["code"].submit], inputs=[w["code"], ctx.lang], outputs=shown, **joined)
    for score, button in enumerate(buttons, start=1):
        button.click(
            user_errors(mos.with_request(_rating(score))), [w["code"], w["crop_id"], ctx.lang], shown,
            api_visibility="private", **mos.VOTES,
        )  # fmt: skip


def _rating(score: int) -> Any:
    """The handler of one rating button (Gradio reads its parameters: no functools.partial)."""

    def rate(code: str, crop_id: str, lang: str, request: Any) -> PhoneView:
        return on_vote(code, crop_id, lang, request, score=score)

    return rate
