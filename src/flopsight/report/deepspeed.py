"""The DeepSpeed-shaped report: the annotated tree, or summary and per-depth top-k, and the
latency section (fwd latency, FLOPS per module, MFU) of a separate timing run.

Used by ``FlopsProfiler.print_model_profile`` and the calflops/DeepSpeed compat functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..errors import InputError
from ..tree.achieved import achieved
from .summary import render_summary
from .text import render_text
from .timing import render_timing
from .topk import render_top

if TYPE_CHECKING:
    from ..records import TimingResult
    from ..tree import Profile

__all__ = ["TopK", "depth_and_top", "render_latency_section", "render_report"]

TopK = int | Literal["all"] | None


def render_report(profile: Profile, *, module_depth: int = -1, top_modules: int = 1, detailed: bool = True,
                  precision: int = 2, unit: str | None = None, phase: str = "forward",
                  timing: TimingResult | None = None) -> str:
    """DeepSpeed-shaped report text: the tree when ``detailed``, else summary and top-k only.

    ``module_depth=-1`` shows every level and ``top_modules=-1`` every module type (-1 is
    DeepSpeed's "all"); ``top_modules=0`` leaves the aggregated view out. ``phase`` picks the
    cost shown in the tree; a ``timing`` adds each module's forward latency and FLOPS to the
    tree's lines."""
    depth, top = depth_and_top(module_depth, top_modules)
    if detailed:
        return render_text(profile, depth=depth, top=top, precision=precision, unit=unit, phase=phase, timing=timing)
    text = render_summary(profile, precision=precision, unit=unit)
    if top is not None:
        last = profile.max_depth if depth is None else min(depth, profile.max_depth)
        k = None if top == "all" else top
        text += "\n\n" + render_top(profile, k=k, depths=range(last + 1), precision=precision, unit=unit)
    return text + "\n"


def depth_and_top(module_depth: int | None, top_modules: int) -> tuple[int | None, TopK]:
    """DeepSpeed's ``module_depth`` and ``top_modules``, checked, as ``render_text``'s depth and top.

    -1 is DeepSpeed's "all" for both; ``top_modules=0`` leaves the aggregated view out.
    """
    depth = None if module_depth is None or module_depth == -1 else module_depth
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise InputError(f"module_depth takes -1 (every level) or a whole number at least 0, got {module_depth!r}")
    if isinstance(top_modules, bool) or not isinstance(top_modules, int) or top_modules < -1:
        raise InputError("top_modules takes -1 (every type), 0 (no aggregated view) or a positive whole number, "
                         f"got {top_modules!r}")
    top: TopK = "all" if top_modules == -1 else (top_modules or None)
    return depth, top


def render_latency_section(profile: Profile, timing: TimingResult, *, module_depth: int = -1,
                           peak_tflops: float | None = None) -> str:
    """DeepSpeed's fwd latency, FLOPS per module and MFU, from a timing run apart from counting."""
    depth, _ = depth_and_top(module_depth, 0)
    title = "Latency (separate timing run, no counting)"
    return f"\n{title}\n{'-' * len(title)}\n" + render_timing(
        profile, timing, achieved(profile, timing, peak_tflops), depth=depth
    ) + "\n"
