"""Calls of a model recorded in a counting session, replayed later by a timing run.

The counting mode slows every op down, so a latency measured inside the session is mostly
overhead. The session records each top-level call instead (references to its inputs, and the
grad, inference and autocast modes it ran under); ``time_calls`` replays them with
``flopsight.measure_time``, outside any counting, under the same modes.

A replay assumes the forward does not change its own inputs (a KV cache grown in place would
grow again): pass ``timing_repeat=0`` to the profiler for such models.
"""

from __future__ import annotations

from torch import nn

from ..capture.root_calls import RecordedCall
from ..records import TimingResult, add_timings
from .runner import measure_time

__all__ = ["time_calls"]


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
