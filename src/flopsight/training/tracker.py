"""track(): count chosen steps of a training loop and report their per-step average."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Iterable

from torch import nn

from ..capture import CaptureResult, OpTotals
from ..errors import InputError
from ..report import render_text
from ..tree import Profile, build_profile
from .report import format_duration
from ..api import module_types
from .window import CountingWindow, run_metadata

__all__ = ["Tracker", "track"]


class Tracker:
    """Counts the chosen steps of a training loop; made by ``track()``.

    Call ``step()`` at the start of every iteration (the first call starts step 0). The steps
    in ``steps`` are counted, forward and backward, each in its own window; the optimizer step
    runs outside the model and costs nothing here.

    Attributes:
        steps: the step numbers counted.
        step_profiles: one Profile per counted step, in order.
        step_durations: wall seconds of each counted step, from its ``step()`` to the next
            (counting overhead included).
    """

    def __init__(self, model: nn.Module, steps: Iterable[int], ignore_types: tuple[type, ...]) -> None:
        self.model = model
        self.steps = sorted(set(int(s) for s in steps))
        if not self.steps or self.steps[0] < 0:
            raise InputError(f"steps must be non-negative step numbers, got {self.steps!r}")
        self.current_step = -1
        self.step_profiles: list[Profile] = []
        self.step_durations: list[float] = []
        self._ignore_types = ignore_types
        self._wanted = set(self.steps)
        self._window: CountingWindow | None = None
        self._started = 0.0
        self._average: Profile | None = None
        self._results: list[CaptureResult] = []
        self._counted: list[int] = []

    def step(self) -> None:
        """Mark the start of the next step: close the window of the last, open one if counted."""
        self._finish_window()
        self.current_step += 1
        if self.current_step in self._wanted:
            window = CountingWindow(self.model, self._ignore_types)
            window.open()
            self._window = window
            self._started = time.perf_counter()

    @property
    def profile(self) -> Profile:
        """Per-step average of the counted steps: each count summed over them, divided by their
        number (rounded down). Raises InputError while no counted step has finished."""
        if not self.step_profiles:
            raise InputError(f"no counted step finished yet: steps {self.steps} were asked for, "
                             f"the loop reached step {self.current_step}")
        if self._average is None or self._average.metadata["steps_averaged"] != len(self.step_profiles):
            self._average = _average(self.model, self._results, self._ignore_types, self._counted)
        return self._average

    def summary(self, *, depth: int | None = None, precision: int = 2) -> str:
        """The text report of the per-step average, forward + backward in the tree."""
        counted = ", ".join(str(s) for s in self._counted)
        mean = sum(self.step_durations) / len(self.step_durations) if self.step_durations else 0.0
        header = (f"Per-step average over steps {counted}\n"
                  f"Mean step time:         {format_duration(mean)} (counting overhead included)\n\n")
        return header + render_text(self.profile, depth=depth, precision=precision, phase="total")

    def close(self) -> None:
        """Close the open window, if any (leaving the ``with`` block does this)."""
        self._finish_window()

    def _finish_window(self) -> None:
        window, self._window = self._window, None
        if window is None:
            return
        window.close()
        self.step_durations.append(time.perf_counter() - self._started)
        self._results.append(window.result)
        self._counted.append(self.current_step)
        self.step_profiles.append(build_profile(
            self.model, window.result,
            metadata=run_metadata(self.model, window.result, self._ignore_types, step=self.current_step),
            ignore_types=self._ignore_types,
        ))

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _average(model: nn.Module, results: list[CaptureResult], ignore_types: tuple[type, ...], steps: list[int]) -> Profile:
    n = len(results)
    summed = CaptureResult(backward_measured=True)
    for result in results:
        for key, ops in result.charges.items():
            target = summed.charges.setdefault(key, {})
            for op, t in ops.items():
                target.setdefault(op, OpTotals()).add(t, calls=t.calls)
        for op, calls in result.uncounted.items():
            summed.uncounted[op] = summed.uncounted.get(op, 0) + calls
        for path, calls in result.forward_calls.items():
            summed.forward_calls[path] = summed.forward_calls.get(path, 0) + calls
    summed.charges = {
        key: {op: OpTotals(calls=t.calls // n, macs=t.macs // n, flops=t.flops // n, bytes_read=t.bytes_read // n,
                           bytes_written=t.bytes_written // n, masked_flops=t.masked_flops // n)
              for op, t in ops.items()}
        for key, ops in summed.charges.items()
    }
    summed.uncounted = {op: calls // n for op, calls in summed.uncounted.items()}
    summed.forward_calls = {path: calls // n for path, calls in summed.forward_calls.items()}
    return build_profile(model, summed, ignore_types=ignore_types,
                         metadata=run_metadata(model, summed, ignore_types, steps_averaged=n, counted_steps=list(steps)))


def track(model: nn.Module, steps: Iterable[int] = range(2, 6), *, ignore_modules: Iterable[type] | None = None) -> Tracker:
    """Count chosen steps of a training loop and report their per-step average.

    Args:
        model: the module the loop calls.
        steps: step numbers to count, 0 being the first ``tracker.step()``; the default skips
            two warm-up steps and counts four.
        ignore_modules: module types whose ops are not counted.

    Returns:
        A Tracker, to be used as a context manager.

    Example:
        >>> model = torch.nn.Linear(8, 4)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> with flopsight.track(model, steps=range(2, 6)) as tracker:
        ...     for _ in range(8):
        ...         tracker.step()
        ...         model(torch.randn(2, 8)).sum().backward()
        ...         opt.step()
        ...         opt.zero_grad()
        >>> tracker.profile.forward.macs, tracker.profile.backward.macs
        (64, 64)
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return Tracker(model, steps, module_types(ignore_modules))
