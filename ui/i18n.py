"""Spanish and English for the whole interface.

Each module keeps its own strings in one table, `STRINGS = Strings({"key": ("English", "Español")})`, and
looks them up with `t = STRINGS.t`. There is no global registry: a key of another module is looked up in
that module's table, by name (`compare.STRINGS.t("cmp_too_small", lang)`), so where a string lives is where
it is defined. Handlers take a `lang` argument ("en" or "es") and call `t(key, lang)` for every text they
return (messages, table headers, plot titles), so the language switch reaches them too.

Labels of widgets already on the page are changed by `Relabel`: each tab records which widget shows which
string (`TabContext.widget` makes a widget and records its label in one call), and the language radio
updates them all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

LANGS = ("en", "es")
LANG_CHOICES = [("English", "en"), ("Español", "es")]


class Strings(Mapping[str, tuple[str, str]]):
    """One module's strings: {key: (English, Español)}, both non-empty."""

    def __init__(self, table: Mapping[str, tuple[str, str]]) -> None:
        for key, pair in table.items():
            if not (isinstance(pair, tuple) and len(pair) == len(LANGS) and all(isinstance(s, str) for s in pair)):
                raise ValueError(f"i18n key {key!r} needs an (English, Español) pair of strings")
            if not all(s.strip() for s in pair):
                raise ValueError(f"i18n key {key!r} has an empty translation")
        self._table = dict(table)

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self._table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def t(self, key: str, lang: str = "en", **fmt: Any) -> str:
        """The string `key` in `lang` ("en"/"es"), formatted with `fmt`. Unknown keys raise KeyError."""
        en, es = self._table[key]
        text = es if lang == "es" else en
        return text.format(**fmt) if fmt else text

    def producer(self, key: str, **fmt: Any) -> Callable[[str], str]:
        """`lang -> t(key, lang, **fmt)`, for `Relabel.add` (the KeyError of an unknown key comes now)."""
        if key not in self._table:  # fail when the page is built, not at the first language switch
            raise KeyError(key)
        return lambda lang: self.t(key, lang, **fmt)


def normalise_lang(lang: str | None) -> str:
    """ "es", "ES", "es-MX", "Español" -> "es"; anything else -> "en"."""
    return "es" if str(lang or "").lower().startswith(("es", "españ")) else "en"


class Relabel:
    """Remembers (widget, property, text) so one event can switch the whole page's language."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, str, Callable[[str], Any]]] = []

    def add(self, component: Any, producer: Callable[[str], Any], prop: str = "label") -> Any:
        """Set `component.prop` to `producer(lang)` at every language switch (`Strings.producer` makes one)."""
        if not callable(producer):
            raise TypeError("Relabel.add takes a function of the language (e.g. STRINGS.producer(key))")
        self.items.append((component, prop, producer))
        return component

    @property
    def components(self) -> list[Any]:
        return [c for c, _, _ in self.items]

    def updates(self, lang: str) -> list[Any]:
        import gradio as gr

        return [gr.update(**{prop: producer(lang)}) for _, prop, producer in self.items]
