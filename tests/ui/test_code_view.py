"""Issue #18: a lesson's link to the code opens the file at the function or class its label names."""

import pytest

from ui import code_view
from ui.code_view import code_page, code_url, source_path, symbol_lines
from ui.lessons import LESSONS, lesson_markdown

SOURCE = '''"""A module."""

LIMIT: int = 3
NAMES = ("a", "b")


@decorated
def first(x):
    return x


class Box:
    size = 2

    def open(self):
        return 1
'''


def test_symbol_lines_finds_functions_classes_constants_and_methods():
    assert symbol_lines(SOURCE, "first") == (7, 9)  # from its decorator to its last line
    assert symbol_lines(SOURCE, "Box") == (12, 16)
    assert symbol_lines(SOURCE, "LIMIT") == (3, 3)
    assert symbol_lines(SOURCE, "NAMES") == (4, 4)
    assert symbol_lines(SOURCE, "Box.open") == (15, 16)
    assert symbol_lines(SOURCE, "missing") is None
    assert symbol_lines(SOURCE, "first.x") is None


def test_symbol_lines_of_the_real_package():
    source = source_path("srgan/losses.py").read_text(encoding="utf-8")
    first, _ = symbol_lines(source, "mse_content_loss")
    assert source.splitlines()[first - 1].startswith("def mse_content_loss")


@pytest.mark.parametrize(
    "file",
    ["../../etc/passwd", "srgan/../../etc/passwd", "/etc/passwd", "ui/app.py", "srgan/missing.py", "srgan//x.py", ""],
)
def test_only_files_of_the_package_are_served(file):
    with pytest.raises(LookupError):
        source_path(file)


def test_the_page_highlights_the_symbol_and_scrolls_to_it():
    url = code_url("srgan/losses.py", "mse_content_loss")
    line = int(url.rsplit("#L", 1)[1])
    assert url.startswith("/code?file=srgan/losses.py&symbol=mse_content_loss#L")
    page = code_page("srgan/losses.py", "mse_content_loss")
    assert f'<div class="line hl" id="L{line}">' in page
    assert f'<div class="line" id="L{line - 1}">' in page  # the line before is not highlighted
    assert f"location.replace('#L{line}')" in page
    assert '<span class="k">def</span>' in page  # pygments colours it (a Gradio dependency)


def test_the_page_without_pygments_is_plain_escaped_text(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pygments(name, *args, **kwargs):
        if name.startswith("pygments"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pygments)
    page = code_page("srgan/losses.py", "mse_content_loss")
    assert "def mse_content_loss" in page and 'class="k"' not in page


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_lesson_link_to_the_code_opens_the_code_page_in_a_new_tab(lang):
    for name in LESSONS:
        text = lesson_markdown(name, lang)
        assert "](../" not in text and "/gradio_api/file=" not in text
        for chunk in text.split('<a href="')[1:]:
            href, rest = chunk.split('"', 1)
            assert href.startswith(code_view.PATH + "?file=srgan/")
            assert rest.startswith(' target="_blank"')
            if "&amp;symbol=" in href:
                assert "#L" in href, (name, href)  # every symbol a label names is found
