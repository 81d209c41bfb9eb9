"""One counting window over the user's own calls of a model: hooks, counting mode, root timer."""

from __future__ import annotations

import sys
import time
from typing import Any

from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils.hooks import RemovableHandle

from ..capture import CaptureResult, Phase
from ..capture.counting_mode import CountingMode
from ..capture.module_stack import ModuleStack
from ..api import run_metadata as api_run_metadata

__all__ = ["CountingWindow", "run_metadata"]


class CountingWindow:
    """One open counting window on ``model``: the module stack, the counting mode, a root timer.

    ``open()`` installs; ``close()`` removes (idempotent). The root timer sums the wall time of
    every top-level ``model(...)`` call. A forward of the model that raises pops the counting
    mode at once, so torch runs unmodified while the exception travels up; the four global
    hooks (the timer's and the module stack's) stay, counting nothing, until ``close()``:
    torch is iterating over its hook dicts at that moment, so they cannot be removed there.
    """

    def __init__(self, model: nn.Module, ignore_types: tuple[type, ...]) -> None:
        self.model = model
        self.result = CaptureResult(backward_measured=True)
        self.stack = ModuleStack(model, ignore_types)
        self.mode = CountingMode(self.stack, self.result, label_nodes=True)
        self.duration = 0.0
        self.forward_raised = False
        self.is_open = False
        self._mode_pushed = False
        self._handles: list[RemovableHandle] = []
        self._depth = 0
        self._started = 0.0
        self._exc_at_entry: BaseException | None = None

    def open(self) -> None:
        try:
            self._handles.append(register_module_forward_pre_hook(self._enter))
            self._handles.append(register_module_forward_hook(self._exit, always_call=True))
            self.stack.install()
            self.mode.__enter__()  # type: ignore[no-untyped-call]
            self._mode_pushed = self.is_open = True
        except BaseException:
            self._remove_hooks()
            raise

    def close(self) -> None:
        """Pop the mode (if still pushed) and remove the hooks; safe to call twice."""
        self.is_open = False
        try:
            self._pop_mode()
        finally:
            self.result.forward_calls = dict(self.stack.forward_calls)
            self._remove_hooks()

    def _pop_mode(self) -> None:
        if self._mode_pushed:
            self._mode_pushed = False
            self.mode.__exit__(None, None, None)  # type: ignore[no-untyped-call]

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
            self._started = time.perf_counter()
        self._depth += 1

    def _exit(self, module: nn.Module, args: Any, output: Any) -> None:
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
            # Only the mode is popped here: torch is iterating over the hook dicts, so the
            # hooks (inert without the mode) are removed by close(), from stop/end or ``with``.
            self.forward_raised = True
            self._pop_mode()


def run_metadata(model: nn.Module, result: CaptureResult, ignore_types: tuple[type, ...], **extra: Any) -> dict[str, Any]:
    """The API's run metadata for a window: backward is measured when backward ops were charged."""
    backward = any(phase is Phase.BACKWARD for _, phase in result.charges)
    return api_run_metadata(model, backward=backward, ignore_types=ignore_types, **extra)
