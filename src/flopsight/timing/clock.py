"""Time marks that cost little to take and are read once per iteration.

On the CPU a mark is ``time.perf_counter()``. On CUDA it is a recorded ``torch.cuda.Event``:
recording is asynchronous, so marks taken inside module hooks add no device-wide
synchronization; ``Clock.sync()`` waits for the device once per iteration, after which
``elapsed`` reads the events.
"""

from __future__ import annotations

import time
from typing import Any

import torch


class Clock:
    """perf_counter marks on the CPU, CUDA events on a GPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def mark(self) -> Any:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            event.record()
            return event
        return time.perf_counter()

    def sync(self) -> None:
        """Wait for the device: once per iteration, before reading marks."""
        if self.cuda:
            torch.cuda.synchronize()

    def elapsed(self, start: Any, end: Any) -> float:
        """Seconds from ``start`` to ``end`` (after ``sync()`` on CUDA)."""
        if self.cuda:
            return float(start.elapsed_time(end)) / 1000.0
        return float(end - start)

    def latest(self, origin: Any, marks: list[Any]) -> Any:
        """The latest of ``marks`` (they may come from several autograd callbacks)."""
        if not self.cuda:
            return max(marks)
        return max(marks, key=lambda m: origin.elapsed_time(m))
