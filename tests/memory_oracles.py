"""Independent references for the memory instrument, built on PyTorch's own machinery only.

- ``saved_activation_bytes``: the storages autograd saves for backward during a forward, seen
  through saved-tensor hooks, each storage once (by ``untyped_storage()._cdata``), without the
  parameters, buffers and inputs, without the model's outputs, and only those still alive when
  the forward has returned. This is what an activation is, when nothing but autograd holds one.
- ``mem_tracker_peak``: PyTorch's ``MemTracker`` peak ("Total") of a training step whose output
  is held until the backward ends, the gradients zeroed afterwards.

Neither imports flopsight; both leave the model as they found it (gradients set back to None).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Iterator

import torch
from torch import nn

__all__ = ["mem_tracker_peak", "saved_activation_bytes", "storage_keys", "tensors_in"]


def tensors_in(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor reachable in an output: tuples, lists, dicts (a ``ModelOutput``) and plain
    objects' attributes (a ``DynamicCache`` and its layers)."""
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            yield item
        elif id(item) in seen:
            continue
        elif isinstance(item, dict):
            seen.add(id(item))
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            seen.add(id(item))
            pending.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, (nn.Module, type)):
            seen.add(id(item))
            pending.extend(vars(item).values())


def storage_keys(tensors: Any) -> set[int]:
    """The storage identities of the tensors in ``tensors`` (any nesting)."""
    return {t.untyped_storage()._cdata for t in tensors_in(tensors)}


def saved_activation_bytes(model: nn.Module, *args: Any, kwargs: dict[str, Any] | None = None) -> int:
    """Bytes of the distinct storages autograd saved in ``model(*args, **kwargs)`` and still
    holds after it returns, less parameters, buffers, inputs and the outputs' own storages."""
    kwargs = kwargs or {}
    held = storage_keys([list(model.parameters()), list(model.buffers()), list(args), kwargs])
    saved: dict[int, tuple[int, weakref.ref[torch.UntypedStorage]]] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key not in held:
            known = saved.get(key)
            if known is None or known[1]() is None:  # a freed storage's address, reused
                saved[key] = (storage.nbytes(), weakref.ref(storage))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(*args, **kwargs)
    outputs = storage_keys(output)
    total = sum(nbytes for key, (nbytes, alive) in saved.items() if alive() is not None and key not in outputs)
    del output
    return total


def mem_tracker_peak(model: nn.Module, *args: Any, loss_fn: Callable[[Any], torch.Tensor] | None = None,
                     kwargs: dict[str, Any] | None = None) -> int:
    """MemTracker's peak "Total" on CPU for ``loss_fn(model(*args)).backward()``, the output held
    until the backward ends; the gradients it made are set back to None."""
    from torch.distributed._tools.mem_tracker import MemTracker

    kwargs = kwargs or {}
    loss_fn = loss_fn or (lambda output: output.sum())
    tracker = MemTracker()
    tracker.track_external(model, *[t for t in tensors_in([list(args), kwargs])])
    with tracker:
        output = model(*args, **kwargs)
        loss_fn(output).backward()
        del output
    model.zero_grad(set_to_none=True)
    return int(tracker.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"])
