"""The counting session: what one counting run installs, in one place, and removes again.

``flopsight.profile`` (one run it makes itself), ``FlopsProfiler`` and ``track()`` (windows
over the user's own loop) all count through a session:

- the module tracker (global module hooks, installed once), which the counting mode reads and
  other instruments subscribe to;
- on the meta device, SDPA redirected to the fused op the target device would run (and, when
  memory is recorded for a CUDA target, dropout and RMSNorm to CUDA's fused ops);
- eager ``flex_attention`` calling its op directly;
- the counting dispatch mode, innermost.

``open()`` installs, ``close()`` removes (idempotent), ``suspended()`` takes everything out for a
while (a timing run between two forwards). A forward of the model that raises pops the modes
at once, so torch runs unmodified while the exception travels up; the hooks, which count
nothing without the mode, stay until ``close()``: torch is iterating over its hook dicts at
that moment, so they cannot be removed there.
"""

from __future__ import annotations

import contextlib
import os
import sys
from types import TracebackType
from typing import Iterator

from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode, _pop_mode, _push_mode

from ..errors import InputError
from ..records import CaptureResult
from .attention_on_meta import MetaAttentionMode
from .collectives import mesh_dims_of
from .counting_mode import CountingMode
from .dispatch_mode import KernelWrapperMode
from .memory import MemoryRecorder
from .module_tracker import ModuleTracker
from .root_calls import RootCalls
from .storage_resize import storage_resizes_reported
from .tensors import uses_meta

__all__ = ["CountingSession", "eager_flex_attention", "META_CACHE_VARIABLE"]

META_CACHE_VARIABLE = "FLOPSIGHT_META_CACHE"


class CountingSession:
    """One counting session on ``model``; its charges accumulate in ``result``.

    Args:
        model: the module whose calls are counted.
        ignore_types: module types whose ops are not charged.
        backward: label each forward op's autograd node, so that backward ops are charged to
            the module whose forward created them.
        meta: whether the run is on the meta device (SDPA runs as the fused kernel); None
            reads it from the model's parameters at ``open()``.
        memory: a memory instrument, told of every op's outputs and of the module scopes.

    ``FLOPSIGHT_META_CACHE=0`` in the environment turns the meta output cache off
    (``capture.meta_cache``): the cache changes no count, and this is how that is checked.

    ``tracker`` is the session's module tracker: an instrument that counts with the session
    subscribes to it before ``open()``. ``root_calls`` sums and records the model's top-level
    calls (``RootCalls``).
    """

    def __init__(self, model: nn.Module, *, ignore_types: tuple[type, ...] = (), backward: bool = True,
                 meta: bool | None = None, memory: MemoryRecorder | None = None) -> None:
        self.model = model
        self.result = CaptureResult(backward_measured=backward)
        self.tracker = ModuleTracker(model, ignore_types=ignore_types)
        self.memory = memory
        self.mode = CountingMode(self.tracker, self.result, label_nodes=backward, memory=memory,
                                 meta_cache=os.environ.get(META_CACHE_VARIABLE, "1") != "0")
        if memory is not None:
            self.tracker.subscribe(memory)
        self.tracker.subscribe(self.mode.fusion)
        self.root_calls = RootCalls(on_raise=self._pop_modes)
        self.tracker.subscribe(self.root_calls)
        self.is_open = False
        self._meta = meta
        self._modes: contextlib.ExitStack | None = None

    @property
    def forward_raised(self) -> bool:
        return self.root_calls.forward_raised

    def open(self) -> None:
        try:
            self._install()
            self.is_open = True
        except BaseException:
            self._pop_modes()
            self.tracker.remove()
            raise

    def close(self) -> None:
        """Pop the modes (if still pushed) and remove the hooks; safe to call twice."""
        self.is_open = False
        try:
            self._pop_modes()
        finally:
            self.result.forward_calls = dict(self.tracker.forward_calls)
            self.tracker.remove()

    def __enter__(self) -> "CountingSession":
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Take everything out while the body runs (a timing run), then put it back.

        Only between forward calls: no module may be running. After a forward raised the
        session stays inert: its hooks are taken out and not put back."""
        if not self.is_open:
            yield
            return
        if self.root_calls.running or self.tracker.stack:
            raise InputError("cannot time the model while its forward is running; "
                             "read the duration after the forward returns")
        self._pop_modes()
        self.tracker.remove()
        try:
            yield
        finally:
            if not self.forward_raised:
                self._install()

    def _install(self) -> None:
        self.tracker.install()
        meta = self._meta if self._meta is not None else uses_meta(self.model, (), {})
        modes = contextlib.ExitStack()
        try:
            if meta:
                modes.enter_context(MetaAttentionMode(cuda_kernels=self.memory is not None and self.memory.cuda_on_meta))
            modes.enter_context(eager_flex_attention())
            if self.memory is not None:
                modes.enter_context(storage_resizes_reported(self.memory.storage_resized))
            self.mode.note_fake_mode()
            self.mode.collectives.mesh_dims = mesh_dims_of(self.model)
            self.mode.use_meta_cache(meta)
            self._take_in_kernel_wrapper(modes)
            modes.enter_context(self.mode)
        except BaseException:
            modes.close()
            raise
        self._modes = modes

    def _take_in_kernel_wrapper(self, modes: contextlib.ExitStack) -> None:
        """A kernel wrapper pushed right outside the session (``KernelWrapperMode``) runs inside
        the counting mode for the run; it goes back on torch's stack when the modes are popped."""
        outer = _get_current_dispatch_mode()
        if not isinstance(outer, KernelWrapperMode):
            return
        _pop_mode()
        modes.callback(_push_mode, outer)
        modes.callback(self.mode.run_ops_through, None)
        self.mode.run_ops_through(outer)

    def _pop_modes(self) -> None:
        modes, self._modes = self._modes, None
        if modes is not None:
            modes.close()


@contextlib.contextmanager
def eager_flex_attention() -> Iterator[None]:
    """Let eager flex_attention call its op directly for the run, then restore the flag.

    Eager ``flex_attention`` wraps itself in ``torch.compile``, which refuses to trace under a
    user dispatch mode; its debug flag makes it call the higher-order op directly, which the
    counting mode prices as one op. Only touched when the module is already imported.
    """
    flex = sys.modules.get("torch.nn.attention.flex_attention")
    flag = "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG"
    if flex is None or not hasattr(flex, flag):
        yield
        return
    saved = getattr(flex, flag)
    setattr(flex, flag, True)
    try:
        yield
    finally:
        setattr(flex, flag, saved)
