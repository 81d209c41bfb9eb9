"""The memory instrument: every tensor storage of a counted run, from creation to free.

It listens to the module tracker (forward scopes, the end of the model's forward, each module's
outputs) and to the ops the counting mode runs (each new output storage). A storage is known by
its identity (``UntypedStorage._cdata``), so views and in-place results are never counted
twice; a weak reference tells when it is freed. Per op the work is O(1) per output; sums, the
peak and what was live then are made once, at the end, in ``tree.memory``.

Whose memory the record stands for is the run's ``MemoryTarget``: by default a meta run stands
for a CUDA device (the session runs dropout and RMSNorm as CUDA's fused kernels, and SDPA fused,
``capture.attention_on_meta``; the tree sizes every storage as the CUDA caching allocator
would), a CUDA run is sized by that allocator too, and a CPU run reports what the CPU kept.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import partial
from typing import Any, Iterable, Iterator

import torch
from torch import nn
from torch.utils._python_dispatch import is_traceable_wrapper_subclass

from ..errors import InputError
from ..records import Phase
from ..records.memory import Category, MemoryRecord, StorageLife
from .module_tracker import ModuleListener
from .tensors import tensors_in

__all__ = ["MEMORY_TARGETS", "MemoryRecorder", "MemoryTarget", "storages_of"]

CUDA = "cuda"
AS_RUN = "as-run"
MEMORY_TARGETS = (CUDA, AS_RUN)
_CUDA_DEVICES = ("meta", "cuda")  # where a CUDA target makes sense: simulated, or real


@dataclass(frozen=True, slots=True)
class MemoryTarget:
    """Whose memory a run reports, as the caller chose it (``flopsight.profile(memory_target=)``).

    Attributes:
        kind: "cuda": as a CUDA device holds it (on meta, simulated: CUDA's kernels' save sets,
            and every storage sized by the CUDA caching allocator; on cuda, the allocator's
            blocks and segments); "as-run": each storage's own bytes, as the run's kernels
            allocated them; None: "cuda" on meta and cuda, "as-run" on any other device.
        cuda_context_bytes: a fixed line, 0 unless given, for what a CUDA device holds beside
            the run's tensors: the CUDA context (about 300-500 MiB, by GPU, driver and CUDA
            version, outside the caching allocator) and the library workspaces a meta run
            never allocates (cuBLAS: 8 MiB + 128 KiB per handle and stream by default, 32 MiB
            on Hopper and Blackwell, taken from the caching allocator on a real run).
    """

    kind: str | None = None
    cuda_context_bytes: int = 0

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in MEMORY_TARGETS:
            raise InputError(f"memory_target must be 'cuda' or 'as-run' (or None for the default), got {self.kind!r}")
        context = self.cuda_context_bytes
        if isinstance(context, bool) or not isinstance(context, int) or context < 0:
            raise InputError(f"cuda_context_bytes must be a non-negative int, got {context!r}")

    def resolved(self, device: str) -> tuple[str, bool]:
        """For a run on ``device``: the label stated in the summary, and whether the CUDA
        caching allocator sizes the storages."""
        kind = self.kind or (CUDA if device in _CUDA_DEVICES else AS_RUN)
        if kind == CUDA and device not in _CUDA_DEVICES:
            raise InputError(f"memory_target='cuda' needs a run on meta (simulated) or on cuda; this one runs on "
                             f"{device}: move the model to meta, or use memory_target='as-run'")
        if kind == AS_RUN and self.cuda_context_bytes:
            raise InputError("cuda_context_bytes is a line of the 'cuda' memory target; this run reports as-run")
        if kind == AS_RUN:
            return device, False
        return ("cuda (simulated on meta)" if device == "meta" else "cuda"), True


class MemoryRecorder(ModuleListener):
    """Records the storages of one run; ``finish()`` returns them as a ``MemoryRecord``.

    Args:
        model: its parameters and buffers are held through the run.
        inputs: the run's input tensors, held through it too.
        device: the device the run's kernels allocate on ("cpu", "meta", "cuda").
        target: whose memory the record stands for (a ``MemoryTarget``, or its kind).

    ``cuda_on_meta`` tells the session to run ops as CUDA's kernels would (dropout and RMSNorm
    fused).
    """

    def __init__(self, model: nn.Module, inputs: Iterable[torch.Tensor], *, device: str,
                 target: MemoryTarget | str | None = None) -> None:
        if not isinstance(target, MemoryTarget):
            target = MemoryTarget(target)
        label, cuda_allocator = target.resolved(device)
        self.cuda_on_meta = cuda_allocator and device == "meta"
        self.record = MemoryRecord(target=label, cuda_allocator=cuda_allocator,
                                   context_bytes=target.cuda_context_bytes)
        self.tick = -1  # the op now running (or last run); -1 before the first
        self._index: dict[int, int] = {}  # live storage identity -> its entry in record.storages
        self._refs: list[weakref.ref[Any]] = []
        self._open: list[tuple[str, int]] = []
        self._active = True
        self.in_optimizer_step = False  # the run's optimizer step: its ops' phase
        self._where: tuple[str | None, Phase] = (None, Phase.FORWARD)  # the last op's, for resizes
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
        self._where = (path, phase)
        for tensor in _tensors(output):
            for storage in storages_of(tensor):
                if storage._cdata not in self._index:
                    self._add(storage, StorageLife(storage.nbytes(), self.tick, Category.TEMPORARY, path, phase))

    def storage_resized(self, storage: torch.UntypedStorage) -> None:
        """A storage was resized in place (``capture.storage_resize``): its bytes so far are
        freed after the last op, and what it holds now (if anything) is live from the next."""
        if not self._active:
            return
        key = storage._cdata
        index = self._index.pop(key, None)
        category = Category.TEMPORARY
        if index is not None:
            life = self.record.storages[index]
            life.freed = max(self.tick, life.created)
            category = life.category
        nbytes = storage.nbytes()
        if nbytes:
            path, phase = self._where
            self._add(storage, StorageLife(nbytes, self.tick + 1, category, path, phase))

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
        life = self.record.storages[index]
        if life.freed is None:  # a resize to 0 may have freed its bytes already
            life.freed = max(self.tick, life.created)
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
    """An op's output tensors. Ops return tensors, or lists and tuples of them: this per-op walk
    stays this short; a module's outputs (model output objects) go through ``tensors_in``."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)

