"""``--layout deepspeed``: a profile laid out as DeepSpeed's flops profiler prints one.

Its three sections: the profile summary, the aggregated profile (top modules per depth by params,
MACs, FLOPs and, when timed, fwd latency) and the detailed profile, the module tree with each
module's figures after its name. Under each module the ops it runs itself are listed
("functionals": what DeepSpeed catches from ``torch.nn.functional``; here every aten op flopsight
charged to the module, with calls, MACs and FLOPs), since those make up the difference between a
parent's figures and the sum of its children's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..records.phase import Phase
from .summary import render_summary
from .topk import render_top
from .timing import format_latency
from .units import format_count, format_params, format_percent

if TYPE_CHECKING:
    from ..records import OpTotals
    from ..tree import ModuleNode, Profile

__all__ = ["render_deepspeed_layout"]

_WIDTH = 86
_INDENT = "  "


def render_deepspeed_layout(profile: Profile, *, depth: int | None = None, top: int | None = None,
                            precision: int = 2) -> str:
    """The DeepSpeed-shaped text of ``profile``: summary, top ``top`` (default 1, DeepSpeed's)
    module types per depth, and the module tree to ``depth`` with each module's own ops.

    Example:
        >>> print(render_deepspeed_layout(flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))))
        ... DeepSpeed-style profile (flopsight) ...
        Linear(
          36, 100% Params, 64 MACs, 100% MACs, 136 FLOPs, 100% FLOPs,
          functionals: aten.addmm.default x 1: 64 MACs, 136 FLOPs
        )
        ...
    """
    last = profile.max_depth if depth is None else min(depth, profile.max_depth)
    timed = profile.run_timing is not None
    order = "params, percentage of total params, MACs, percentage of total MACs, FLOPs, percentage of total FLOPs"
    if timed:
        order += ", fwd latency, percentage of total fwd latency, fwd FLOPS"
    lines = [
        _banner("DeepSpeed-style profile (flopsight)"),
        render_summary(profile, precision=precision),
        "",
        _banner("Aggregated Profile"),
        render_top(profile, k=top or 1, depths=range(last + 1), precision=precision),
        "",
        _banner("Detailed Profile"),
        "Each module profile is listed after its name in the following order:",
        order + ";",
        "then the ops the module runs itself, outside its submodules (functionals): calls, MACs, FLOPs.",
        "",
        *_module_lines(profile.root, profile, depth, precision),
        "-" * _WIDTH,
    ]
    return "\n".join(lines) + "\n"


def _banner(title: str) -> str:
    side = max(_WIDTH - len(title) - 2, 2)
    return f"{'-' * (side // 2)} {title} {'-' * (side - side // 2)}"


def _module_lines(node: ModuleNode, profile: Profile, depth: int | None, precision: int) -> list[str]:
    """``Type(`` the figures, the functionals, the children to ``depth``, ``)``."""
    if node.alias_of is not None:  # a shared module's second path: counted at its first
        return [f"{node.type}(-> {node.alias_of}, counted there)"]
    forward = node.costs.get(Phase.FORWARD)
    macs = forward.macs if forward else 0
    flops = forward.flops if forward else 0
    total = profile.forward
    figures = [
        format_params(node.params, precision=precision),
        f"{format_percent(node.params, profile.params, precision=precision)} Params",
        format_count(macs, precision=precision, suffix="MACs"),
        f"{format_percent(macs, total.macs, precision=precision)} MACs",
        format_count(flops, precision=precision, suffix="FLOPs"),
        f"{format_percent(flops, total.flops, precision=precision)} FLOPs",
    ]
    root_timing = profile.root.timing
    if node.timing is not None and root_timing is not None:
        seconds = node.timing.forward.median
        figures += [format_latency(seconds, precision=precision),
                    f"{format_percent(seconds, root_timing.forward.median, precision=precision)} latency",
                    format_count(flops / seconds, precision=precision, suffix="FLOPS") if seconds > 0 else "-"]
    lines = [f"{node.type}(", f"{_INDENT}{', '.join(figures)},"]
    own = node.own_ops.get(Phase.FORWARD, {})
    if own:
        lines.append(f"{_INDENT}functionals: {_functionals(own, precision)}")
    if depth is None or node.depth < depth:
        for child in node.children:
            child_lines = _module_lines(child, profile, depth, precision)
            lines.append(f"{_INDENT}({child.attribute}): {child_lines[0]}")
            lines += [_INDENT + line for line in child_lines[1:]]
    lines.append(")")
    return lines


def _functionals(ops: dict[str, OpTotals], precision: int) -> str:
    """``aten.addmm.default x 2: 128 MACs, 272 FLOPs; ...``, the costliest op first."""
    ranked = sorted(ops.items(), key=lambda item: (-item[1].flops, item[0]))
    return "; ".join(
        f"{op} x {t.calls}: {format_count(t.macs, precision=precision, suffix='MACs')}, "
        f"{format_count(t.flops, precision=precision, suffix='FLOPs')}"
        for op, t in ranked
    )
