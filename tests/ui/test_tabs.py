"""The tab modules' contract (the `Tab` protocol) and their English/Spanish tables, checked statically and built."""

from __future__ import annotations

import ast
import string
import types
import typing
from pathlib import Path

import pytest

import ui
from ui import app  # ui/app.py: the tabs and build_app (the top-level app.py only launches it)
from ui.context import Tab, TabContext
from ui.i18n import Strings

UI = Path(ui.__file__).resolve().parent


def ui_modules() -> dict[str, types.ModuleType]:
    import importlib

    return {p.stem: importlib.import_module(f"ui.{p.stem}") for p in sorted(UI.glob("*.py")) if p.stem != "__init__"}


def tables() -> dict[str, Strings]:
    """Every module's STRINGS (the tabs', components' and app.py's)."""
    found = {name: m.STRINGS for name, m in ui_modules().items() if hasattr(m, "STRINGS")}
    return {**found, "app": app.STRINGS}


@pytest.mark.parametrize("module", app.TABS, ids=lambda m: m.__name__)
def test_every_tab_follows_the_protocol(module):
    assert isinstance(module, Tab)
    assert isinstance(module.STRINGS, Strings) and module.KEY in module.STRINGS  # the tab's title
    hints = typing.get_type_hints(module.build)
    assert hints == {"ctx": TabContext, "return": type(None)}


def test_every_module_with_a_build_is_a_tab_of_the_app():
    with_build = {name for name, m in ui_modules().items() if callable(getattr(m, "build", None))}
    assert with_build == {m.__name__.removeprefix("ui.") for m in app.TABS}
    keys = [m.KEY for m in app.TABS]
    assert len(set(keys)) == len(keys)


def test_english_and_spanish_take_the_same_placeholders():
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

    for module, table in tables().items():
        for key, (en, es) in table.items():
            assert fields(en) == fields(es), f"{module}.{key}: {fields(en)} in English, {fields(es)} in Spanish"


def test_strings_reject_a_missing_translation():
    with pytest.raises(ValueError, match="empty"):
        Strings({"k": ("Text", " ")})
    with pytest.raises(ValueError, match="pair"):
        Strings({"k": ("only English",)})
    table = Strings({"k": ("{n} runs", "{n} ejecuciones")})
    assert table.t("k", "es", n=2) == "2 ejecuciones" and table.t("k", n=1) == "1 runs"
    with pytest.raises(KeyError):
        table.t("missing")
    with pytest.raises(KeyError):
        table.producer("missing")


def _literal_lookups(path: Path) -> list[tuple[str | None, str, int]]:
    """(module named before `.STRINGS.t`, or None for the module's own table; key; line) of every literal key.

    Counts `t("key", ...)`, `<module>.STRINGS.t("key", ...)`, `ctx.widget(cls, "key", ...)`,
    `ctx.relabel(widget, "key", ...)`, `ctx.text("key")` and `STRINGS.producer("key")`.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f, args = node.func, node.args
        if isinstance(f, ast.Name) and f.id == "t":
            owner, arg = None, args[0] if args else None
        elif isinstance(f, ast.Attribute) and f.attr in ("t", "producer") and isinstance(f.value, ast.Attribute):
            owner = f.value.value.id if isinstance(f.value.value, ast.Name) else None
            arg = args[0] if args else None
        elif isinstance(f, ast.Attribute) and f.attr in ("t", "producer") and isinstance(f.value, ast.Name):
            owner, arg = None, args[0] if args else None
        elif isinstance(f, ast.Attribute) and f.attr in ("widget", "relabel") and len(args) >= 2:
            owner, arg = None, args[1]
        elif isinstance(f, ast.Attribute) and f.attr == "text" and args:
            owner, arg = None, args[0]
        else:
            continue
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append((owner, arg.value, node.lineno))
    return found


def test_every_literal_key_is_in_the_table_it_is_looked_up_in():
    """A key of another module is only found there: the lookup must name that module (`compare.STRINGS.t`)."""
    all_tables = tables()
    sources = {name: UI / f"{name}.py" for name in all_tables if name != "app"}
    sources["app"] = Path(app.__file__)
    missing = []
    for module, path in sources.items():
        for owner, key, line in _literal_lookups(path):
            table = all_tables[owner or module]
            if key not in table:
                missing.append(f"{path.name}:{line} {key!r} not in {owner or module}.STRINGS")
    assert not missing, "\n".join(missing)


def test_the_app_builds_and_every_label_has_both_languages():
    import gradio as gr

    demo = app.build_app()
    buttons = {b.value for b in demo.blocks.values() if isinstance(b, gr.Button)}
    assert {"Upscale x4", "Join", "Start fine-tuning"} <= buttons
    lang_change = next(d for d in demo.fns.values() if d.name == "updates")
    spanish = lang_change.fn("es")
    assert len(spanish) == len(lang_change.outputs) > 100
    labels = {u.get("label") for u in spanish} | {u.get("value") for u in spanish}
    assert {"Ampliar x4", "Unirse", "Empezar el ajuste", "Comparar", "Idioma", "Tu imagen"} <= labels


def test_no_two_always_last_events_share_a_trigger():
    """Two "always_last" events (Gradio's default for `.change`) on one trigger re-fire each other as each ends:
    the Realism dial's first opening sent 40 requests and kept its spinners up to 113 s. What redraws two panels
    is one event and a `.then`."""
    demo = app.build_app()
    seen: dict[tuple, str] = {}
    clashes = []
    for fn in demo.fns.values():
        if fn.trigger_mode != "always_last" or fn.fn is None:  # (js-only events never reach the server)
            continue
        for block_id, event in fn.targets:
            if (block_id, event) in seen:
                clashes.append((event, seen[(block_id, event)], fn.name))
            seen[(block_id, event)] = fn.name
    assert seen and not clashes, clashes
