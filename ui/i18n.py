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
from pathlib import Path
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
    """Remembers (widget, property, text) so one event can switch the whole page's language.

    A widget whose choices are relabelled is also an input of that event: its update carries its current
    value, without which a dropdown would go on showing the old label of its selected choice.
    """

    def __init__(self) -> None:
        self.items: list[tuple[Any, str, Callable[[str], Any]]] = []
        self.valued: list[Any] = []  # the widgets whose value the event reads (those with relabelled choices)

    def add(self, component: Any, producer: Callable[[str], Any], prop: str = "label") -> Any:
        """Set `component.prop` to `producer(lang)` at every language switch (`Strings.producer` makes one)."""
        if not callable(producer):
            raise TypeError("Relabel.add takes a function of the language (e.g. STRINGS.producer(key))")
        self.items.append((component, prop, producer))
        if prop == "choices" and not any(c is component for c in self.valued):
            self.valued.append(component)
        return component

    @property
    def components(self) -> list[Any]:
        return [c for c, _, _ in self.items]

    @property
    def inputs(self) -> list[Any]:
        """What the relabelling event reads: the language, then the values of `valued`."""
        return self.valued

    def updates(self, lang: str, *values: Any) -> list[Any]:
        """The update of every recorded widget in `lang`; `values` are those of `valued`, in order (kept)."""
        import gradio as gr

        current = {id(c): v for c, v in zip(self.valued, values)}
        out = []
        for component, prop, producer in self.items:
            extra = {"value": current[id(component)]} if prop == "choices" and id(component) in current else {}
            out.append(gr.update(**{prop: producer(lang)}, **extra))
        return out


def page_head(default_lang: str = "en") -> str:
    """The <head> script of the page: the language of the URL (?lang=es) from the first paint on.

    Gradio's own widgets ("Drop Image Here", "Click to Upload") follow the locale of Gradio's frontend,
    which this sets (`window.srganSetLocale`, also called at every switch of the language radio). Our own
    labels come from the server: while the page's first relabelling runs, a page whose URL asks for another
    language than the server's default stays hidden (class `srgan-relabelling`, removed when the labels have
    changed, or after 6 s at most), so what is painted first is already in the URL's language.
    """
    import gradio as gr

    assets = Path(gr.__file__).parent / "templates" / "frontend" / "assets"
    core = next((p.name for p in sorted(assets.glob("core-*.js"))), "")
    return HEAD_TEMPLATE.replace("__CORE__", core).replace("__DEFAULT__", normalise_lang(default_lang))


HEAD_TEMPLATE = """<script>
(() => {
  const norm = (l) => (String(l || "").toLowerCase().startsWith("es") ? "es" : "en");
  const asked = new URLSearchParams(location.search).get("lang");
  const lang = asked ? norm(asked) : "__DEFAULT__";
  window.srganUrlLang = lang;
  window.srganSetLocale = (l) => {
    const entry = [...document.querySelectorAll("script[type=module][src]")].find((s) => s.src.includes("/assets/index-"));
    if (!entry || !"__CORE__") return;
    import(new URL("./__CORE__", entry.src).href).then((m) => m.changeLocale(norm(l))).catch(() => {});
  };
  window.srganSetLocale(lang);
  document.documentElement.lang = lang;
  if (lang !== "__DEFAULT__") {
    document.documentElement.classList.add("srgan-relabelling");
    setTimeout(() => document.documentElement.classList.remove("srgan-relabelling"), 6000);
  }
})();
</script>"""
# The radio's value at the first paint: the URL's language (read by the head script), without a request.
URL_LANG_JS = "() => [window.srganUrlLang || null]"
# At a switch: Gradio's own widgets follow, and a page hidden for its first relabelling shows.
LOCALE_JS = "(lang) => { window.srganSetLocale && window.srganSetLocale(lang); return []; }"
RELABELLED_JS = "() => { document.documentElement.classList.remove('srgan-relabelling'); return []; }"
