"""The teaching lessons (lessons/en, lessons/es): present in both languages, well-formed, linked to real code.

Pure text checks: no network, no torch, no app. A lesson links to the code that implements it with a
relative link such as [`srgan/losses.py` — `mse_content_loss`](../../srgan/losses.py); every such target
must exist, and a symbol named in the label must be defined in the target file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = ROOT / "lessons"
LANGS = ("en", "es")
NAMES = (
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
SECTIONS = {
    "en": ("## Try it in the app", "## In the code"),
    "es": ("## Pruébalo en la app", "## En el código"),
}
TABS = {
    "en": ("Compare", "PixelShuffle", "PReLU", "Feature maps", "Loss lab", "Realism dial", "Architecture"),
    "es": ("Comparar", "PixelShuffle", "PReLU", "Mapas de activación", "Laboratorio de pérdidas", "Dial de realismo", "Arquitectura"),
}
MIN_WORDS, MAX_WORDS = 250, 600  # prose only: code blocks and display formulas are not counted

LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
# A code link's label: `srgan/file.py` — `symbol` (the symbol part is optional).
LABEL_SYMBOL = re.compile(r"^`[^`]+`\s*[—-]\s*`([A-Za-z_][A-Za-z0-9_]*)`$")
CODE_FENCE = re.compile(r"```.*?```", re.S)
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)


def lesson_path(lang: str, name: str) -> Path:
    return LESSONS_DIR / lang / f"{name}.md"


def read(lang: str, name: str) -> str:
    path = lesson_path(lang, name)
    if not path.is_file():
        pytest.fail(f"missing lesson {path.relative_to(ROOT)}")
    return path.read_text(encoding="utf-8")


def prose(text: str) -> str:
    """The text without fenced code blocks and display formulas."""
    return DISPLAY_MATH.sub(" ", CODE_FENCE.sub(" ", text))


def local_links(text: str) -> list[tuple[str, str]]:
    """(label, target) of every relative link outside code blocks, fragment removed."""
    out = []
    for label, target in LINK.findall(CODE_FENCE.sub(" ", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http(s):, mailto:, in-page anchors
        out.append((label, target.split("#", 1)[0]))
    return out


def code_refs(lang: str, name: str) -> set[tuple[str, str | None]]:
    """(target, symbol) pairs of the lesson's code links."""
    refs = set()
    for label, target in local_links(read(lang, name)):
        m = LABEL_SYMBOL.match(label.strip())
        refs.add((target, m.group(1) if m else None))
    return refs


def _all_links() -> list[tuple[str, str, str, str]]:
    links = []
    for lang in LANGS:
        for name in NAMES:
            path = lesson_path(lang, name)
            if path.is_file():
                links += [(lang, name, label, target) for label, target in local_links(path.read_text("utf-8"))]
    return links


ALL_LINKS = _all_links()
LESSON_IDS = [(lang, name) for lang in LANGS for name in NAMES]


@pytest.mark.parametrize("name", NAMES)
def test_lesson_exists_in_both_languages(name: str) -> None:
    missing = [
        str(lesson_path(lang, name).relative_to(ROOT)) for lang in LANGS if not lesson_path(lang, name).is_file()
    ]
    assert not missing, f"missing: {', '.join(missing)}"


def test_both_languages_have_the_same_lessons() -> None:
    files = {lang: {p.name for p in (LESSONS_DIR / lang).glob("*.md")} for lang in LANGS}
    assert files["en"] == files["es"], (
        f"only in en: {files['en'] - files['es']}; only in es: {files['es'] - files['en']}"
    )


@pytest.mark.parametrize(("lang", "name"), LESSON_IDS)
def test_title_line(lang: str, name: str) -> None:
    lines = [line for line in read(lang, name).splitlines() if line.strip()]
    assert lines and re.match(r"^# \S", lines[0]), "the first line must be the title: '# ...'"
    titles = [line for line in prose(read(lang, name)).splitlines() if line.startswith("# ")]
    assert len(titles) == 1, f"exactly one '# ' title expected, found {titles}"


@pytest.mark.parametrize(("lang", "name"), LESSON_IDS)
def test_formulas(lang: str, name: str) -> None:
    text = CODE_FENCE.sub(" ", read(lang, name))
    assert text.count("$$") >= 2, "at least one display formula $$...$$"
    assert text.count("$$") % 2 == 0, "unbalanced $$"
    for paragraph in DISPLAY_MATH.sub(" ", text).split("\n\n"):
        without_code = re.sub(r"`[^`]*`", " ", paragraph)
        assert without_code.count("$") % 2 == 0, f"unbalanced inline $ in: {paragraph[:80]!r}"


@pytest.mark.parametrize(("lang", "name"), LESSON_IDS)
def test_sections_and_tabs(lang: str, name: str) -> None:
    text = read(lang, name)
    try_heading, code_heading = SECTIONS[lang]
    for heading in (try_heading, code_heading):
        assert re.search(rf"^{re.escape(heading)}\s*$", text, re.M), f"missing section {heading!r}"
    try_section = text.split(try_heading, 1)[1].split("\n## ", 1)[0]
    assert any(tab in try_section for tab in TABS[lang]), f"the {try_heading!r} section names no tab of {TABS[lang]}"
    code_section = text.split(code_heading, 1)[1].split("\n## ", 1)[0]
    assert "../../srgan/" in code_section, f"the {code_heading!r} section links to no code"


@pytest.mark.parametrize(("lang", "name"), LESSON_IDS)
def test_length(lang: str, name: str) -> None:
    words = len(prose(read(lang, name)).split())
    assert MIN_WORDS <= words <= MAX_WORDS, f"{words} words of prose, expected {MIN_WORDS}–{MAX_WORDS}"


def _link_id(lang: str, name: str, label: str, target: str) -> str:
    m = LABEL_SYMBOL.match(label.strip())
    return f"{lang}-{name[:2]}-{Path(target).name}" + (f"-{m.group(1)}" if m else "")


@pytest.mark.parametrize(("lang", "name", "label", "target"), ALL_LINKS, ids=[_link_id(*link) for link in ALL_LINKS])
def test_relative_link_target_exists(lang: str, name: str, label: str, target: str) -> None:
    resolved = (lesson_path(lang, name).parent / target).resolve()
    assert resolved.is_relative_to(ROOT), f"{target} points outside the repository"
    assert resolved.exists(), f"{lang}/{name}.md links to {target}, which does not exist (yet?)"
    m = LABEL_SYMBOL.match(label.strip())
    if m and resolved.suffix == ".py":
        symbol = m.group(1)
        source = resolved.read_text(encoding="utf-8")
        defined = rf"^\s*(?:async\s+def|def|class)\s+{symbol}\b|^{symbol}\s*(?::[^=\n]*)?="
        assert re.search(defined, source, re.M), f"{target} does not define {symbol!r}"


def test_some_links_were_found() -> None:
    assert len(ALL_LINKS) >= 2 * len(NAMES), "the link pattern found almost no links: is LINK still right?"


@pytest.mark.parametrize("name", NAMES)
def test_both_languages_link_the_same_code(name: str) -> None:
    en, es = code_refs("en", name), code_refs("es", name)
    en_files, es_files = {t for t, _ in en}, {t for t, _ in es}
    assert en_files == es_files, f"code files only in en: {en_files - es_files}; only in es: {es_files - en_files}"
    assert en == es, f"code symbols only in en: {en - es}; only in es: {es - en}"
