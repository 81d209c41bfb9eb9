"""Per-module latency of one iteration: an instrument on the module tracker.

Forward: a mark as a module of the model starts and one as it ends (the tracker's forward hook
is ``always_call``, so a forward that raises still ends). Backward: a mark when the module's
backward is entered (the gradients of its outputs are ready) and one when it is left (every
gradient it produces is computed). Recomputation under activation checkpointing is not a
forward and is not timed.

``root_only`` times the model as a whole and nothing inside it (the tracker's ``root_only``),
so the figures carry almost no hook overhead.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..capture.module_tracker import ModuleListener, ModuleTracker
from .clock import Clock

__all__ = ["ModuleTimer"]


class ModuleTimer(ModuleListener):
    """Marks taken in one iteration; ``collect()`` turns them into seconds per module.

    ``install()`` / ``remove()`` put its tracker's hooks in and take them out; the caller pairs
    them in try/finally.
    """

    def __init__(self, model: nn.Module, clock: Clock, *, backward: bool, root_only: bool = False) -> None:
        self.clock = clock
        self.wants_backward = backward
        self.tracker = ModuleTracker(model, root_only=root_only)
        self.tracker.subscribe(self)
        self.order = self.tracker.paths
        self._open: list[tuple[str, Any]] = []
        self.forward_marks: list[tuple[str, Any, Any]] = []
        self.backward_starts: dict[str, list[Any]] = {}
        self.backward_ends: dict[str, list[Any]] = {}

    def install(self) -> None:
        self.tracker.install()

    def remove(self) -> None:
        self.tracker.remove()
        self.reset()

    def reset(self) -> None:
        """Forget the marks of the last iteration and drop its autograd hooks."""
        self.tracker.drop_backward_hooks()
        self._open.clear()
        self.forward_marks.clear()
        self.backward_starts.clear()
        self.backward_ends.clear()

    def collect(self) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
        """Forward seconds, forward calls and backward seconds per module path, this iteration.

        Call after ``clock.sync()``. Several calls of one module are summed.
        """
        clock = self.clock
        forward: dict[str, float] = {}
        calls: dict[str, int] = {}
        for path, start, end in self.forward_marks:
            forward[path] = forward.get(path, 0.0) + clock.elapsed(start, end)
            calls[path] = calls.get(path, 0) + 1
        backward: dict[str, float] = {}
        for path, starts in self.backward_starts.items():
            ends = self.backward_ends.get(path)
            if not ends:
                continue
            # One backward per iteration: from the first output gradient to the last produced.
            first = starts[0] if not clock.cuda else min(starts, key=lambda m: starts[0].elapsed_time(m))
            backward[path] = max(0.0, clock.elapsed(first, clock.latest(first, ends)))
        return forward, calls, backward

    def module_entered(self, path: str, module: nn.Module, args: tuple[Any, ...], recompute: bool) -> None:
        if not recompute:
            self._open.append((path, self.clock.mark()))

    def module_left(self, path: str, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                    output: Any, recompute: bool) -> None:
        if recompute or not self._open:
            return
        end = self.clock.mark()
        entered, start = self._open.pop()
        self.forward_marks.append((entered, start, end))

    def backward_entered(self, path: str) -> None:
        self.backward_starts.setdefault(path, []).append(self.clock.mark())

    def backward_left(self, path: str) -> None:
        self.backward_ends.setdefault(path, []).append(self.clock.mark())
