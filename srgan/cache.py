"""One cache helper for the whole package: bounded, least-recently-used, safe to share between threads.

The app serves several students at once (Gradio runs handlers in threads), so every per-process cache of models,
upscalers or results goes through `LRUCache`: a lock around the bookkeeping, a bound so that a long class (new
uploads, new fine-tuned runs) cannot grow memory without limit. Pure functions of small arguments use
`functools.lru_cache` instead, which is already thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """A mapping of at most `maxsize` entries; the least recently used goes first.

    Args:
        maxsize: how many values to keep.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(self, key: Hashable, create: Callable[[], V]) -> V:
        """The value for `key`, made by `create()` the first time.

        `create` runs outside the lock, so a slow load never blocks the other keys; if two threads race on the
        same new key, both compute it and the first one stored wins (same value, so nothing is lost).
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = create()
        with self._lock:
            value = self._items.setdefault(key, value)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items
