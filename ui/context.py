"""What every tab's `build()` receives (`TabContext`), and what app.py needs of a tab module (`Tab`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from .i18n import Relabel, Strings

C = TypeVar("C")


@dataclass(frozen=True)
class AppSettings:
    """Limits and options of one running app (set from app.py's flags)."""

    max_input_pixels: int = 512 * 512  # LR pixels the Compare tab upscales per request (x16 on output)
    max_upload_mb: float = 25.0
    default_lang: str = "en"
    allow_training: bool = True  # False (--no-train): the Fine-tune tab only explains, its events refuse


def _text_prop(cls: type) -> str:
    """The property a widget shows its text in: a Button's or a Markdown's value, every other's label."""
    import gradio as gr

    return "value" if issubclass(cls, (gr.Button, gr.Markdown)) else "label"


@dataclass
class TabContext:
    lang: Any  # the gr.Radio holding "en" or "es"; pass it as an input to every handler that returns text
    tr: Relabel
    settings: AppSettings
    tab: Any = None  # the gr.Tab being built (its .select event lets a tab compute when first opened)
    strings: Strings | None = None  # the table `widget`/`text`/`relabel` look keys up in (`with_strings`)
    presenter: Any = None  # the presenter-mode gr.Checkbox (`scaled` makes it an input of a figure's event)
    views: dict[str, tuple[Any, str]] = field(default_factory=dict)  # tab id -> (shown_language box, tab elem_id)

    @property
    def default_lang(self) -> str:
        return self.settings.default_lang

    def with_strings(self, strings: Strings) -> TabContext:
        """The same context, looking keys up in `strings` (each tab's build() starts with its own STRINGS)."""
        return dataclasses.replace(self, strings=strings)

    def _table(self) -> Strings:
        if self.strings is None:
            raise RuntimeError("no strings table: call ctx.with_strings(STRINGS) first")
        return self.strings

    def text(self, key: str, **fmt: Any) -> str:
        """The string `key` in the page's starting language."""
        return self._table().t(key, self.default_lang, **fmt)

    def widget(
        self,
        cls: Callable[..., C],
        key: str,
        *args: Any,
        prop: str | None = None,
        fmt: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> C:
        """`cls(*args, <prop>=text of key, **kwargs)`, relabelled at every language switch.

        Args:
            cls: the component class (or a function making one, then give `prop`).
            key: its text's key in this context's strings.
            prop: the property holding the text: by default "value" for a Button or a Markdown, else "label".
            fmt: values for the placeholders of the text.
        """
        prop = prop or _text_prop(cls)  # type: ignore[arg-type]
        fmt = fmt or {}
        component = cls(*args, **{prop: self.text(key, **fmt)}, **kwargs)
        self.tr.add(component, self._table().producer(key, **fmt), prop)
        return component

    def scaled(self, fn: Callable, inputs: list[Any]) -> tuple[Callable, list[Any]]:
        """`fn` and its inputs for an event whose figures follow presenter mode: the presenter checkbox is added
        as the last input and `fn`'s figures are drawn with presenter-sized text (`common.presenter_scaled`).

        A page without the checkbox gets `fn` and `inputs` as they are (its figures keep the normal size).
        """
        from .common import presenter_scaled

        if self.presenter is None:
            return fn, list(inputs)
        return presenter_scaled(fn), [*inputs, self.presenter]

    def shown_language(self) -> Any:
        """A hidden box holding the language this tab's figures and texts are drawn in ("" before its first opening).

        Its `.change` is the trigger for what a tab redraws in a new language: the box takes the page's language
        when the tab is opened (so the first opening computes, and a later one only after a language switch
        made while the tab was hidden) and at a switch made while the tab is on screen (`wire_views`). A switch
        redraws the tab on screen only, not the figures of every tab.
        """
        import gradio as gr

        key = str(self.tab.id)
        if key not in self.views:
            self.tab.elem_id = self.tab.elem_id or f"srgan-tab-{key}"  # how wire_views finds the tab on screen
            box = gr.Textbox("", visible=False)
            self.tab.select(None, [self.lang, box], box, js="(lang, shown) => [lang]", queue=False)
            self.views[key] = (box, self.tab.elem_id)
        return self.views[key][0]

    def wire_views(self) -> None:
        """At a language switch, the tab on screen takes the new language (in the browser: no request)."""
        if not self.views:
            return
        boxes = [box for box, _ in self.views.values()]
        elem_ids = json.dumps([elem_id for _, elem_id in self.views.values()])
        js = (
            f"(lang, ...shown) => {elem_ids}.map((id, i) => {{ const el = document.getElementById(id); "
            "return el && el.offsetParent !== null ? lang : shown[i]; })"
        )
        self.lang.change(None, [self.lang, *boxes], boxes, js=js, queue=False)

    def wire_language(self, demo: Any) -> None:
        """The language radio: relabel every widget (one request), redraw the tab on screen, set Gradio's locale.

        The radio takes the URL's language (?lang=es) in the browser when the page loads.
        """
        from .i18n import LOCALE_JS, RELABELLED_JS, URL_LANG_JS

        relabel = self.lang.change(
            self.tr.updates, [self.lang, *self.tr.inputs], self.tr.components, api_visibility="private", queue=False
        )
        relabel.then(None, None, None, js=RELABELLED_JS, queue=False)
        self.lang.change(None, self.lang, None, js=LOCALE_JS, queue=False)
        self.wire_views()
        demo.load(None, None, self.lang, js=URL_LANG_JS, queue=False)

    def relabel(self, component: C, key: str | Callable[[str], Any], prop: str = "label", **fmt: Any) -> C:
        """Translate a widget made elsewhere: `prop` becomes the text of `key` (or `key(lang)`, a function)."""
        self.tr.add(component, key if callable(key) else self._table().producer(key, **fmt), prop)
        return component


@runtime_checkable
class Tab(Protocol):
    """A tab module, as app.py uses it (tests/ui/test_tabs.py checks every module in app.TABS)."""

    KEY: str  # the gr.Tab's id, and the key of its title in STRINGS
    STRINGS: Strings  # every string the tab shows

    def build(self, ctx: TabContext) -> None:
        """Make the tab's widgets (inside the gr.Tab being built) and wire their events."""
