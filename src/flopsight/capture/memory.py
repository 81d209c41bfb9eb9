"""The memory instrument: every tensor storage of a counted run, from creation to free.

It listens to the module tracker (forward scopes, the end of the model's forward, each module's
outputs) and to the ops the counting mode runs (each new output storage). A storage is known by
its identity (``UntypedStorage._cdata``), so views and in-place results are never counted
twice; a weak reference tells when it is freed. Per op the work is O(1) per output; sums, the
peak and what was live then are made once, at the end, in ``tree.memory``.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any, Iterable, Iterator

import torch
from torch import nn
from torch.utils._python_dispatch import is_traceable_wrapper_subclass

from ..records import Phase
from ..records.memory import Category, MemoryRecord, StorageLife
from .module_tracker import ModuleListener
from .tensors import tensors_in

__all__ = ["MemoryRecorder", "storages_of"]


class MemoryRecorder(ModuleListener):
    """Records the storages of one run; ``finish()`` returns them as a ``MemoryRecord``.

    Args:
        model: its parameters and buffers are held through the run.
        inputs: the run's input tensors, held through it too.
        target: whose allocations these are, stated in the result ("cpu", "meta").
    """

    def __init__(self, model: nn.Module, inputs: Iterable[torch.Tensor], *, target: str) -> None:
        self.record = MemoryRecord(target=target)
        self.tick = -1  # the op now running (or last run); -1 before the first
        self._index: dict[int, int] = {}  # live storage identity -> its entry in record.storages
        self._refs: list[weakref.ref[Any]] = []
        self._open: list[tuple[str, int]] = []
        self._active = True
        self.in_optimizer_step = False  # the run's optimizer step: its ops' phase
        for parameter in model.parameters():
            self._held(parameter, Category.PARAMETER)
        for buffer in model.buffers():
            self._held(buffer, Category.BUFFER)
        for tensor in inputs:
            self._held(tensor, Category.INPUT)

    def op_ran(self, output: Any, path: str | None, phase: Phase) -> None:
        """One op ran (charged to ``path``, None outside the model): its new storages."""
        self.tick += 1
        if self.in_optimizer_step:
            phase = Phase.OPTIMIZER
        self.record.paths.append(path)
        self.record.phases.append(phase)
        for tensor in _tensors(output):
            for storage in storages_of(tensor):
                if storage._cdata not in self._index:
                    self._add(storage, StorageLife(storage.nbytes(), self.tick, Category.TEMPORARY, path, phase))

    def mark_gradients(self, gradients: Iterable[torch.Tensor | None]) -> None:
        """The tensors the backward returned are gradients, not scratch."""
        for tensor in gradients:
            if tensor is None:
                continue
            for storage in storages_of(tensor):
                index = self._index.get(storage._cdata)
                if index is not None and self.record.storages[index].created >= 0:
                    self.record.storages[index].category = Category.GRADIENT

    def mark_optimizer_state(self, optimizer: torch.optim.Optimizer) -> None:
        """The tensors the optimizer keeps in its state (moments, steps) are optimizer state."""
        for state in optimizer.state.values():
            for value in state.values():
                if isinstance(value, torch.Tensor):
                    for storage in storages_of(value):
                        index = self._index.get(storage._cdata)
                        if index is not None and self.record.storages[index].created >= 0:
                            self.record.storages[index].category = Category.OPTIMIZER

    def finish(self) -> MemoryRecord:
        """Stop recording: storages still alive stay alive (``freed`` None) in the record."""
        self._active = False
        self._refs.clear()  # a weak reference dropped first never calls back
        self._index.clear()
        return self.record

    def module_entered(self, path: str, module: nn.Module, args: tuple[Any, ...], recompute: bool) -> None:
        if not recompute:
            self._open.append((path, self.tick + 1))

    def module_left(self, path: str, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                    output: Any, recompute: bool) -> None:
        if recompute or not self._open:
            return
        entered, start = self._open.pop()
        self.record.scopes.append((entered, start, self.tick))
        seen: set[int] = set()
        total = 0
        for tensor in tensors_in(output):  # also inside output objects (a returned KV cache)
            for storage in storages_of(tensor):
                if storage._cdata not in seen:
                    seen.add(storage._cdata)
                    total += storage.nbytes()
        self.record.outputs[entered] = self.record.outputs.get(entered, 0) + total
        if entered == "":
            self.record.forward_end = self.tick
            self._after_forward()
            for key in seen:  # what the model returns is its output, whoever saves it too
                index = self._index.get(key)
                if index is not None and self.record.storages[index].created >= 0:
                    self.record.storages[index].category = Category.OUTPUT

    def _after_forward(self) -> None:
        """A tick of its own for the moment the model's forward has returned, so that what is
        freed from then on (the graph's saved tensors, when the output is dropped) was held
        after the forward, and what its frame freed on returning was not."""
        self.tick += 1
        self.record.paths.append(None)
        self.record.phases.append(Phase.FORWARD)

    def _held(self, tensor: torch.Tensor, category: Category) -> None:
        for storage in storages_of(tensor):
            if storage._cdata not in self._index:
                self._add(storage, StorageLife(storage.nbytes(), -1, category))

    def _add(self, storage: torch.UntypedStorage, life: StorageLife) -> None:
        index = len(self.record.storages)
        self.record.storages.append(life)
        self._index[storage._cdata] = index
        self._refs.append(weakref.ref(storage, partial(self._freed, index, storage._cdata)))

    def _freed(self, index: int, key: int, _: Any) -> None:
        if not self._active:
            return
        self.record.storages[index].freed = self.tick
        if self._index.get(key) == index:  # the address may already belong to a new storage
            del self._index[key]


def storages_of(tensor: torch.Tensor) -> list[torch.UntypedStorage]:
    """The storages a tensor holds: its own, or its inner tensors' for a wrapper subclass."""
    if is_traceable_wrapper_subclass(tensor):
        attributes, _ = tensor.__tensor_flatten__()
        inner = [getattr(tensor, name) for name in attributes]
        return [s for t in inner if isinstance(t, torch.Tensor) for s in storages_of(t)]
    try:
        return [tensor.untyped_storage()]
    except (RuntimeError, NotImplementedError):  # sparse and other layouts without one storage
        return []


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)

