"""What one counting run charged: per (module path, phase), per op. Plain data, no torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from .communication import CommKey, CommTotals, ProcessGroupInfo
from .memory import MemoryRecord
from .op_cost import OpTotals
from .phase import Phase


@dataclass(slots=True)
class CaptureResult:
    """Charges of one run, keyed by module path ("" is the root) and phase.

    ``charges[(path, phase)][op_name]`` sums the op's calls charged there. Ops with no formula
    appear in ``uncounted[op_name]`` (call counts) and are charged nothing; communication ops
    (collectives, 0 FLOPs) in ``communication[op_name]``; ops priced by an upper bound (their
    formula could not see everything it needs) in ``bounded[op_name]``, also call counts.
    ``collectives[(path, phase)][(kind, group name)]`` sums what each collective moved, and
    ``process_groups`` describes the groups by name.
    """

    charges: dict[tuple[str, Phase], dict[str, OpTotals]] = field(default_factory=dict)
    uncounted: dict[str, int] = field(default_factory=dict)
    communication: dict[str, int] = field(default_factory=dict)
    bounded: dict[str, int] = field(default_factory=dict)
    forward_calls: dict[str, int] = field(default_factory=dict)
    backward_measured: bool = False
    memory: MemoryRecord | None = None  # the storages of the run, when memory was recorded
    collectives: dict[tuple[str, Phase], dict[CommKey, CommTotals]] = field(default_factory=dict)
    process_groups: dict[str, ProcessGroupInfo] = field(default_factory=dict)
