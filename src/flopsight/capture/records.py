"""What one capture run produces: plain data, no torch objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Phase(str, Enum):
    """When an op ran. ``"forward"`` and ``Phase.FORWARD`` are interchangeable."""

    FORWARD = "forward"
    BACKWARD = "backward"
    RECOMPUTE = "recompute"  # forward ops re-run during backward by activation checkpointing

    def __str__(self) -> str:
        return self.value


@dataclass(slots=True)
class OpTotals:
    """Sums over every call of one op charged to one (module, phase)."""

    calls: int = 0
    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    masked_flops: int = 0

    def add(self, cost: Any, calls: int = 1) -> None:
        """Add an OpCost (one call) or another OpTotals (``calls=other.calls``)."""
        self.calls += calls
        self.macs += cost.macs
        self.flops += cost.flops
        self.bytes_read += cost.bytes_read
        self.bytes_written += cost.bytes_written
        self.masked_flops += cost.masked_flops


@dataclass(slots=True)
class CaptureResult:
    """Charges of one run, keyed by module path ("" is the root) and phase.

    ``charges[(path, phase)][op_name]`` sums the op's calls charged there. Ops with no formula
    appear in ``uncounted[op_name]`` (call counts) and are charged nothing; communication ops
    (collectives, 0 FLOPs) in ``communication[op_name]``; ops priced by an upper bound (their
    formula could not see everything it needs) in ``bounded[op_name]``, also call counts.
    """

    charges: dict[tuple[str, Phase], dict[str, OpTotals]] = field(default_factory=dict)
    uncounted: dict[str, int] = field(default_factory=dict)
    communication: dict[str, int] = field(default_factory=dict)
    bounded: dict[str, int] = field(default_factory=dict)
    forward_calls: dict[str, int] = field(default_factory=dict)
    backward_measured: bool = False
