"""Timing runs: warm-up, then repeated iterations, each measured on its own.

A timing run never runs under the counting mode, so counting overhead never enters a timing.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from ..capture.preserved import preserved_state, training_state_restored
from ..errors import InputError
from .clock import Clock
from .device_info import batch_and_tokens, device_name, model_dtype, tf32_allowed, timed_device
from .module_timer import ModuleTimer
from ..records import ModuleTiming, Stats, TimingResult, summarize

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
    _check_arguments(model, warmup, repeat)
    kwargs = dict(kwargs or {})
    backward = backward or loss_fn is not None or optimizer is not None
    device = timed_device(model, args, kwargs)
    clock = Clock(device)
    original = getattr(model, "_orig_mod", None)  # a torch.compile'd model: hook the original's modules
    hooked = original if isinstance(original, nn.Module) else model
    timer = ModuleTimer(hooked, clock, backward=backward) if per_module else None
    run = _Run(model, args, kwargs, clock, backward, loss_fn, optimizer)
    with preserved_state(model), training_state_restored(model, run.params, optimizer):
        phases = run.whole_model(warmup, repeat)
        modules = run.per_module(timer, repeat) if timer is not None else {}
    batch_size, tokens = batch_and_tokens(args, kwargs)

    def stats(name: str) -> Stats | None:
        return summarize(phases[name]) if phases[name] else None

    return TimingResult(
        device=device.type,
        device_name=device_name(device),
        dtype=model_dtype(model),
        warmup=warmup,
        repeat=repeat,
        forward=summarize(phases["forward"]),
        iteration=summarize(phases["iteration"]),
        backward=stats("backward"),
        optimizer_step=stats("step"),
        modules=modules,
        batch_size=batch_size,
        tokens=tokens,
        tf32=tf32_allowed(device),
    )


def _check_arguments(model: Any, warmup: int, repeat: int) -> None:
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if warmup < 0 or repeat < 1:
        raise InputError(f"need warmup >= 0 and repeat >= 1, got warmup={warmup}, repeat={repeat}")


class _Run:
    """The iterations of one timing run: whole-model ones with no hook at all, then per-module
    ones with the module timer, whose hook overhead so stays out of the whole-model figures."""

    def __init__(self, model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], clock: Clock, backward: bool,
                 loss_fn: LossFn | None, optimizer: torch.optim.Optimizer | None) -> None:
        self.model, self.args, self.kwargs, self.clock = model, args, kwargs, clock
        self.backward, self.loss_fn, self.optimizer = backward, loss_fn, optimizer
        self.params = [p for p in model.parameters() if p.requires_grad] if backward else []

    def whole_model(self, warmup: int, repeat: int) -> dict[str, list[float]]:
        """Seconds of each phase ("forward", "backward", "step", "iteration") per measured iteration."""
        phases: dict[str, list[float]] = {"forward": [], "backward": [], "step": [], "iteration": []}
        for index in range(warmup + repeat):
            marks = self._iteration()
            self.clock.sync()
            if index >= warmup:
                for phase, (start, end) in marks.items():
                    phases[phase].append(self.clock.elapsed(start, end))
        return phases

    def per_module(self, timer: ModuleTimer, repeat: int) -> dict[str, ModuleTiming]:
        """Each module's forward (and backward) latency over ``repeat`` hooked iterations."""
        forward: dict[str, list[float]] = {}
        backward: dict[str, list[float]] = {}
        calls: dict[str, int] = {}
        for _ in range(repeat):
            timer.install()
            try:
                self._iteration()
                self.clock.sync()
                seconds, counts, back = timer.collect()
            finally:
                timer.remove()
            for path, value in seconds.items():
                forward.setdefault(path, []).append(value)
                calls[path] = counts[path]
            for path, value in back.items():
                backward.setdefault(path, []).append(value)
        return {
            path: ModuleTiming(name=path, calls=calls[path], forward=summarize(forward[path]),
                               backward=summarize(backward[path]) if backward.get(path) else None)
            for path in timer.order if path in forward
        }

    def _iteration(self) -> dict[str, tuple[Any, Any]]:
        if self.backward:
            for p in self.params:  # each step starts from no gradient, as after zero_grad
                p.grad = None
        return _iteration(self.model, self.args, self.kwargs, self.clock, self.backward, self.loss_fn, self.optimizer)


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
