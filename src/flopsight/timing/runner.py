"""Timing runs: warm-up, then repeated iterations, each measured on its own.

A timing run never runs under the counting mode, so counting overhead never enters a timing.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from ..capture.preserved import preserved_state
from ..errors import InputError
from .clock import Clock
from .device_info import batch_and_tokens, device_name, model_dtype, tf32_allowed, timed_device
from .module_timer import ModuleTimer
from .result import ModuleTiming, Stats, TimingResult, summarize

LossFn = Callable[[Any], torch.Tensor]


def measure_time(
    model: nn.Module,
    *args: Any,
    kwargs: dict[str, Any] | None = None,
    warmup: int = 2,
    repeat: int = 10,
    backward: bool = False,
    loss_fn: LossFn | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    per_module: bool = True,
) -> TimingResult:
    """Time ``model(*args, **kwargs)``: the whole iteration and each module, median and spread.

    Each of the ``repeat`` iterations after ``warmup`` is measured on its own (never
    cumulatively), with no hook installed; with ``per_module``, ``repeat`` more iterations run
    with the module hooks and give the per-module figures, so the hooks' overhead never enters
    the whole-model figures. On the CPU the clock is ``time.perf_counter``; on CUDA, events recorded in
    the hooks, with one ``torch.cuda.synchronize()`` per iteration. Per-module forward latency
    comes from global forward hooks, per-module backward latency from autograd hooks on each
    module's outputs, inputs and parameters.

    With ``backward=True`` each iteration runs ``loss_fn(output).backward()`` (by default the
    sum of every floating output); with an ``optimizer`` it also runs ``optimizer.step()`` and
    ``optimizer.zero_grad()``, a full training step timed as forward, backward and step.

    Leaves no trace: hooks are removed, and parameters' ``.grad``, buffers (batch-norm
    statistics), the RNG state, and with an optimizer the weights and the optimizer state, are
    restored afterwards, also when the model raises. The grad mode and train flag are the
    caller's: wrap the call in ``torch.no_grad()`` to time inference.

    Args:
        model: the module to time, on the CPU or a CUDA device.
        *args: positional inputs.
        kwargs: keyword inputs.
        warmup: iterations run first and not measured.
        repeat: iterations measured.
        backward: also time the backward pass.
        loss_fn: ``loss_fn(output) -> scalar tensor``; implies ``backward=True``.
        optimizer: also time ``optimizer.step()``; implies ``backward=True``.
        per_module: also time each module, in ``repeat`` more iterations (False times the
            whole model only).

    Returns:
        A TimingResult.

    Example:
        >>> t = measure_time(torch.nn.Linear(8, 4), torch.randn(2, 8), repeat=5)
        >>> t.forward.median > 0, sorted(t.modules), t.batch_size
        (True, [''], 2)
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if warmup < 0 or repeat < 1:
        raise InputError(f"need warmup >= 0 and repeat >= 1, got warmup={warmup}, repeat={repeat}")
    original = getattr(model, "_orig_mod", None)
    kwargs = dict(kwargs or {})
    backward = backward or loss_fn is not None or optimizer is not None
    device = timed_device(model, args, kwargs)
    clock = Clock(device)
    hooked = original if isinstance(original, nn.Module) else model
    timer = ModuleTimer(hooked, clock, backward=backward) if per_module else None
    params = [p for p in model.parameters() if p.requires_grad] if backward else []

    saved_grads = [p.grad for p in params]
    saved_state = _snapshot_training(model, optimizer) if optimizer is not None else None

    phases: dict[str, list[float]] = {"forward": [], "backward": [], "step": [], "iteration": []}
    module_forward: dict[str, list[float]] = {}
    module_backward: dict[str, list[float]] = {}
    module_calls: dict[str, int] = {}
    with preserved_state(model):
        try:
            # Whole-model figures come from iterations with no hook at all; per-module figures
            # from as many more with the module hooks, whose overhead so stays out of the former.
            plan: list[ModuleTimer | None] = [None] * (warmup + repeat)
            plan += [timer] * (repeat if timer is not None else 0)
            for index, hooks in enumerate(plan):
                if backward:
                    for p in params:  # each step starts from no gradient, as after zero_grad
                        p.grad = None
                if hooks is None:
                    marks = _iteration(model, args, kwargs, clock, backward, loss_fn, optimizer)
                    clock.sync()
                    if index >= warmup:
                        for phase, (start, end) in marks.items():
                            phases[phase].append(clock.elapsed(start, end))
                    continue
                hooks.install()
                try:
                    _iteration(model, args, kwargs, clock, backward, loss_fn, optimizer)
                    clock.sync()
                    forward, calls, back = hooks.collect()
                finally:
                    hooks.remove()
                for path, seconds in forward.items():
                    module_forward.setdefault(path, []).append(seconds)
                    module_calls[path] = calls[path]
                for path, seconds in back.items():
                    module_backward.setdefault(path, []).append(seconds)
        finally:
            with torch.no_grad():
                for p, grad in zip(params, saved_grads):
                    p.grad = grad
            if saved_state is not None and optimizer is not None:
                _restore_training(model, optimizer, saved_state)

    modules: dict[str, ModuleTiming] = {}
    if timer is not None:
        for path in timer.order:
            if path in module_forward:
                back_samples = module_backward.get(path)
                modules[path] = ModuleTiming(
                    name=path,
                    calls=module_calls[path],
                    forward=summarize(module_forward[path]),
                    backward=summarize(back_samples) if back_samples else None,
                )
    batch_size, tokens = batch_and_tokens(args, kwargs)

    def stats(name: str) -> Stats | None:
        return summarize(phases[name]) if phases[name] else None

    forward_stats = stats("forward")
    iteration_stats = stats("iteration")
    assert forward_stats is not None and iteration_stats is not None
    return TimingResult(
        device=device.type,
        device_name=device_name(device),
        dtype=model_dtype(model),
        warmup=warmup,
        repeat=repeat,
        forward=forward_stats,
        iteration=iteration_stats,
        backward=stats("backward"),
        optimizer_step=stats("step"),
        modules=modules,
        batch_size=batch_size,
        tokens=tokens,
        tf32=tf32_allowed(device),
    )


def _iteration(
    model: nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    clock: Clock,
    backward: bool,
    loss_fn: LossFn | None,
    optimizer: torch.optim.Optimizer | None,
) -> dict[str, tuple[Any, Any]]:
    """One forward (+ backward + step); the start and end mark of each phase."""
    start = clock.mark()
    if not backward:
        model(*args, **kwargs)
        end = clock.mark()
        return {"forward": (start, end), "iteration": (start, end)}
    with torch.enable_grad():
        output = model(*args, **kwargs)
        loss = loss_fn(output) if loss_fn is not None else _sum_of_floating_outputs(output)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InputError("loss_fn must return a single-element tensor")
    forward_end = clock.mark()
    loss.backward()  # type: ignore[no-untyped-call]
    backward_end = clock.mark()
    marks = {"forward": (start, forward_end), "backward": (forward_end, backward_end)}
    if optimizer is None:
        marks["iteration"] = (start, backward_end)
        return marks
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    step_end = clock.mark()
    marks["step"] = (backward_end, step_end)
    marks["iteration"] = (start, step_end)
    return marks


def _sum_of_floating_outputs(output: Any) -> torch.Tensor:
    flat, _ = tree_flatten(output)
    tensors = [t for t in flat if isinstance(t, torch.Tensor) and t.is_floating_point() and t.requires_grad]
    if not tensors:
        raise InputError("backward timing: the model returned no floating tensor that requires grad; pass loss_fn=")
    return sum((t.float().sum() for t in tensors), torch.zeros((), device=tensors[0].device))


def _snapshot_training(model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and optimizer state before real optimizer steps run."""
    with torch.no_grad():
        weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    return weights, copy.deepcopy(optimizer.state_dict())


def _restore_training(model: nn.Module, optimizer: torch.optim.Optimizer, saved: tuple[dict[str, torch.Tensor], dict[str, Any]]) -> None:
    weights, state = saved
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in weights:
                p.copy_(weights[name])
    # load_state_dict replaces the whole state, so moments created by the timed steps go too.
    optimizer.load_state_dict(state)
