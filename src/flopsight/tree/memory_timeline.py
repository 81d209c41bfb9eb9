"""A run's memory over time: at each op, the bytes live per category, and the module and phase
that ran the op. Drawn from the storage record (``MemoryRecord``), so a saved profile has it
too; the JSON carries it for readers under ``memory.timeline``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..records import Phase
from ..records.memory import Category, MemoryRecord, StorageLife
from .memory import category_of, live_bytes

__all__ = ["MemoryTimeline", "memory_timeline"]


@dataclass(frozen=True, slots=True)
class MemoryTimeline:
    """Tick ``i`` is the run's op ``i``: ``paths[i]`` / ``phases[i]`` ran it (path None: outside
    any module), and ``by_category[c][i]`` bytes of category ``c`` were live while it ran."""

    paths: list[str | None]
    phases: list[Phase]
    by_category: dict[str, list[int]]

    @property
    def total(self) -> list[int]:
        """All bytes live at each tick: the categories summed."""
        return [sum(column) for column in zip(*self.by_category.values())] if self.by_category else []

    def to_dict(self) -> dict[str, Any]:
        """The compact JSON form: ``{"paths": [...], "phases": [...], "<category>": [bytes per tick], ...}``."""
        return {"paths": list(self.paths), "phases": [phase.value for phase in self.phases],
                **{category: list(values) for category, values in self.by_category.items()}}


def memory_timeline(record: MemoryRecord) -> MemoryTimeline:
    """The bytes live per category at each op of the run that ``record`` describes.

    Every category is listed (zeros included), in ``Category`` order; at the tick of the
    run's peak the categories sum to ``MemorySummary.peak_bytes``.

    Example:
        >>> p = flopsight.profile(mlp, x, backward=True, memory=True)
        >>> timeline = memory_timeline(p.memory.record)
        >>> max(timeline.total) == p.memory.peak_bytes
        True
    """
    grouped: dict[Category, list[StorageLife]] = {category: [] for category in Category}
    for life in record.storages:
        grouped[category_of(life, record.forward_end)].append(life)
    # live_bytes' index 0 is before the first op; tick i is its index i + 1.
    by_category = {str(category): live_bytes(dataclasses.replace(record, storages=lives))[1:]
                   for category, lives in grouped.items()}
    return MemoryTimeline(paths=list(record.paths), phases=list(record.phases), by_category=by_category)
