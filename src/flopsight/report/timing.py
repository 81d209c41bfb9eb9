"""Timing reports: summary lines (fwd latency, FLOPS, bwd latency, iter latency, throughput,
MFU) and a per-module table with latency, % latency and achieved FLOPS columns.

Pure functions over plain data (a TimingResult, an Achieved, a Profile); nothing here imports
torch or measures anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from .units import format_count, format_number, format_percent

if TYPE_CHECKING:
    from ..tree.achieved import Achieved
    from ..records.timing import Stats, TimingResult
    from ..tree.profile import Profile

__all__ = ["format_latency", "render_timing", "render_timing_summary", "render_timing_table", "timing_summary_rows"]

_LATENCY_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"))


def format_latency(seconds: float, *, precision: int = 2) -> str:
    """A duration with the largest of s, ms, us, ns that keeps the shown value at least 1.

    Example:
        >>> format_latency(0.01234)
        '12.34 ms'
        >>> format_latency(2.5)
        '2.5 s'
        >>> format_latency(0)
        '0 s'
    """
    if seconds == 0:
        return "0 s"
    for scale, name in _LATENCY_UNITS:
        if abs(seconds) >= scale:
            return format_number(seconds / scale, unit="", precision=precision, suffix=f" {name}").replace("  ", " ")
    return format_number(seconds / 1e-9, unit="", precision=precision) + " ns"


def _spread(stats: Stats, precision: int) -> str:
    """``"12.3 ms (min 12.1 ms, max 13 ms, stdev 0.2 ms, n=10)"``."""

    def lat(value: float) -> str:
        return format_latency(value, precision=precision)

    return (
        f"{lat(stats.median)} (min {lat(stats.min)}, max {lat(stats.max)}, "
        f"stdev {lat(stats.stdev)}, n={stats.count})"
    )


def _flops_per_s(value: float | None, precision: int) -> str:
    return "-" if value is None else format_count(value, precision=precision, suffix="FLOPS")


def render_timing_summary(timing: TimingResult, achieved: Achieved | None = None, *, precision: int = 2) -> str:
    """Summary lines, as DeepSpeed's profiler prints them: latencies are medians over repeats.

    Args:
        timing: from ``flopsight.timing.measure_time``.
        achieved: from ``flopsight.achieved`` (or ``profile.achieved()``); adds FLOPS, peak and MFU lines.
        precision: decimals kept in numbers.

    Returns:
        Aligned "label: value" lines, no trailing newline.

    Example:
        >>> print(render_timing_summary(timing, achieved(profile, timing, peak_tflops=1)))
        Device:                 cpu (AMD EPYC), float32
        Warm-up / repeat:       2 / 10 iterations
        fwd latency:            210.4 us (min 201.3 us, max 260.1 us, stdev 17.86 us, n=10)
        fwd FLOPS:              10.3 GFLOPS
        ...
        MFU:                    1.03% (model FLOPs 2.18 MFLOPs per iteration)
    """
    rows = timing_summary_rows(timing, achieved, precision=precision)
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows)


def timing_summary_rows(timing: TimingResult, achieved: Achieved | None = None, *,
                        precision: int = 2) -> list[tuple[str, str]]:
    """``render_timing_summary``'s (label, value) lines, before alignment."""
    rows: list[tuple[str, str]] = [
        ("Device", f"{timing.device} ({timing.device_name}), {timing.dtype}"),
        ("Warm-up / repeat", f"{timing.warmup} / {timing.repeat} iterations"),
        ("fwd latency", _spread(timing.forward, precision)),
    ]
    if achieved is not None:
        rows.append(("fwd FLOPS", _flops_per_s(achieved.forward_flops_per_s, precision)))
    if timing.backward is not None:
        rows.append(("bwd latency", _spread(timing.backward, precision)))
        if achieved is not None:
            note = " (backward FLOPs estimated as 2 x forward)" if achieved.backward_estimated else ""
            rows.append(("bwd FLOPS", _flops_per_s(achieved.backward_flops_per_s, precision) + note))
    if timing.optimizer_step is not None:
        rows.append(("step latency", _spread(timing.optimizer_step, precision)))
    rows.append(("iter latency", _spread(timing.iteration, precision)))
    if achieved is not None:
        rows.append(("iter FLOPS", _flops_per_s(achieved.iteration_flops_per_s, precision)))
    throughput = []
    if timing.samples_per_s is not None:
        throughput.append(f"{format_number(timing.samples_per_s, unit='', precision=precision)} samples/s")
    if timing.tokens_per_s is not None:
        throughput.append(f"{format_number(timing.tokens_per_s, unit='', precision=precision)} tokens/s")
    if throughput:
        rows.append(("Throughput", ", ".join(throughput)))
    if achieved is not None:
        if achieved.peak_tflops is None or achieved.mfu is None:
            rows.append(("MFU", "- (no peak known for this device; pass peak_tflops= or --peak-tflops)"))
        else:
            source = f", {achieved.peak_source}" if achieved.peak_source else ""
            rows.append(("Peak", f"{format_number(achieved.peak_tflops, unit='', precision=precision)} TFLOPS dense{source}"))
            model = format_count(achieved.model_flops, precision=precision, suffix="FLOPs")
            rows.append(("MFU", f"{_percent(achieved.mfu, precision)} (model FLOPs {model} per iteration)"))
            if achieved.hfu is not None:
                hardware = format_count(achieved.hardware_flops, precision=precision, suffix="FLOPs")
                rows.append(("HFU", f"{_percent(achieved.hfu, precision)} (with recomputation {hardware} per iteration)"))
    return rows


def _percent(fraction: float, precision: int) -> str:
    return format_percent(fraction, 1.0, precision=precision)


def render_timing_table(
    profile: Profile,
    timing: TimingResult | None = None,
    achieved: Achieved | None = None,
    *,
    depth: int | None = None,
    precision: int = 2,
) -> str:
    """One row per module: forward latency, % of the model's forward latency, counted forward
    FLOPs and achieved FLOPS; backward latency and % when backward was timed.

    Latencies are medians over repeats and include each module's children (as the FLOPs do).

    Args:
        profile: counts of the same model (``flopsight.profile``), for names, types and FLOPs.
        timing: from ``measure_time(..., per_module=True)``; None takes the one the profile
            carries (``Profile.with_timing``, or read back from JSON).
        achieved: from ``achieved(profile, timing)``; None computes nothing and leaves the
            FLOPS column out.
        depth: deepest module depth shown (0 is the root); None shows every module.
        precision: decimals kept in numbers.

    Returns:
        The table as text, no trailing newline.
    """
    profile, timing = _timed(profile, timing)
    if not timing.modules:
        raise InputError("the timing has no per-module latencies; measure with per_module=True")
    if depth is not None and depth < 0:
        raise InputError(f"depth must be at least 0, got {depth}")
    root = timing.modules.get("")
    total_fwd = root.forward.median if root is not None else timing.forward.median
    total_bwd = root.backward.median if root is not None and root.backward is not None else (
        timing.backward.median if timing.backward is not None else 0.0
    )
    with_backward = timing.backward is not None
    header = ["module", "type", "fwd latency", "% fwd", "fwd FLOPs"]
    if achieved is not None:
        header.append("fwd FLOPS")
    if with_backward:
        header += ["bwd latency", "% bwd"]
    rows = [header]
    for node in profile.modules():
        if depth is not None and node.depth > depth:
            continue
        measured = node.timing
        if measured is None:
            continue
        name = "  " * node.depth + (node.attribute if node.name else "(root)")
        row = [
            name,
            node.type,
            format_latency(measured.forward.median, precision=precision),
            format_percent(measured.forward.median, total_fwd, precision=precision),
            format_count(node.forward.flops, precision=precision, suffix="FLOPs"),
        ]
        if achieved is not None:
            entry = achieved.modules.get(node.name)
            row.append(_flops_per_s(None if entry is None else entry.forward_flops_per_s, precision))
        if with_backward:
            back = measured.backward
            row += ["-", "-"] if back is None else [
                format_latency(back.median, precision=precision),
                format_percent(back.median, total_bwd, precision=precision),
            ]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])] + [cell.rjust(w) for cell, w in zip(row[2:], widths[2:])]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_timing(
    profile: Profile,
    timing: TimingResult | None = None,
    achieved: Achieved | None = None,
    *,
    depth: int | None = None,
    precision: int = 2,
) -> str:
    """The summary lines, a blank line, then the per-module table (when measured).

    ``timing`` None takes the one the profile carries; ``achieved`` None leaves the FLOPS,
    peak and MFU figures out (``profile.achieved()`` gives them for a timed profile)."""
    profile, timing = _timed(profile, timing)
    parts = [render_timing_summary(timing, achieved, precision=precision)]
    if timing.modules:
        parts.append(render_timing_table(profile, timing, achieved, depth=depth, precision=precision))
    return "\n\n".join(parts)


def _timed(profile: Profile, timing: TimingResult | None) -> tuple[Profile, TimingResult]:
    """The profile carrying ``timing`` (or its own timing), and that timing."""
    if timing is not None:
        profile = profile.with_timing(timing)
    carried = profile.timing
    if carried is None:
        raise InputError("the profile carries no timing: pass timing=, or time the run (Profile.with_timing)")
    return profile, carried
