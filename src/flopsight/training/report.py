"""The DeepSpeed-shaped report text and where it goes."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from ..report import render_summary, render_text, render_top
from ..report.timing import render_timing
from ..timing.achieved import achieved
from ..timing.result import TimingResult

if TYPE_CHECKING:
    from ..tree import Profile

__all__ = ["format_duration", "render_latency_section", "render_report", "write_report"]


def format_duration(seconds: float, *, precision: int = 2) -> str:
    """A duration in s, ms or us, as DeepSpeed prints it.

    Example:
        >>> format_duration(0.01234)
        '12.34 ms'
    """
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            break
    return f"{round(seconds / scale, precision)} {unit}"


def render_report(profile: Profile, *, module_depth: int = -1, top_modules: int = 1, detailed: bool = True,
                  precision: int = 2, unit: str | None = None, phase: str = "forward",
                  timing: TimingResult | None = None) -> str:
    """DeepSpeed-shaped report text: the tree when ``detailed``, else summary and top-k only.

    ``module_depth=-1`` shows every level; ``phase`` picks the cost shown in the tree; a
    ``timing`` adds each module's forward latency and FLOPS to the tree's lines."""
    depth = None if module_depth is None or module_depth < 0 else module_depth
    top = top_modules if top_modules and top_modules > 0 else None
    if detailed:
        return render_text(profile, depth=depth, top=top, precision=precision, unit=unit, phase=phase, timing=timing)
    text = render_summary(profile, precision=precision, unit=unit)
    if top is not None:
        last = profile.max_depth if depth is None else min(depth, profile.max_depth)
        text += "\n\n" + render_top(profile, k=top, depths=range(last + 1), precision=precision, unit=unit)
    return text + "\n"


def render_latency_section(profile: Profile, timing: TimingResult, *, module_depth: int = -1,
                           peak_tflops: float | None = None) -> str:
    """DeepSpeed's fwd latency, FLOPS per module and MFU, from a timing run apart from counting."""
    depth = None if module_depth < 0 else module_depth
    title = "Latency (separate timing run, no counting)"
    return f"\n{title}\n{'-' * len(title)}\n" + render_timing(
        profile, timing, achieved(profile, timing, peak_tflops), depth=depth
    ) + "\n"


def write_report(text: str, output_file: str | None = None) -> None:
    """Print ``text``, or write it to ``output_file``. Only the DeepSpeed- and calflops-shaped
    entry points print: their users expect the report on stdout."""
    if output_file is None:
        print(text, end="")
        return
    # Written beside the target and renamed over it: never a half-written report.
    folder = os.path.dirname(os.path.abspath(output_file))
    handle, temporary = tempfile.mkstemp(prefix=".flopsight-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, output_file)
    except BaseException:
        os.unlink(temporary)
        raise
