"""What a fusing compiler would not move: the intermediates of elementwise chains.

The model, stated once (docs/roofline.md, "Fused elementwise chains"):

- Fusable ops are the ones torch tags ``pointwise`` (what Inductor fuses) and ``reduction``
  (Inductor folds a pointwise chain into the reduction that reads it: RMSNorm's pow, mean,
  rsqrt and muls make one kernel).
- Fusion follows the data, not the order ops ran in: a fusable op joins the chain of a fusable
  op whose output it reads unless one of its inputs depends on that output through another
  kind of op (a matmul, attention, softmax, an embedding, an op with no formula), which ends
  chains as a kernel a compiler calls out to does. Each tensor carries the most such ops on a
  path to it (its depth); a fusable op's output has its inputs' largest depth, and a read is
  fused when the producer's depth equals it. Module boundaries do not end a chain (an
  activation module's output feeds its parent's multiply in registers), a phase does.
- A fusable op that reads a tensor of its chain takes it from registers: that read is saved,
  charged to the reader's module.
- A tensor a chain wrote is never written to memory when every op that reads it is in the same
  chain: that write is saved, charged to the writer's module. Any other reader materializes it:
  an op whose other inputs depend on it through a matmul (the residual add after a layer's
  matmuls), another phase (backward reading what forward saved), an op outside the model, or
  the model's caller (the root's outputs).
- A view reads as its base tensor; creating a view reads nothing. Casts (``_to_copy``) fuse
  like pointwise ops: a fused kernel converts in registers.
- Tensors made before the run (inputs, parameters) have depth 0 and no write to save.

Writes are credited at their first fused read and taken back if the tensor is materialized
later, so the sums are right whenever the run is over. Ops are still priced one by one: a read
of a chain's input by two of its ops counts twice.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn

from ..records import OpCost, OpTotals, Phase
from .module_tracker import ModuleListener

__all__ = ["FusionRecorder", "is_fusable"]

_FUSABLE_TAGS = (torch.Tag.pointwise, torch.Tag.reduction)
_VIEW, _FUSABLE, _OTHER = "view", "fusable", "other"
_CASTS = ("aten._to_copy",)  # untagged, but a fused kernel converts in registers


def is_fusable(func: Any) -> bool:
    """Whether torch tags ``func`` pointwise or a reduction (higher-order ops have no tags)."""
    tags = getattr(func, "tags", ())
    return any(tag in tags for tag in _FUSABLE_TAGS)


@dataclass(slots=True)
class _Written:
    """A tensor an op of the run wrote: its depth and phase, and, when a fusable op wrote it, the
    writer's sums (where a saved write is credited), its size and its write's state."""

    depth: int
    phase: Phase | None
    totals: OpTotals | None = None
    nbytes: int = 0
    credited: bool = False
    materialized: bool = False


class FusionRecorder(ModuleListener):
    """Told of every op the counting mode sees, and of the root's outputs by the module tracker;
    keeps ``OpTotals.fused_bytes`` up to date."""

    def __init__(self) -> None:
        # id(tensor) -> (the tensor, its record); the weakref tells a reused id from the tensor
        self._written: dict[int, tuple[weakref.ReferenceType[torch.Tensor], _Written]] = {}
        self._kinds: dict[Any, str] = {}
        self._plain_records: dict[tuple[int, Phase | None], _Written] = {}

    def op_ran(self, func: Any, args: tuple[Any, ...], out: Any, phase: Phase | None = None,
               totals: OpTotals | None = None, cost: OpCost | None = None) -> None:
        """One op ran, in ``phase`` (None: outside the model). ``totals`` are its sums and
        ``cost`` this call's price when it was priced; None when it was not."""
        kind = self._kinds.get(func)
        if kind is None:
            kind = self._kinds[func] = _kind(func)
        if kind is _VIEW:  # a view reads nothing; what reads the view reads its base
            return
        written = self._written
        reads: list[tuple[torch.Tensor, _Written]] = []
        depth = 0
        for arg in args:  # _record_of inlined: this runs for every op of the run
            if isinstance(arg, torch.Tensor):
                base = arg._base
                if base is None:
                    base = arg
                entry = written.get(id(base))
                if entry is not None and entry[0]() is base:
                    record = entry[1]
                    reads.append((arg, record))
                    if record.depth > depth:
                        depth = record.depth
            elif isinstance(arg, (list, tuple)):  # cat's list
                for item in arg:
                    listed = self._record_of(item) if isinstance(item, torch.Tensor) else None
                    if listed is not None:
                        reads.append((item, listed))
                        depth = max(depth, listed.depth)
        fused = kind is _FUSABLE and cost is not None and totals is not None and phase is not None
        saved_reads = 0
        for tensor, record in reads:
            if fused and record.totals is not None and record.phase is phase and record.depth == depth:
                saved_reads += tensor.numel() * tensor.element_size()
                if not record.credited and not record.materialized:
                    record.credited = True
                    record.totals.fused_bytes += record.nbytes
            elif record.totals is not None:
                _materialize(record)
        if not fused or totals is None or cost is None:
            self._remember(out, self._plain(depth + 1, phase))  # a kernel of its own: chains end here
            return
        if saved_reads:
            totals.fused_bytes += min(saved_reads, cost.bytes_read)
        for tensor in (out,) if isinstance(out, torch.Tensor) else _tensors((out,)):
            nbytes = min(tensor.numel() * tensor.element_size(), cost.bytes_written)
            written[id(tensor)] = (weakref.ref(tensor), _Written(depth, phase, totals, nbytes))

    def _plain(self, depth: int, phase: Phase | None) -> _Written:
        """The record of a tensor no fusable op wrote: only its depth and phase, so one per pair."""
        key = (depth, phase)
        record = self._plain_records.get(key)
        if record is None:
            record = self._plain_records[key] = _Written(depth, phase)
        return record

    def module_left(self, path: str, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                    output: Any, recompute: bool) -> None:
        if path == "":  # the model's caller gets the root's outputs: they are written
            for tensor in _tensors((output,)):
                record = self._record_of(tensor)
                if record is not None:
                    _materialize(record)

    def _remember(self, out: Any, record: _Written) -> None:
        if isinstance(out, torch.Tensor):
            self._written[id(out)] = (weakref.ref(out), record)
            return
        for tensor in _tensors((out,)):
            self._written[id(tensor)] = (weakref.ref(tensor), record)

    def _record_of(self, tensor: torch.Tensor) -> _Written | None:
        base = tensor._base if tensor._base is not None else tensor
        entry = self._written.get(id(base))
        if entry is None or entry[0]() is not base:
            return None
        return entry[1]


def _materialize(record: _Written) -> None:
    """Something outside the chain reads the tensor: it is written after all."""
    if record.materialized:
        return
    record.materialized = True
    if record.credited and record.totals is not None:
        record.credited = False
        record.totals.fused_bytes -= record.nbytes


def _kind(func: Any) -> str:
    if getattr(func, "is_view", False):
        return _VIEW
    packet = getattr(func, "_overloadpacket", None)
    return _FUSABLE if is_fusable(func) or (packet is not None and str(packet) in _CASTS) else _OTHER


def _tensors(values: tuple[Any, ...]) -> Iterator[torch.Tensor]:
    """The tensors among ``values`` and one level of lists inside them."""
    for value in values:
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, torch.Tensor):
                    yield item
