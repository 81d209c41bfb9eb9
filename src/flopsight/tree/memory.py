"""A run's memory, from its storage record: what was live at each op, the peak and where, the
bytes per category, and each module's activations, outputs and peak. Computed once, here.

Under a CUDA target (``record.cuda_allocator``) each storage counts the bytes of the block the
CUDA caching allocator gives it (``tree.allocator``: its size rounded up to 512 bytes, or a
whole unsplit block), and the allocator's segments give the reserved peak."""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Phase
from ..records.memory import Category, MemoryRecord, MemorySummary, ModuleMemory, StorageLife
from .allocator import replay

__all__ = ["MemoryFigures", "live_bytes", "storage_sizes", "summarize_memory"]

_HELD = (Category.PARAMETER, Category.BUFFER, Category.INPUT)


@dataclass(frozen=True, slots=True)
class MemoryFigures:
    """The run's summary and each module's own figures, before the tree sums them."""

    summary: MemorySummary
    own_activation: dict[str, int]
    outputs: dict[str, int]
    peaks: dict[str, int]

    def module(self, path: str, activation_bytes: int) -> ModuleMemory:
        """The module at ``path``, given its inclusive activation bytes (summed by the tree)."""
        return ModuleMemory(activation_bytes=activation_bytes, own_activation_bytes=self.own_activation.get(path, 0),
                            output_bytes=self.outputs.get(path, 0), peak_bytes=self.peaks.get(path, 0))


def category_of(life: StorageLife, forward_end: int) -> Category:
    """A storage's category once the run is over: a forward scratch that outlived the forward
    (saved for backward) is an activation."""
    if life.category is not Category.TEMPORARY:
        return life.category
    created_in_forward = 0 <= life.created <= forward_end and life.phase in (Phase.FORWARD, None)
    if created_in_forward and (life.freed is None or life.freed > forward_end):
        return Category.ACTIVATION
    return Category.TEMPORARY


def live_bytes(record: MemoryRecord, sizes: list[int] | None = None) -> list[int]:
    """Bytes live at each tick: index 0 is before the first op, ``i + 1`` during op ``i``.
    ``sizes`` gives each storage's bytes (``storage_sizes``); by default its own ``nbytes``."""
    ticks = len(record.paths)
    change = [0] * (ticks + 2)
    for index, life in enumerate(record.storages):
        nbytes = life.nbytes if sizes is None else sizes[index]
        change[life.created + 1] += nbytes
        if life.freed is not None:
            change[life.freed + 2] -= nbytes
    live, total = [], 0
    for delta in change[: ticks + 1]:
        total += delta
        live.append(total)
    return live


def storage_sizes(record: MemoryRecord) -> tuple[list[int], int | None]:
    """Each storage's bytes as the target holds them, and the reserved peak (None without an
    allocator model): under a CUDA target, the caching allocator's blocks and segments."""
    if not record.cuda_allocator:
        return [life.nbytes for life in record.storages], None
    replayed = replay([(life.nbytes, life.created, life.freed) for life in record.storages])
    return replayed.block_bytes, replayed.peak_reserved_bytes


def summarize_memory(record: MemoryRecord) -> MemoryFigures:
    """The peak, the bytes by category, and each module's own figures of one run."""
    sizes, reserved = storage_sizes(record)
    live = live_bytes(record, sizes)
    peak_at = max(range(len(live)), key=live.__getitem__)  # the first tick of the highest
    tick = peak_at - 1
    categories = [category_of(life, record.forward_end) for life in record.storages]
    at_peak = {str(c): 0 for c in Category}
    totals = {c: 0 for c in Category}
    own_activation: dict[str, int] = {}
    for life, nbytes, category in zip(record.storages, sizes, categories):
        totals[category] += nbytes
        if life.created <= tick and (life.freed is None or tick <= life.freed):
            at_peak[str(category)] += nbytes
        if category is Category.ACTIVATION and life.path is not None:
            own_activation[life.path] = own_activation.get(life.path, 0) + nbytes
    peaks: dict[str, int] = {}
    for path, start, end in record.scopes:
        # A scope with no op of its own (a Dropout(p=0) returns its input) peaks at what is
        # live between the two ops around it.
        during = live[start + 1: end + 2] if end >= start else [live[start]]
        peaks[path] = max(peaks.get(path, 0), max(during))
    summary = MemorySummary(
        target=record.target,
        peak_bytes=live[peak_at],
        peak_module=record.paths[tick] if tick >= 0 else None,
        peak_phase=record.phases[tick] if tick >= 0 else None,
        at_peak=at_peak,
        parameter_bytes=totals[Category.PARAMETER],
        buffer_bytes=totals[Category.BUFFER],
        input_bytes=totals[Category.INPUT],
        activation_bytes=totals[Category.ACTIVATION],
        gradient_bytes=totals[Category.GRADIENT],
        output_bytes=totals[Category.OUTPUT],
        optimizer_bytes=totals[Category.OPTIMIZER],
        temporary_bytes=at_peak[str(Category.TEMPORARY)],
        reserved_bytes=reserved,
        context_bytes=record.context_bytes,
        **_measured(record, held_at_start=live[0]),
        record=record,
    )
    return MemoryFigures(summary, own_activation, dict(record.outputs), peaks)


def _measured(record: MemoryRecord, *, held_at_start: int) -> dict[str, int | None]:
    """torch.cuda's peaks, comparable to the simulated ones: the device's allocations at the
    start (the user's tensors too) replaced by what the record held then."""
    measured = record.measured
    if measured is None:
        return {"measured_peak_bytes": None, "measured_reserved_bytes": None}
    return {"measured_peak_bytes": measured["peak_allocated"] - measured["start_allocated"] + held_at_start,
            "measured_reserved_bytes": measured["peak_reserved"]}
