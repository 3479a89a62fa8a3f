"""The lessons in `lessons/{en,es}/`: shown beside each tab, and all together in the Lessons tab."""

from __future__ import annotations

import html
import re

from srgan.resources import lessons_dir

from .code_view import code_url
from .context import TabContext
from .i18n import Strings

LESSONS_DIR = lessons_dir()
LESSONS = (
    "01_srgan_fig3",
    "02_generator_discriminator",
    "03_content_loss_psnr",
    "04_vgg_loss",
    "05_adversarial_loss",
    "06_perceptual_loss",
    "07_pixel_shuffle",
    "08_prelu",
    "09_perception_distortion",
    "10_architecture",
)
# $$...$$ for display formulas, $...$ inline (KaTeX in the browser).
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]

KEY = "tab_lessons"
STRINGS = Strings({
    "tab_lessons": ("Lessons", "Lecciones"),
    "lesson_pick": ("Lesson", "Lección"),
    "lesson_beside": ("Lesson: {title}", "Lección: {title}"),
})  # fmt: skip
t = STRINGS.t

# [`srgan/losses.py` — `mse_content_loss`](../../srgan/losses.py): the label names the symbol the page shows.
_LINK = re.compile(r"\[([^\]]*)\]\((?:\.\./)+(srgan/[\w/]+\.py)[^)]*\)")
_LABEL_SYMBOL = re.compile(r"`\s*[—-]\s*`([A-Za-z_][\w.]*)`")
# Links to the app's own modules (ui/...): not served by the app, so shown as plain text there.
_UI_LINK = re.compile(r"\[([^\]]*)\]\((?:\.\./)+ui/[\w/]+\.py[^)]*\)")


def lesson_markdown(name: str, lang: str = "en") -> str:
    """A lesson's Markdown in `lang`, with its links to the code made clickable from the app."""
    if name not in LESSONS:
        raise ValueError(f"unknown lesson {name!r}")
    text = (LESSONS_DIR / ("es" if lang == "es" else "en") / f"{name}.md").read_text(encoding="utf-8")
    text = _UI_LINK.sub(lambda m: m.group(1), text)
    return _LINK.sub(_code_link, text)


def _code_link(m: re.Match) -> str:
    """A lesson's link to srgan/x.py -> the app's code page at the symbol of its label, in a new tab.

    An HTML link with an absolute address and target=_blank: Gradio's Markdown handles a relative
    Markdown link itself (the first click did nothing, issue #18), not this one.
    """
    label, file = m.group(1), m.group(2)
    symbol = _LABEL_SYMBOL.search(label)
    url = html.escape(code_url(file, symbol.group(1) if symbol else None))
    return f'<a href="{url}" target="_blank" rel="noopener">{label}</a>'


def lesson_title(name: str, lang: str = "en") -> str:
    """The first heading of a lesson."""
    for line in lesson_markdown(name, lang).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return name


def lesson_panel(ctx: TabContext, name: str):
    """An accordion with one lesson, placed beside a tab's widgets; it follows the language switch."""
    import gradio as gr

    lang = ctx.default_lang
    with gr.Accordion(t("lesson_beside", lang, title=lesson_title(name, lang)), open=False) as acc:
        md = gr.Markdown(lesson_markdown(name, lang), latex_delimiters=LATEX_DELIMITERS)
    ctx.tr.add(acc, lambda lg: t("lesson_beside", lg, title=lesson_title(name, lg)))
    ctx.tr.add(md, lambda lg: lesson_markdown(name, lg), "value")
    return acc


def lesson_choices(lang: str = "en") -> list[tuple[str, str]]:
    return [(lesson_title(n, lang), n) for n in LESSONS]


def build(ctx: TabContext) -> None:
    """The Lessons tab: every lesson, one at a time."""
    import gradio as gr

    ctx = ctx.with_strings(STRINGS)
    pick = ctx.widget(gr.Dropdown, "lesson_pick", choices=lesson_choices(ctx.default_lang), value=LESSONS[0])
    md = gr.Markdown(lesson_markdown(LESSONS[0], ctx.default_lang), latex_delimiters=LATEX_DELIMITERS)
    ctx.relabel(pick, lesson_choices, "choices")
    pick.change(lesson_markdown, [pick, ctx.lang], md, api_name="lesson")
    ctx.shown_language().change(lesson_markdown, [pick, ctx.lang], md, api_visibility="private")
