"""The full text report: summary header, memory and communication when recorded, the roofline
when predicted, annotated module tree, and optionally the top-k view."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Literal

from .communication import render_communication
from .memory import render_memory
from .roofline import render_roofline
from .summary import render_summary
from .topk import render_top
from .tree import describe_columns, render_tree
from .wrapping import fit_lines as _fit

if TYPE_CHECKING:
    from ..records.timing import TimingResult
    from ..tree.profile import Profile

__all__ = ["render_text"]

_TREE_NOTE = (
    "A module's figures include its submodules and the ops it runs itself (a residual add,\n"
    "a functional call), so a parent can exceed the sum of its children. Shares are of the\n"
    "whole model. An entry \"(0-3): 4 x Block\" is four identical modules; its figures are one's."
)


def render_text(
    profile: Profile,
    *,
    depth: int | None = None,
    top: int | Literal["all"] | None = None,
    precision: int = 2,
    unit: str | None = None,
    param_unit: str | None = None,
    phase: str = "forward",
    timing: TimingResult | None = None,
    width: int | None = None,
) -> str:
    """The report ``print(profile)`` shows: totals, then the annotated module tree.

    Args:
        profile: a measured Profile or one read back with ``Profile.from_dict``; both render
            the same text.
        depth: deepest level of the tree shown (and of the top-k view); None shows all.
        top: also list the ``top`` largest module types per depth (DeepSpeed's aggregated
            view); "all" lists every type; None leaves it out.
        precision: decimals kept in numbers and percentages.
        unit: fixed prefix for MACs and FLOPs ("G" for GFLOPs, "" for plain numbers); None
            picks one per number.
        param_unit: fixed prefix for parameter counts ("M", "B", ""); None picks one.
        phase: the cost in the tree's MACs and FLOPs columns: "forward", "backward",
            "recompute" or "total".
        timing: a timing of the same model, for a profile that carries none (a timed profile,
            ``Profile.with_timing``, carries its own); the tree then also lists each module's forward
            latency, its share and its FLOPS (``render_tree``).
        width: the columns the text may use, e.g. ``shutil.get_terminal_size().columns`` when
            writing to a terminal. None (files, pipes) keeps every line as calflops prints it;
            with a width, the tree switches to aligned columns when its lines would not fit
            (``render_tree``), and longer lines of the other sections are wrapped.

    Returns:
        The report, ending with a newline.

    Example:
        >>> p = flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))
        >>> print(render_text(p, top=1))
        flopsight profile
        ...
        Linear(36 = 100% Params, 64 MACs = 100% MACs, 136 FLOPs = 100% FLOPs, in_features=8, out_features=4, bias=True)
        ...
    """
    if timing is not None:
        profile = profile.with_timing(timing)
    legend = "Each module lists: " + describe_columns(profile, phase=phase, timed=profile.run_timing is not None) + "."
    tree = render_tree(profile, depth=depth, phase=phase, precision=precision, unit=unit, param_unit=param_unit,
                       width=width)
    sections = [
        _titled("flopsight profile", _fit(render_summary(profile, precision=precision, unit=unit,
                                                         param_unit=param_unit), width)),
    ]
    if profile.memory is not None:
        sections.append(_titled("Memory", _fit(render_memory(profile, precision=precision), width)))
    # The table fits itself to the width; wrapping its lines would break its columns.
    communication = render_communication(profile, depth=depth, precision=precision, width=width)
    if communication:
        sections.append(_titled("Communication", communication))
    roofline = render_roofline(profile, depth=depth, precision=precision)
    if roofline:
        sections.append(_titled(f"Roofline on {profile.roofline_target.gpu if profile.roofline_target else ''}", roofline))
    sections += [
        _titled("Per module", _prose(legend, width) + "\n" + _prose(_TREE_NOTE, width) + "\n\n" + tree),
    ]
    if top is not None:
        last = profile.max_depth if depth is None else min(depth, profile.max_depth)
        table = render_top(profile, k=None if top == "all" else top, depths=range(last + 1), precision=precision,
                           unit=unit, param_unit=param_unit)
        sections.append(_titled("Aggregated per depth", _fit(table, width)))
    return "\n\n".join(sections) + "\n"


def _titled(title: str, body: str) -> str:
    return f"{title}\n{'-' * len(title)}\n{body}"


def _prose(text: str, width: int | None) -> str:
    """A paragraph as written, or refilled to ``width``."""
    return text if width is None else textwrap.fill(text.replace("\n", " "), width)
