"""The model's top-level calls in a session: their wall time, the modes and inputs of each, and
whether one raised. An instrument on the module tracker.

A timing run replays the recorded calls later (``flopsight.timing.replay``), outside counting:
the counting mode slows every op, so a latency taken in the session is mostly overhead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

from .module_tracker import ModuleListener

__all__ = ["RecordedCall", "RootCalls", "record_call"]

_AUTOCAST_DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class RecordedCall:
    """One top-level ``model(*args, **kwargs)`` call and the modes it ran under."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    grad_enabled: bool
    inference_mode: bool
    autocast: tuple[tuple[str, torch.dtype], ...] = field(default=())

    def with_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> "RecordedCall":
        return dataclasses.replace(self, args=args, kwargs=kwargs)

    @contextlib.contextmanager
    def modes(self) -> Iterator[None]:
        """The grad, inference and autocast modes of the recorded call."""
        with contextlib.ExitStack() as stack:
            if self.inference_mode:
                stack.enter_context(torch.inference_mode())
            else:
                stack.enter_context(torch.set_grad_enabled(self.grad_enabled))
            for device_type, dtype in self.autocast:
                stack.enter_context(torch.autocast(device_type, dtype=dtype))
            yield


def record_call() -> RecordedCall:
    """The current grad, inference and autocast modes; the inputs come with ``with_inputs``."""
    return RecordedCall(
        args=(),
        kwargs={},
        grad_enabled=torch.is_grad_enabled(),
        inference_mode=torch.is_inference_mode_enabled(),
        autocast=tuple((device, torch.get_autocast_dtype(device))
                       for device in _AUTOCAST_DEVICES if torch.is_autocast_enabled(device)),
    )


class RootCalls(ModuleListener):
    """Sums the wall time of the model's top-level calls, records each call that returns
    (``calls``), and calls ``on_raise`` when one raises (``forward_raised``)."""

    def __init__(self, on_raise: Callable[[], None]) -> None:
        self.calls: list[RecordedCall] = []
        self.duration = 0.0
        self.forward_raised = False
        self._on_raise = on_raise
        self._depth = 0
        self._started = 0.0
        self._entry_state: RecordedCall | None = None
        self._exc_at_entry: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._depth > 0

    def module_entered(self, path: str, module: nn.Module, args: tuple[Any, ...], recompute: bool) -> None:
        if path:
            return
        if self._depth == 0:
            self._exc_at_entry = sys.exc_info()[1]
            self._entry_state = record_call()
            self._started = time.perf_counter()
        self._depth += 1

    def module_left(self, path: str, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                    output: Any, recompute: bool) -> None:
        if path or self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        self.duration += time.perf_counter() - self._started
        # always_call hooks run inside the module's ``except`` block when forward raised: an
        # exception being handled now that was not being handled at entry is the forward's.
        current = sys.exc_info()[1]
        if current is not None and current is not self._exc_at_entry:
            self.forward_raised = True
            self._on_raise()
            return
        if self._entry_state is not None and not recompute:
            self.calls.append(self._entry_state.with_inputs(tuple(args), dict(kwargs)))
