"""The memory chart's data: the bytes live at each op tick, thinned to a few thousand points
(the peak and both ends kept exactly), the phases as tick spans, the peak and the axis ticks
labelled in Python (``units.py``), so the page's script only draws."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..units import format_bytes

if TYPE_CHECKING:
    from ...tree.profile import Profile

__all__ = ["downsample", "memory_chart"]

MAX_POINTS = 2000


def memory_chart(profile: Profile, *, max_points: int = MAX_POINTS) -> dict[str, Any] | None:
    """``{"ticks", "bytes", "phases", "peak", "y_ticks", "ops"}`` for the page; None without
    memory or when the run ran no op."""
    timeline = profile.memory_timeline()
    if timeline is None:
        return None
    total = timeline.total
    if not total:
        return None
    ticks = downsample(total, max_points)
    peak = max(range(len(total)), key=total.__getitem__)  # the first tick of the highest
    path, phase = timeline.paths[peak], timeline.phases[peak]
    where = f"in the {phase.value} of {path or '(model)'}" if path is not None else f"in the {phase.value}, outside any module"
    return {
        "ticks": ticks,
        "bytes": [total[t] for t in ticks],
        "phases": _phase_spans([p.value for p in timeline.phases]),
        "peak": {"tick": peak, "bytes": total[peak], "label": f"peak {format_bytes(total[peak])}, {where} (op {peak})"},
        "y_ticks": [[value, format_bytes(value)] for value in _nice_ticks(total[peak])],
        "ops": len(total),
    }


def downsample(values: list[int], max_points: int = MAX_POINTS) -> list[int]:
    """The ticks to draw: every tick when there are few; else each bucket's lowest and highest
    tick (so the line keeps its spikes and dips), with the first, last and peak ticks always in.

    Example:
        >>> downsample([0, 5, 1, 9, 2, 3, 0], max_points=4)
        [0, 2, 3, 6]
    """
    n = len(values)
    if n <= max_points:
        return list(range(n))
    buckets = max((max_points - 2) // 2, 1)
    kept = {0, n - 1, max(range(n), key=values.__getitem__)}
    for b in range(buckets):
        lo, hi = 1 + (n - 2) * b // buckets, 1 + (n - 2) * (b + 1) // buckets
        if lo < hi:
            span = range(lo, hi)
            kept.add(min(span, key=values.__getitem__))
            kept.add(max(span, key=values.__getitem__))
    return sorted(kept)


def _phase_spans(phases: list[str]) -> list[list[Any]]:
    """Runs of one phase as ``[first tick, last tick + 1, phase]``."""
    spans: list[list[Any]] = []
    for tick, phase in enumerate(phases):
        if spans and spans[-1][2] == phase:
            spans[-1][1] = tick + 1
        else:
            spans.append([tick, tick + 1, phase])
    return spans


def _nice_ticks(top: int) -> list[int]:
    """0 and round steps (1, 2 or 5 x a power of ten, in the unit ``format_bytes`` picks for
    ``top``) up to the first at or past ``top``: between 2 and 6 gridlines."""
    if top <= 0:
        return [0]
    unit = 1024 ** ((top.bit_length() - 1) // 10)  # B, KiB, MiB, ...
    scaled = top / unit
    power = 10.0 ** math.floor(math.log10(scaled / 5))
    step = next(m * power for m in (1, 2, 5, 10) if scaled / (m * power) <= 5)
    step = max(step, 1 / unit)  # no step below one byte
    return [round(i * step * unit) for i in range(math.ceil(scaled / step) + 1)]
