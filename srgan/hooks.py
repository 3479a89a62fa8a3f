"""Forward hooks that only this thread's pass sees: the app's models are shared by every student's request.

The Architecture tab walks the cached generator with hooks on its blocks (`srgan.architecture.walk`), switches
blocks off with hooks that replace their output (`ablated_output`), and the PixelShuffle tab reads the first
upsampling block the same way (`srgan.teaching.first_upsample_activations`). A PyTorch hook belongs to the module,
not to the call: while it is registered, every forward of that module runs it, from any thread. Without care,
another student's Realism-dial pass through the same cached generator would come out with blocks switched off,
or pay for thumbnails of every channel, while the walk lasts.

`hooks_on_this_thread` registers each hook so that it acts on the calling thread's passes only, and removes them
all on the way out, even when the pass raises.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from torch import nn

Hook = Callable[[nn.Module, tuple[Any, ...], Any], Any]


@contextlib.contextmanager
def hooks_on_this_thread(hooks: Iterable[tuple[nn.Module, Hook]]) -> Iterator[None]:
    """Register forward hooks for the duration of a `with` block, acting on this thread's forwards only.

    Args:
        hooks: (module, hook) pairs; each hook has PyTorch's forward-hook signature (module, inputs, output) and
            may return a replacement output.

    Yields:
        Nothing: run the model inside the block.
    """
    owner = threading.get_ident()

    def only_here(hook: Hook) -> Hook:
        def guarded(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> Any:
            if threading.get_ident() != owner:
                return None  # another request's pass: untouched
            return hook(module, inputs, output)

        return guarded

    handles = []
    try:
        for module, hook in hooks:
            handles.append(module.register_forward_hook(only_here(hook)))
        yield
    finally:
        for handle in handles:
            handle.remove()
