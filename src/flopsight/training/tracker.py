"""track(): count chosen steps of a training loop, time others, report per-step averages."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Iterable

import torch
from torch import nn

from ..api import module_types, session_metadata
from ..capture import CountingSession, RecordedCall
from ..errors import InputError
from ..records import CaptureResult, OpTotals, TimingResult
from ..records.communication import CommTotals
from ..report import format_duration, render_text
from ..report.printable import Profile as PrintableProfile
from ..report.timing import render_timing
from ..timing.device_info import batch_and_tokens, timed_device
from ..timing.step_timer import StepSample, StepTimer, step_timing
from ..tree import Achieved, Profile, achieved
from ..distributed.gather import gather
from ..tree.build import build_profile
from ..tree.job import JobProfile

__all__ = ["Tracker", "track"]


class Tracker:
    """Counts and times chosen steps of a training loop; made by ``track()``.

    Call ``step()`` at the start of every iteration (the first call starts step 0). The steps
    in ``steps`` are counted, forward and backward, each in its own window; the optimizer step
    runs outside the model and costs nothing here. The steps in ``time_steps`` run with no
    counting, under timer hooks only: their length (from one ``step()`` to the next), the
    model's forward and backward, and each module's (see ``track``'s ``per_module``), give
    ``timing``; with the counts, achieved FLOPS and MFU (``achieved()``).

    Attributes:
        steps: the step numbers counted.
        time_steps: the step numbers timed.
        step_profiles: one Profile per counted step, in order.
        step_durations: wall seconds of each counted step, from its ``step()`` to the next
            (counting overhead included: use ``timing`` for latency).
    """

    def __init__(self, model: nn.Module, steps: Iterable[int], ignore_types: tuple[type, ...],
                 time_steps: Iterable[int] | None = None, per_module: bool = True) -> None:
        self.model = model
        self.per_module = per_module
        self.steps = sorted(set(int(s) for s in steps))
        if not self.steps or self.steps[0] < 0:
            raise InputError(f"steps must be non-negative step numbers, got {self.steps!r}")
        if time_steps is None:  # as many steps again, right after the counted ones
            time_steps = range(self.steps[-1] + 1, self.steps[-1] + 1 + len(self.steps))
        self.time_steps = sorted(set(int(s) for s in time_steps))
        if self.time_steps and self.time_steps[0] < 0:
            raise InputError(f"time_steps must be non-negative step numbers, got {self.time_steps!r}")
        both = sorted(set(self.steps) & set(self.time_steps))
        if both:
            raise InputError(f"steps {both} are both counted and timed; a timed step must run without counting, "
                             "so give time_steps apart from steps")
        self.current_step = -1
        self.step_profiles: list[Profile] = []
        self.step_durations: list[float] = []
        self._ignore_types = ignore_types
        self._wanted = set(self.steps)
        self._session: CountingSession | None = None
        self._started = 0.0
        self._average: Profile | None = None
        self._results: list[CaptureResult] = []
        self._counted: list[int] = []
        self._timed = set(self.time_steps)
        self._step_timer: StepTimer | None = None
        self._samples: list[StepSample] = []
        self._timed_done: list[int] = []
        self._order: list[str] = []
        self._inputs: tuple[int | None, int | None] | None = None
        self._timing: tuple[int, TimingResult] | None = None

    def step(self) -> None:
        """Mark the start of the next step: close the window or timer of the last, open one if
        this step is counted or timed."""
        self._finish_session()
        self._finish_timed_step()
        self.current_step += 1
        if self.current_step in self._wanted:
            session = CountingSession(self.model, ignore_types=self._ignore_types)
            session.open()
            self._session = session
            self._started = time.perf_counter()
        elif self.current_step in self._timed:
            device = _real_device(self.model)
            if device is not None:
                # Alternate: root-only steps time the whole step cleanly, the others each module.
                per_module = self.per_module and len(self._timed_done) % 2 == 1
                timer = StepTimer(self.model, device, per_module=per_module)
                timer.start()
                self._step_timer = timer

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

    def gather(self, *, dst: int = 0, group: Any = None) -> JobProfile | None:
        """Every rank's per-step average on rank ``dst`` (call it on every rank, after the
        counted steps): the per-rank table, totals and mesh (``flopsight.gather``). Returns
        the ``JobProfile`` on ``dst``, None elsewhere."""
        if self._session is not None:  # the gather's own collective would be counted in the step
            raise InputError("gather() after the counted steps: a counted step is still running")
        return gather(self.profile, dst=dst, group=group)

    @property
    def timing(self) -> TimingResult | None:
        """The timed steps (``time_steps``) as a TimingResult, median and spread over them:
        ``iteration`` is the whole step, ``forward``/``backward`` the model's, ``modules`` each
        module's. None until a timed step has finished, and for a model on the meta device."""
        if not self._samples:
            return None
        if self._timing is None or self._timing[0] != len(self._samples):
            device = _real_device(self.model)
            assert device is not None
            batch, tokens = self._inputs or (None, None)
            self._timing = (len(self._samples), step_timing(
                self.model, device, self._samples, self._order,
                untimed_before=self._timed_done[0], batch_size=batch, tokens=tokens))
        return self._timing[1]

    def achieved(self, peak_tflops: float | None = None) -> Achieved | None:
        """Achieved FLOPS and MFU: the counted per-step FLOPs (forward and backward) over the
        timed steps' median latencies; None until both exist. ``peak_tflops`` overrides the
        built-in peak table."""
        timing = self.timing
        if timing is None or not self.step_profiles:
            return None
        return achieved(self.profile, timing, peak_tflops)

    def summary(self, *, depth: int | None = None, precision: int = 2, peak_tflops: float | None = None) -> str:
        """The text report: the per-step average (forward + backward in the tree), then the
        timed steps' latencies, FLOPS per module and MFU."""
        counted = ", ".join(str(s) for s in self._counted)
        header = f"Per-step average over steps {counted}\n"
        timing = self.timing
        if timing is None:
            mean = sum(self.step_durations) / len(self.step_durations) if self.step_durations else 0.0
            header += f"Mean step time:         {format_duration(mean)} (counting overhead included; no timed step)\n"
        text = header + "\n" + render_text(self.profile, depth=depth, precision=precision, phase="total",
                                           timing=timing)
        if timing is None:
            return text
        timed = ", ".join(str(s) for s in self._timed_done)
        title = f"Timed steps {timed} (no counting; whole-step median over {timing.repeat})"
        return (text + f"\n{title}\n{'-' * len(title)}\n"
                + render_timing(self.profile, timing, self.achieved(peak_tflops), depth=depth, precision=precision)
                + "\n")

    def close(self, *, failed: bool = False) -> None:
        """Close the open window or timer, if any (leaving the ``with`` block does this). A
        timed step cut short by an exception (``failed``) is dropped, not measured."""
        self._finish_session()
        if failed:
            self._discard_timed_step()
        else:
            self._finish_timed_step()

    def _finish_timed_step(self) -> None:
        timer, self._step_timer = self._step_timer, None
        if timer is None:
            return
        self._samples.append(timer.finish())
        if timer.per_module:
            self._order = timer.order
        self._timed_done.append(self.current_step)

    def _discard_timed_step(self) -> None:
        timer, self._step_timer = self._step_timer, None
        if timer is not None:
            timer.discard()

    def _finish_session(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        session.close()
        self.step_durations.append(time.perf_counter() - self._started)
        calls = session.root_calls.calls
        if self._inputs is None and calls:
            self._inputs = _batch_and_tokens_of_step(calls)
        self._results.append(session.result)
        self._counted.append(self.current_step)
        self.step_profiles.append(build_profile(
            self.model, session.result,
            metadata=session_metadata(self.model, session.result, self._ignore_types, step=self.current_step),
            ignore_types=self._ignore_types, profile_type=PrintableProfile,
        ))

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(failed=exc_type is not None)


def _average(model: nn.Module, results: list[CaptureResult], ignore_types: tuple[type, ...], steps: list[int]) -> Profile:
    n = len(results)
    summed = CaptureResult(backward_measured=True)
    for result in results:
        for key, ops in result.charges.items():
            target = summed.charges.setdefault(key, {})
            for op, t in ops.items():
                target.setdefault(op, OpTotals()).add(t, calls=t.calls)
        for listed in ("uncounted", "communication", "bounded"):
            _add_calls(getattr(summed, listed), getattr(result, listed))
        for path, calls in result.forward_calls.items():
            summed.forward_calls[path] = summed.forward_calls.get(path, 0) + calls
        for key, per_group in result.collectives.items():
            target_comm = summed.collectives.setdefault(key, {})
            for group_key, moved in per_group.items():
                target_comm[group_key] = target_comm.get(group_key, CommTotals()) + moved
        summed.process_groups.update(result.process_groups)
    summed.charges = {
        key: {op: OpTotals(calls=t.calls // n, macs=t.macs // n, flops=t.flops // n, bytes_read=t.bytes_read // n,
                           bytes_written=t.bytes_written // n, masked_flops=t.masked_flops // n,
                           fused_bytes=t.fused_bytes // n)
              for op, t in ops.items()}
        for key, ops in summed.charges.items()
    }
    for listed in ("uncounted", "communication", "bounded"):
        setattr(summed, listed, _calls_per_step(getattr(summed, listed), n))
    summed.forward_calls = {path: calls // n for path, calls in summed.forward_calls.items()}
    summed.collectives = {
        key: {group_key: CommTotals(m.calls // n, m.payload_bytes // n, m.bus_bytes / n) for group_key, m in per_group.items()}
        for key, per_group in summed.collectives.items()
    }
    return build_profile(model, summed, ignore_types=ignore_types, profile_type=PrintableProfile,
                         metadata=session_metadata(model, summed, ignore_types, steps_averaged=n, counted_steps=list(steps)))


def _add_calls(into: dict[str, int], calls: dict[str, int]) -> None:
    for op, count in calls.items():
        into[op] = into.get(op, 0) + count


def _calls_per_step(calls: dict[str, int], steps: int) -> dict[str, int]:
    """Calls per counted step; an op that ran in any step stays listed (at least 1), so an
    uncounted, communication or bounded op is never averaged away."""
    return {op: max(1, count // steps) for op, count in calls.items()}


def track(
    model: nn.Module,
    steps: Iterable[int] = range(2, 6),
    *,
    time_steps: Iterable[int] | None = None,
    per_module: bool = True,
    ignore_modules: Iterable[type] | None = None,
) -> Tracker:
    """Count chosen steps of a training loop, time others, and report per-step averages.

    Args:
        model: the module the loop calls.
        steps: step numbers to count, 0 being the first ``tracker.step()``; the default skips
            two warm-up steps and counts four.
        time_steps: step numbers to time, with no counting; by default as many steps as
            ``steps``, right after them (6 to 9 for the default). ``()`` times nothing. A
            loop that ends sooner times fewer steps.
        per_module: also time each module. Module hooks slow a step of many small modules,
            so timed steps alternate: the 1st, 3rd... are hooked at the root only and give
            the step, forward and backward latency; the 2nd, 4th... give each module's.
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
        >>> tracker.timing.repeat  # 6 and 7 timed (the loop ended first); 6 for the whole step
        1
    """
    if not isinstance(model, nn.Module):
        raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return Tracker(model, steps, module_types(ignore_modules), time_steps, per_module)


def _real_device(model: nn.Module) -> torch.device | None:
    """The device timed steps run on; None on meta, where nothing can be timed."""
    first = next(iter(model.parameters()), None)
    if first is not None and first.device.type == "meta":
        return None
    return timed_device(model, (), {})


def _batch_and_tokens_of_step(calls: list[RecordedCall]) -> tuple[int | None, int | None]:
    """Samples and tokens of one step: summed over its calls (micro-batches)."""
    found = [batch_and_tokens(call.args, call.kwargs) for call in calls]
    batches = [b for b, _ in found]
    tokens = [t for _, t in found]
    return (None if None in batches else sum(b for b in batches if b is not None),
            None if None in tokens else sum(t for t in tokens if t is not None))
