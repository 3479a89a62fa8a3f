"""The lessons in `lessons/{en,es}/`: shown beside each tab, and all together in the Lessons tab."""

from __future__ import annotations

import re
from pathlib import Path

import srgan
from srgan.resources import lessons_dir

from .context import TabContext
from .i18n import Strings

SOURCE_ROOT = Path(srgan.__file__).resolve().parent.parent  # holds srgan/: the checkout, or site-packages
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

_LINK = re.compile(r"\]\((?:\.\./)+(srgan/[\w/]+\.py)([^)]*)\)")
# Links to the app's own modules (ui/...): not served by the app, so shown as plain text there.
_UI_LINK = re.compile(r"\[([^\]]*)\]\((?:\.\./)+ui/[\w/]+\.py[^)]*\)")


def lesson_markdown(name: str, lang: str = "en") -> str:
    """A lesson's Markdown in `lang`, with its links to the code made clickable from the app."""
    if name not in LESSONS:
        raise ValueError(f"unknown lesson {name!r}")
    text = (LESSONS_DIR / ("es" if lang == "es" else "en") / f"{name}.md").read_text(encoding="utf-8")
    # ../../srgan/losses.py -> the app serves the package's source read-only (see app.py allowed_paths).
    text = _UI_LINK.sub(lambda m: m.group(1), text)
    return _LINK.sub(lambda m: f"](/gradio_api/file={SOURCE_ROOT / m.group(1)})", text)


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
