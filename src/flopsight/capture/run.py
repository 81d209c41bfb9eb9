"""One instrumented run of a model: forward, and backward if asked. Leaves no trace."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch
from torch import nn

from ..errors import InputError
from ..records import CaptureResult
from .memory import MemoryRecorder, MemoryTarget
from .preserved import preserved_state
from .session import CountingSession

LossFn = Callable[[Any], torch.Tensor]


def capture(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    backward: bool = False,
    loss_fn: LossFn | None = None,
    ignore_types: tuple[type, ...] = (),
    memory: bool = False,
    memory_target: MemoryTarget | str | None = None,
) -> CaptureResult:
    """Run ``model(*args, **kwargs)`` (and its backward) once under the counting mode.

    Everything installed is removed in ``finally``; buffers changed or reassigned by the run
    (batch-norm statistics, a step counter) and the random state are restored; gradients are
    computed with ``torch.autograd.grad`` so no ``.grad`` field changes. Returns the charges,
    and with ``memory`` the storages the run held (``result.memory``), for ``memory_target``
    (``MemoryTarget``: by default a CUDA device on meta and cuda, as run elsewhere).
    """
    on_meta = uses_meta(model, args, kwargs)
    recorder = None
    if memory:
        recorder = MemoryRecorder(model, _tensors(args) + _tensors(kwargs), device="meta" if on_meta else _device(model),
                                  target=memory_target)
    session = CountingSession(model, ignore_types=ignore_types, backward=backward, meta=on_meta, memory=recorder)
    try:
        with preserved_state(model), session, (torch.enable_grad() if backward else contextlib.nullcontext()):
            output = model(*args, **kwargs)
            if backward:
                gradients = _run_backward(model, args, kwargs, output, loss_fn)
                if recorder is not None:
                    recorder.mark_gradients(gradients)
            del output  # freed inside the run, as a training step frees it
    finally:
        if recorder is not None:
            session.result.memory = recorder.finish()
    return session.result


def _device(model: nn.Module) -> str:
    first = next(iter(model.parameters()), None)
    return "cpu" if first is None else first.device.type


def _run_backward(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any,
                  loss_fn: LossFn | None) -> tuple[torch.Tensor | None, ...]:
    loss = loss_fn(output) if loss_fn is not None else _sum_of_floating_outputs(output)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InputError("loss_fn must return a single-element tensor; got "
                         f"{type(loss).__name__}{'' if not isinstance(loss, torch.Tensor) else list(loss.shape)}")
    wrt = gradient_targets(loss, [t for t in _tensors(args) + _tensors(kwargs) if t.requires_grad])
    if not loss.requires_grad or not wrt:
        raise InputError("backward=True but nothing requires grad: the model has no trainable "
                         "parameters and no input requires grad")
    return torch.autograd.grad(loss, wrt, allow_unused=True)


def gradient_targets(loss: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """What ``loss.backward()`` would differentiate for: every leaf of the graph that requires
    grad, and the inputs that require grad (leaves or not: the graph above a non-leaf input lies
    outside the model, so the walk stops there and its gradient is the target).

    Walking the graph, not ``model.parameters()``, finds the parameters the forward really used:
    FSDP2 swaps unsharded parameters in for the forward and the sharded ones back after it.
    """
    targets: dict[int, torch.Tensor] = {id(t): t for t in inputs}
    stops = {t.grad_fn for t in inputs if t.grad_fn is not None}
    pending = [loss.grad_fn] if loss.grad_fn is not None else []
    seen: set[Any] = set()
    while pending:
        node = pending.pop()
        if node in seen or node in stops:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)  # an AccumulateGrad node holds its leaf
        if isinstance(variable, torch.Tensor):
            targets.setdefault(id(variable), variable)
        pending.extend(child for child, _ in node.next_functions if child is not None)
    return list(targets.values())


def _sum_of_floating_outputs(output: Any) -> torch.Tensor:
    floating = [t for t in _tensors(output) if t.is_floating_point() and t.requires_grad]
    if not floating:
        raise InputError("backward=True but the model returned no floating tensor that requires grad; "
                         "pass loss_fn=... to say what to differentiate")
    total = floating[0].sum()
    for tensor in floating[1:]:
        total = total + tensor.sum()
    return total


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a nested structure of tuples, lists, dicts and dataclass-like outputs."""
    found: list[torch.Tensor] = []
    pending = [value]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif hasattr(item, "__dict__") and id(item) not in seen and not isinstance(item, (nn.Module, type)):
            seen.add(id(item))
            pending.extend(v for v in vars(item).values() if isinstance(v, (torch.Tensor, list, tuple, dict)))
    return found


def uses_meta(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether the run is on meta: a meta parameter or input (integer inputs may stay real)."""
    first = next(iter(model.parameters()), None)
    if first is not None and first.device.type == "meta":
        return True
    return any(t.device.type == "meta" for t in _tensors(args) + _tensors(kwargs))
