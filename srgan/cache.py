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
        self._pending: dict[Hashable, threading.Event] = {}  # keys being created, and who waits for them

    def get_or_create(self, key: Hashable, create: Callable[[], V]) -> V:
        """The value for `key`, made by `create()` the first time.

        `create` runs outside the lock, so a slow load never blocks the other keys. A thread that asks for a key
        another thread is creating waits for that value instead of computing it again: when 30 students open the
        same example at once, or one opens a tab while the start-up warm-up is preparing it, the work is done
        once. If that `create` raises, a waiting thread tries itself (and meets the error as its own).
        """
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                pending = self._pending.get(key)
                owner = pending is None
                if owner:
                    pending = self._pending[key] = threading.Event()
            if owner:
                return self._create(key, create, pending)
            pending.wait()  # then look again: the value is stored, or its creator failed and this thread tries

    def _create(self, key: Hashable, create: Callable[[], V], pending: threading.Event) -> V:
        try:
            value = create()
            with self._lock:
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
                return value
        finally:
            with self._lock:
                del self._pending[key]
            pending.set()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items
