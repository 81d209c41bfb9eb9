"""Plain data that instruments produce and the tree holds: no torch, so a saved profile reads
back anywhere.

- ``OpCost`` / ``OpTotals``: what one op call costs, and the sum over many calls.
- ``Phase``: forward, backward, or forward work recomputed in backward.
- ``CaptureResult``: one counting run's charges per (module path, phase, op).
- ``Stats``, ``ModuleTiming``, ``TimingResult``: what a timing run measured.
"""

from .charges import CaptureResult
from .op_cost import ZERO, OpCost, OpTotals
from .phase import Phase
from .timing import ModuleTiming, Stats, TimingResult, add_timings, summarize

__all__ = ["ZERO", "CaptureResult", "ModuleTiming", "OpCost", "OpTotals", "Phase", "Stats", "TimingResult",
           "add_timings", "summarize"]
