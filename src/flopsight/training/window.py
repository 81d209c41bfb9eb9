"""One counting window over the user's own calls of a model: hooks, counting mode, root timer."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Iterator

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils.hooks import RemovableHandle

from ..api import run_metadata as api_run_metadata
from ..capture import CaptureResult, Phase
from ..capture.attention_on_meta import MetaAttentionMode
from ..capture.counting_mode import CountingMode
from ..capture.module_stack import ModuleStack
from ..capture.run import eager_flex_attention, uses_meta
from ..errors import InputError
from .replay import RecordedCall, record_call

__all__ = ["CountingWindow", "run_metadata"]


class CountingWindow:
    """One open counting window on ``model``: the module stack, the counting mode, a root timer.

    ``open()`` installs; ``close()`` removes (idempotent). As ``flopsight.profile`` does, a model
    on the meta device runs SDPA as the fused CPU kernel would, and eager flex_attention calls
    its op directly, while the window is open.

    The root timer sums the wall time of every top-level ``model(...)`` call, and each call
    that returns is recorded (``calls``: references to its inputs, its grad and autocast
    modes) so that a timing run can replay it later without the counting mode.

    A forward of the model that raises pops the modes at once, so torch runs unmodified while
    the exception travels up; the four global hooks (the timer's and the module stack's) stay,
    counting nothing, until ``close()``: torch is iterating over its hook dicts at that moment,
    so they cannot be removed there.
    """

    def __init__(self, model: nn.Module, ignore_types: tuple[type, ...]) -> None:
        self.model = model
        self.result = CaptureResult(backward_measured=True)
        self.stack = ModuleStack(model, ignore_types)
        self.mode = CountingMode(self.stack, self.result, label_nodes=True)
        self.duration = 0.0
        self.forward_raised = False
        self.is_open = False
        self.calls: list[RecordedCall] = []
        self._modes: contextlib.ExitStack | None = None
        self._handles: list[RemovableHandle] = []
        self._depth = 0
        self._started = 0.0
        self._entry_state: RecordedCall | None = None
        self._exc_at_entry: BaseException | None = None

    def open(self) -> None:
        try:
            self._install()
            self.is_open = True
        except BaseException:
            self._pop_modes()
            self._remove_hooks()
            raise

    def close(self) -> None:
        """Pop the modes (if still pushed) and remove the hooks; safe to call twice."""
        self.is_open = False
        try:
            self._pop_modes()
        finally:
            self.result.forward_calls = dict(self.stack.forward_calls)
            self._remove_hooks()

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Take everything out while the body runs (a timing run), then put it back.

        Only between forward calls: the module stack must be empty. After a forward raised
        the window stays inert: its hooks are taken out and not put back."""
        if not self.is_open:
            yield
            return
        if self._depth or self.stack.stack:
            raise InputError("cannot time the model while its forward is running; "
                             "read the duration after the forward returns")
        self._pop_modes()
        self._remove_hooks()
        try:
            yield
        finally:
            if not self.forward_raised:
                self._install()

    def _install(self) -> None:
        self._handles.append(register_module_forward_pre_hook(self._enter))
        self._handles.append(register_module_forward_hook(self._exit, with_kwargs=True, always_call=True))
        self.stack.install()
        modes = contextlib.ExitStack()
        try:
            if uses_meta(self.model, (), {}):
                modes.enter_context(MetaAttentionMode())
            modes.enter_context(eager_flex_attention())
            modes.enter_context(self.mode)
        except BaseException:
            modes.close()
            raise
        self._modes = modes

    def _pop_modes(self) -> None:
        modes, self._modes = self._modes, None
        if modes is not None:
            modes.close()

    def _remove_hooks(self) -> None:
        self.stack.remove()
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _enter(self, module: nn.Module, args: Any) -> None:
        if module is not self.model:
            return
        if self._depth == 0:
            self._exc_at_entry = sys.exc_info()[1]
            self._entry_state = record_call()
            self._started = time.perf_counter()
        self._depth += 1

    def _exit(self, module: nn.Module, args: Any, *kwargs_and_output: Any) -> None:
        # Called with (kwargs, output); but torch drops kwargs when it calls an always_call
        # hook for a forward that raised, and then nothing is recorded anyway.
        if module is not self.model or self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        self.duration += time.perf_counter() - self._started
        # always_call hooks run inside the module's ``except`` block when forward raised: an
        # exception being handled now that was not being handled at entry is the forward's.
        current = sys.exc_info()[1]
        if current is not None and current is not self._exc_at_entry:
            # Only the modes are popped here: torch is iterating over the hook dicts, so the
            # hooks (inert without the mode) are removed by close(), from stop/end or ``with``.
            self.forward_raised = True
            self._pop_modes()
            return
        if self._entry_state is not None and torch._C._current_graph_task_id() == -1:
            kwargs = kwargs_and_output[0] if len(kwargs_and_output) == 2 else {}
            self.calls.append(self._entry_state.with_inputs(tuple(args), dict(kwargs or {})))


def run_metadata(model: nn.Module, result: CaptureResult, ignore_types: tuple[type, ...], **extra: Any) -> dict[str, Any]:
    """The API's run metadata for a window: backward is measured when backward ops were charged."""
    backward = any(phase is Phase.BACKWARD for _, phase in result.charges)
    return api_run_metadata(model, backward=backward, ignore_types=ignore_types, **extra)
