"""A warning for the calls that return bare numbers: some ops ran with no cost formula.

``flopsight.profile`` returns a Profile that lists its uncounted ops, and every report prints
them; the calflops and DeepSpeed drop-ins and ``FlopsProfiler`` hand back plain numbers, so
there the uncounted ops would go unseen. They warn instead, once per measured run.
"""

from __future__ import annotations

import warnings
from typing import Mapping


class UncountedOpsWarning(UserWarning):
    """Ops ran that have no cost formula: the figures returned leave them out."""


def warn_if_uncounted(uncounted: Mapping[str, int], *, stacklevel: int = 3) -> None:
    """Warn, naming the ops and their call counts, when any op had no formula."""
    if not uncounted:
        return
    ops = sorted(uncounted.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{op} ({calls} call{'s' if calls != 1 else ''})" for op, calls in ops[:5])
    more = f" and {len(ops) - 5} more" if len(ops) > 5 else ""
    warnings.warn(
        f"{len(ops)} op{'s' if len(ops) != 1 else ''} ran with no cost formula and count 0 FLOPs: "
        f"{listed}{more}; give one a formula with flopsight.register_cost",
        UncountedOpsWarning, stacklevel=stacklevel,
    )
