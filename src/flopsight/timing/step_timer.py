"""Times whole steps of the user's own training loop, with no counting: step, forward,
backward, per module.

One ``StepTimer`` times one step: ``start()`` installs the timer hooks (``flopsight.timing``'s:
perf_counter on the CPU, CUDA events on a GPU with one synchronize at the step's end) on every
module, or on the root only, and takes a mark; ``finish()`` takes the closing mark and returns
the step's figures; ``discard()`` removes the hooks without measuring. The step's time runs from one
``tracker.step()`` to the next, so it holds everything the loop does: data loading, forward,
backward, optimizer step.

Hooks on every module cost tens of microseconds per module call (most of it registering the
backward hooks), which a model of many small modules feels in its step time. So the tracker
alternates: whole-step figures come from steps hooked at the root only, per-module figures
from steps hooked everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from ..records import ModuleTiming, TimingResult, summarize
from .clock import Clock
from .device_info import device_name, model_dtype, tf32_allowed
from .module_timer import ModuleTimer

__all__ = ["StepSample", "StepTimer", "step_timing"]


@dataclass(frozen=True)
class StepSample:
    """One timed step: its length, and forward/backward seconds and calls per module path."""

    seconds: float
    forward: dict[str, float]
    calls: dict[str, int]
    backward: dict[str, float]
    per_module: bool


class StepTimer:
    def __init__(self, model: nn.Module, device: torch.device, *, per_module: bool) -> None:
        self.per_module = per_module
        self.clock = Clock(device)
        self.timer = ModuleTimer(model, self.clock, backward=True, root_only=not per_module)
        self.order = self.timer.order
        self._start: Any = None

    def start(self) -> None:
        self.timer.install()
        self._start = self.clock.mark()

    def finish(self) -> StepSample:
        try:
            end = self.clock.mark()
            self.clock.sync()
            forward, calls, backward = self.timer.collect()
            return StepSample(self.clock.elapsed(self._start, end), forward, calls, backward, self.per_module)
        finally:
            self.timer.remove()

    def discard(self) -> None:
        self.timer.remove()


def step_timing(
    model: nn.Module,
    device: torch.device,
    samples: Sequence[StepSample],
    order: Sequence[str],
    *,
    untimed_before: int,
    batch_size: int | None,
    tokens: int | None,
) -> TimingResult:
    """The timed steps as a TimingResult: ``iteration`` is the whole step, ``forward`` and
    ``backward`` the root module's, from the root-only steps (all steps when there are none);
    ``modules`` from the per-module steps; ``optimizer_step`` unknown (None)."""
    whole = [s for s in samples if not s.per_module] or list(samples)
    detailed = [s for s in samples if s.per_module]
    root_backward = [s.backward[""] for s in whole if "" in s.backward]
    modules: dict[str, ModuleTiming] = {}
    for path in order:
        forward = [s.forward[path] for s in detailed if path in s.forward]
        if not forward:
            continue
        backward = [s.backward[path] for s in detailed if path in s.backward]
        calls = next(s.calls[path] for s in detailed if path in s.calls)
        modules[path] = ModuleTiming(path, calls, summarize(forward), summarize(backward) if backward else None)
    return TimingResult(
        device=device.type,
        device_name=device_name(device),
        dtype=model_dtype(model),
        warmup=untimed_before,
        repeat=len(whole),
        forward=summarize([s.forward.get("", 0.0) for s in whole]),
        iteration=summarize([s.seconds for s in whole]),
        backward=summarize(root_backward) if len(root_backward) == len(whole) else None,
        modules=modules,
        batch_size=batch_size,
        tokens=tokens,
        tf32=tf32_allowed(device),
    )
