"""One instrumented run of a model: forward, and backward if asked. Leaves no trace."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch
from torch import nn

from ..errors import InputError
from ..records import CaptureResult
from .memory import MemoryRecorder, MemoryTarget
from .preserved import preserved_state, training_state_restored
from .session import CountingSession
from .sharded import is_distributed
from .tensors import tensors_in, uses_meta

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
    optimizer: torch.optim.Optimizer | None = None,
    memory_target: MemoryTarget | str | None = None,
) -> CaptureResult:
    """Run ``model(*args, **kwargs)`` (and its backward) once under the counting mode.

    Everything installed is removed in ``finally``; buffers changed or reassigned by the run
    (batch-norm statistics, a step counter) and the random state are restored; gradients are
    computed with ``torch.autograd.grad`` so no ``.grad`` field changes. Returns the charges,
    and with ``memory`` the storages the run held (``result.memory``), for ``memory_target``
    (``MemoryTarget``: by default a CUDA device on meta and cuda, as run elsewhere).

    With an ``optimizer`` (and ``backward``) the gradients are put in the parameters' ``.grad``
    and a real ``optimizer.step()`` runs too, outside any module (its state is allocated as the
    optimizer allocates it, on meta too); the weights, gradients and optimizer state are put
    back afterwards.
    """
    on_meta = uses_meta(model, args, kwargs)
    recorder = None
    if memory:
        device = "meta" if on_meta or _fake(model) else _device(model)
        recorder = MemoryRecorder(model, tensors_in(args) + tensors_in(kwargs), device=device, target=memory_target)
    session = CountingSession(model, ignore_types=ignore_types, backward=backward, meta=on_meta, memory=recorder)
    stepped = _stepped_parameters(optimizer)
    # A sharded or replicated model's backward runs as loss.backward() (its hooks communicate
    # on .grad): every .grad it writes, inputs' too, is put back afterwards.
    through_grad = backward and is_distributed(model)
    written = list(model.parameters()) + [t for t in tensors_in(args) + tensors_in(kwargs) if t.requires_grad]
    restored = _unique(stepped + (written if through_grad else []))
    _clear_autocast_cache()
    cuda = _cuda_device(model) if recorder is not None else None
    start = _cuda_start(cuda) if cuda is not None else 0
    try:
        with preserved_state(model), training_state_restored(model, restored, optimizer), session, (
            torch.enable_grad() if backward else contextlib.nullcontext()
        ):
            output = model(*args, **kwargs)
            if backward:
                targets, gradients = _run_backward(model, args, kwargs, output, loss_fn, through_grad=through_grad)
                if recorder is not None:
                    recorder.mark_gradients(gradients)
                if optimizer is not None:
                    if recorder is not None:
                        recorder.in_optimizer_step = True
                    _optimizer_step(optimizer, stepped, targets, gradients)
                    if recorder is not None:
                        recorder.in_optimizer_step = False
                        recorder.mark_optimizer_state(optimizer)
            if recorder is not None:  # the step ends holding its output, gradients and state
                session.result.memory = recorder.finish()
                if cuda is not None:
                    session.result.memory.measured = _cuda_measured(cuda, start)
    finally:
        _clear_autocast_cache()
        if recorder is not None and session.result.memory is None:  # a run that raised
            session.result.memory = recorder.finish()
    return session.result


def _cuda_device(model: nn.Module) -> torch.device | None:
    first = next(iter(model.parameters()), None)
    return first.device if first is not None and first.device.type == "cuda" else None


def _cuda_start(device: torch.device) -> int:
    """Start a measured window on a real CUDA device (this resets its peak statistics)."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    return int(torch.cuda.memory_allocated(device))


def _cuda_measured(device: torch.device, start: int) -> dict[str, int]:
    torch.cuda.synchronize(device)
    return {"start_allocated": start, "peak_allocated": int(torch.cuda.max_memory_allocated(device)),
            "peak_reserved": int(torch.cuda.max_memory_reserved(device))}


def _clear_autocast_cache() -> None:
    """Inside an autocast region, the run starts from an empty cast cache, as a step in its own
    region does, and leaves none of its casts behind. (The cache only saves recasting weights.)"""
    if any(torch.is_autocast_enabled(device) for device in ("cpu", "cuda")):
        torch.clear_autocast_cache()


def _fake(model: nn.Module) -> bool:
    """Fake parameters (a simulated job's, ``flopsight.distributed``) hold no memory, as meta
    ones: their storages stand for a CUDA device's by default, as a meta run's do."""
    from torch._subclasses.fake_tensor import FakeTensor

    from .sharded import local_tensor

    first = next(iter(model.parameters()), None)
    return first is not None and isinstance(local_tensor(first), FakeTensor)


def _device(model: nn.Module) -> str:
    first = next(iter(model.parameters()), None)
    return "cpu" if first is None else first.device.type


def _stepped_parameters(optimizer: torch.optim.Optimizer | None) -> list[torch.Tensor]:
    if optimizer is None:
        return []
    return [p for group in optimizer.param_groups for p in group["params"]]


def _optimizer_step(optimizer: torch.optim.Optimizer, stepped: list[torch.Tensor], targets: list[torch.Tensor],
                    gradients: tuple[torch.Tensor | None, ...]) -> None:
    """``optimizer.step()`` on the gradients of this backward, as after ``loss.backward()``
    with the gradients zeroed (set to None) before it."""
    by_target = {id(t): g for t, g in zip(targets, gradients)}
    for parameter in stepped:
        parameter.grad = by_target.get(id(parameter))
    optimizer.step()


def _run_backward(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any, loss_fn: LossFn | None,
                  *, through_grad: bool = False) -> tuple[list[torch.Tensor], tuple[torch.Tensor | None, ...]]:
    loss = loss_fn(output) if loss_fn is not None else _sum_of_floating_outputs(output)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InputError("loss_fn must return a single-element tensor; got "
                         f"{type(loss).__name__}{'' if not isinstance(loss, torch.Tensor) else list(loss.shape)}")
    wrt = gradient_targets(loss, [t for t in tensors_in(args) + tensors_in(kwargs) if t.requires_grad])
    if not loss.requires_grad or not wrt:
        raise InputError("backward=True but nothing requires grad: the model has no trainable "
                         "parameters and no input requires grad")
    if not through_grad:
        return wrt, torch.autograd.grad(loss, wrt, allow_unused=True)
    # After loss.backward() FSDP2 has put the sharded parameters back, with their gradients.
    targets = _unique(list(model.parameters()) + [t for t in wrt if not isinstance(t, nn.Parameter)])
    for tensor in targets:
        tensor.grad = None
    loss.backward()  # type: ignore[no-untyped-call]
    return targets, tuple(t.grad for t in targets)


def _unique(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return list({id(t): t for t in tensors}.values())


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
    floating = [t for t in tensors_in(output) if t.is_floating_point() and t.requires_grad]
    if not floating:
        raise InputError("backward=True but the model returned no floating tensor that requires grad; "
                         "pass loss_fn=... to say what to differentiate")
    total = floating[0].sum()
    for tensor in floating[1:]:
        total = total + tensor.sum()
    return total
