"""Spanish and English for the whole interface.

Each tab module declares its strings once, `STRINGS = {"key": ("English", "Español")}`, and calls
`register(STRINGS)`. Handlers take a `lang` argument ("en" or "es") and call `t(key, lang)` for every
text they return (messages, table headers, plot titles), so the language switch reaches them too.

Labels of widgets already on the page are changed by `Relabel`: each tab records which widget
shows which string, and the language radio updates them all at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LANGS = ("en", "es")
LANG_CHOICES = [("English", "en"), ("Español", "es")]
_STRINGS: dict[str, tuple[str, str]] = {}


def register(strings: dict[str, tuple[str, str]]) -> None:
    """Add a module's strings; a key may only be defined once."""
    clash = set(strings) & set(_STRINGS)
    if clash and any(_STRINGS[k] != strings[k] for k in clash):
        raise KeyError(f"i18n keys defined twice: {sorted(clash)}")
    _STRINGS.update(strings)


def t(key: str, lang: str = "en", **fmt: Any) -> str:
    """The string `key` in `lang` ("en"/"es"), formatted with `fmt`. Unknown keys raise KeyError."""
    en, es = _STRINGS[key]
    text = es if lang == "es" else en
    return text.format(**fmt) if fmt else text


def normalise_lang(lang: str | None) -> str:
    """"es", "ES", "es-MX", "Español" -> "es"; anything else -> "en"."""
    return "es" if str(lang or "").lower().startswith(("es", "españ")) else "en"


class Relabel:
    """Remembers (widget, property, text) so one event can switch the whole page's language."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, str, Callable[[str], Any]]] = []

    def add(self, component: Any, key: str | Callable[[str], Any], prop: str = "label") -> Any:
        """Translate `component.prop` with `t(key, lang)` (or `key(lang)` when it is a function)."""
        producer = key if callable(key) else (lambda lang, k=key: t(k, lang))
        self.items.append((component, prop, producer))
        return component

    @property
    def components(self) -> list[Any]:
        return [c for c, _, _ in self.items]

    def updates(self, lang: str) -> list[Any]:
        import gradio as gr

        return [gr.update(**{prop: producer(lang)}) for _, prop, producer in self.items]
