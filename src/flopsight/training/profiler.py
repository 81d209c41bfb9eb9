"""DeepSpeed's FlopsProfiler over flopsight's engine: counts what the user's loop runs."""

from __future__ import annotations

import contextlib
import copy
from types import TracebackType
from typing import Any, Iterable

from torch import nn

from ..api import module_types, session_metadata
from ..atomic_write import write_report
from ..capture import CountingSession, RecordedCall
from ..errors import InputError
from ..records import CaptureResult, TimingResult
from ..report import format_count, format_duration, format_params, render_latency_section, render_report
from ..report.printable import Profile as PrintableProfile
from ..timing.replay import time_calls
from ..tree import Achieved, Profile, achieved
from ..distributed.gather import gather
from ..tree.build import build_profile
from ..tree.job import JobProfile
from ..uncounted_warning import warn_if_uncounted

__all__ = ["FlopsProfiler"]


class FlopsProfiler:
    """DeepSpeed's ``FlopsProfiler``, with flopsight's counts: counts what the user's loop runs.

    Args:
        model: the module whose calls are counted.
        ds_engine: accepted for DeepSpeed compatibility; unused (flopsight reads no engine
            configuration; data- and model-parallel sizes are not reported).
        recompute_fwd_factor: accepted for compatibility; unused. DeepSpeed adds
            ``factor x forward`` to estimate activation recomputation; flopsight measures
            the recomputation when a backward with checkpointing runs inside the window
            (``profile.recompute``).
        timing_warmup, timing_repeat: untimed and timed iterations of the replay behind
            ``get_total_duration`` and the printed latencies; ``timing_repeat=0`` replays
            nothing (for a forward that changes its own inputs, such as a KV cache).

    Meanings, as in DeepSpeed: ``get_total_flops``/``get_total_macs`` are the forward pass's
    (a backward run inside the window is in ``profile.backward``); ``get_total_duration`` is
    the latency of the model's forward calls in the window. Unlike DeepSpeed, that latency is
    not taken inside the window, where the counting mode slows every op: the window records
    each call and a timing run replays it afterwards (``timing``), so per-module latency,
    achieved FLOPS and MFU are clean. ``stop_profile`` removes everything installed and keeps
    the counts; ``end_profile`` also drops the counts. Each ``start_profile`` starts from zero.

    Example:
        >>> prof = FlopsProfiler(torch.nn.Linear(8, 4))
        >>> prof.start_profile()
        >>> try:
        ...     _ = prof.model(torch.randn(2, 8))
        ... finally:
        ...     prof.stop_profile()
        >>> prof.get_total_macs(), prof.get_total_flops(), prof.get_total_params()
        (64, 136, 36)

    or ``with FlopsProfiler(model) as prof: model(x)``, which stops the profile on leaving.
    """

    def __init__(
        self,
        model: nn.Module,
        ds_engine: Any = None,
        recompute_fwd_factor: float = 0.0,
        *,
        timing_warmup: int = 1,
        timing_repeat: int = 5,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise InputError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if timing_warmup < 0 or timing_repeat < 0:
            raise InputError(f"timing_warmup and timing_repeat must be >= 0, got {timing_warmup} and {timing_repeat}")
        self.model = model
        self.ds_engine = ds_engine
        self.recompute_fwd_factor = recompute_fwd_factor
        self.timing_warmup = timing_warmup
        self.timing_repeat = timing_repeat
        self._session: CountingSession | None = None
        self._ignore_types: tuple[type, ...] = ()
        self._profile: Profile | None = None
        self._duration = 0.0
        self._calls: list[RecordedCall] = []
        self._timing: tuple[int, TimingResult | None] | None = None

    @property
    def started(self) -> bool:
        """Whether a window is open (start_profile called, stop_profile not yet)."""
        return self._session is not None and self._session.is_open

    @property
    def profile(self) -> Profile:
        """The Profile of the last stopped window, or of the running one so far.

        DeepSpeed's engine reads the totals and prints before it ends the profile, without
        ``stop_profile()``; so while a window is open this is a snapshot of its counts so far.
        Raises InputError when there is no window since the last start, reset or end.
        """
        session = self._session
        if session is not None:
            return self._build(session, copy.deepcopy(session.result))
        if self._profile is None:
            raise InputError("no profile yet: call start_profile(), run the model, then stop_profile()")
        return self._profile

    def gather(self, *, dst: int = 0, group: Any = None) -> JobProfile | None:
        """Every rank's figures of the last window on rank ``dst`` (call it on every rank, after
        ``stop_profile()``): the per-rank table, the totals and the mesh (``flopsight.gather``).
        Returns the ``JobProfile`` on ``dst``, None elsewhere."""
        if self.started:  # the gather's own collective would be counted in the window
            raise InputError("gather() after stop_profile(): the window is still open")
        return gather(self.profile, dst=dst, group=group)

    def _build(self, session: CountingSession, result: CaptureResult) -> Profile:
        result.forward_calls = dict(session.tracker.forward_calls)
        metadata = session_metadata(self.model, result, self._ignore_types, forward_raised=session.forward_raised)
        return build_profile(self.model, result, metadata=metadata, ignore_types=self._ignore_types,
                             profile_type=PrintableProfile)

    def start_profile(self, ignore_list: Iterable[type] | None = None) -> None:
        """Open a counting window; ops of every ``model(...)`` call from now on are counted.

        Args:
            ignore_list: module types whose ops are not counted.
        """
        self._discard()
        self._ignore_types = module_types(ignore_list, "ignore_list")
        session = CountingSession(self.model, ignore_types=self._ignore_types)
        session.open()
        self._session = session

    def stop_profile(self) -> None:
        """Close the window, remove everything it installed, and keep its counts."""
        session = self._session
        if session is None:
            return
        self._session = None
        session.close()
        self._duration = session.root_calls.duration
        self._calls = session.root_calls.calls
        self._profile = self._build(session, session.result)
        warn_if_uncounted(self._profile.uncounted_ops)

    def end_profile(self) -> None:
        """Close the window if open and drop every count (DeepSpeed's end_profile)."""
        self._discard()

    def reset_profile(self) -> None:
        """Set the counts to zero; a running window keeps running from zero."""
        running = self.started
        self._discard()
        if running:
            self.start_profile(self._ignore_types)

    def get_total_flops(self, as_string: bool = False) -> int | str:
        """Forward FLOPs of the window (flopsight's FLOPs: see flopsight.conventions)."""
        value = self.profile.forward.flops
        return format_count(value) if as_string else value

    def get_total_macs(self, as_string: bool = False) -> int | str:
        """Forward MACs of the window."""
        value = self.profile.forward.macs
        return format_count(value, suffix="MACs") if as_string else value

    def get_total_params(self, as_string: bool = False) -> int | str:
        """Parameters of the model, tied parameters once."""
        value = self.profile.params
        return format_params(value) if as_string else value

    def get_total_duration(self, as_string: bool = False) -> float | str:
        """Seconds the window's forward calls take: the median of a replay of them without the
        counting mode (``timing``); the wall time inside the window, counting overhead
        included, when nothing can be replayed (``timing_repeat=0``, a model on meta)."""
        _ = self.profile  # raises when there is nothing to report
        timing = self.timing
        seconds = timing.forward.median if timing is not None else self.window_duration
        return format_duration(seconds) if as_string else seconds

    @property
    def window_duration(self) -> float:
        """Wall seconds of the model's forward calls inside the window, counting overhead
        included (what DeepSpeed reports as the duration)."""
        return self._session.root_calls.duration if self._session is not None else self._duration

    @property
    def timing(self) -> TimingResult | None:
        """The window's forward calls replayed by ``flopsight.measure_time``: ``timing_warmup``
        untimed, then ``timing_repeat`` timed iterations, per module, under the grad, inference
        and autocast modes each call ran under; buffers and RNG restored. Measured once per
        window, on first use (while a window is open, with its counting taken out meanwhile).
        None when there is nothing to replay: ``timing_repeat=0``, no call, a model on meta."""
        session = self._session
        calls = session.root_calls.calls if session is not None else self._calls
        if self._timing is not None and self._timing[0] == len(calls):
            return self._timing[1]
        timing = None
        if self.timing_repeat > 0 and calls:
            with session.suspended() if session is not None else contextlib.nullcontext():
                timing = time_calls(self.model, calls, warmup=self.timing_warmup, repeat=self.timing_repeat)
        self._timing = (len(calls), timing)
        return timing

    def achieved(self, peak_tflops: float | None = None) -> Achieved | None:
        """Achieved FLOPS per module and MFU for the window (``flopsight.achieved``); None when
        there is no timing. ``peak_tflops`` overrides the built-in peak table."""
        timing = self.timing
        return None if timing is None else achieved(self.profile, timing, peak_tflops)

    def print_model_profile(
        self,
        profile_step: int = 1,
        module_depth: int = -1,
        top_modules: int = 1,
        detailed: bool = True,
        output_file: str | None = None,
    ) -> None:
        """Print the report of the last window (or write it to ``output_file``).

        The counts come first, then the latency section of the replay (``timing``): fwd
        latency, FLOPS per module and MFU where the peak is known.

        Args:
            profile_step: the step number shown in the header.
            module_depth: deepest tree level shown; -1 shows all.
            top_modules: module types listed per depth in the aggregated view.
            detailed: include the annotated module tree.
            output_file: a path to write the report to instead of printing it.
        """
        profile, timing = self.profile, self.timing
        text = render_report(profile, module_depth=module_depth, top_modules=top_modules, detailed=detailed,
                             timing=timing)
        if timing is not None:
            how = f"median of {timing.repeat} replayed forwards, no counting"
        else:
            how = "wall time in the window, counting overhead included"
        header = (f"Profile step:           {profile_step}\n"
                  f"Forward duration:       {self.get_total_duration(as_string=True)} ({how})\n\n")
        latency = "" if timing is None else render_latency_section(profile, timing, module_depth=module_depth)
        write_report(header + text + latency, output_file)


    def _discard(self) -> None:
        session, self._session = self._session, None
        self._profile = None
        self._duration = 0.0
        self._calls = []
        self._timing = None
        if session is not None:
            session.close()

    def __enter__(self) -> "FlopsProfiler":
        self.start_profile()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.stop_profile()
        else:
            self.end_profile()
