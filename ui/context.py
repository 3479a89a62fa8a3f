"""What every tab's `build()` receives: the language switch, the relabeller and the app's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .i18n import Relabel


@dataclass(frozen=True)
class AppSettings:
    """Limits and options of one running app (set from app.py's flags)."""

    max_input_pixels: int = 512 * 512  # LR pixels the Compare tab upscales per request (x16 on output)
    max_upload_mb: float = 25.0
    default_lang: str = "en"
    allow_training: bool = True  # False (--no-train): the Fine-tune tab only explains, its events refuse


@dataclass
class TabContext:
    lang: Any  # the gr.Radio holding "en" or "es"; pass it as an input to every handler that returns text
    tr: Relabel
    settings: AppSettings
    tab: Any = None  # the gr.Tab being built (its .select event lets a tab compute when first opened)

    @property
    def default_lang(self) -> str:
        return self.settings.default_lang
