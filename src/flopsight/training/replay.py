"""Calls of a model recorded in a counting window, replayed later by a timing run.

The counting mode slows every op down, so a latency measured inside the window is mostly
overhead. The window records each top-level call instead (references to its inputs, and the
grad, inference and autocast modes it ran under); ``time_calls`` replays them with
``flopsight.measure_time``, outside any counting, under the same modes.

A replay assumes the forward does not change its own inputs (a KV cache grown in place would
grow again): pass ``timing_repeat=0`` to the profiler for such models.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch import nn

from ..timing import TimingResult, measure_time
from ..timing.result import add_timings

__all__ = ["RecordedCall", "record_call", "time_calls"]

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


def time_calls(model: nn.Module, calls: list[RecordedCall], *, warmup: int, repeat: int) -> TimingResult | None:
    """Replay ``calls`` under ``measure_time``: one iteration runs every call once.

    Returns None when there is nothing to time: no call, or a model on the meta device."""
    if not calls or any(p.device.type == "meta" for p in model.parameters()):
        return None
    results = []
    for call in list(calls):  # a copy: the caller's list may be a live window's
        with call.modes():
            results.append(measure_time(model, *call.args, kwargs=call.kwargs, warmup=warmup, repeat=repeat))
    return add_timings(results)
