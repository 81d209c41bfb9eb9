"""The module tree as collapsed stacks, the text flamegraph.pl, speedscope and inferno read:
one line per module, ``Model;layers;0;self_attn;q_proj 123456``, its frames the path from the
root (named by its type) and the value what the module holds or runs itself (exclusive), so a
flame graph's widths add up to the model's total. No torch.

A shared module is drawn once, at its first path (its other positions hold no costs of their
own). Modules whose value is 0 are left out: they add no width.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from ..errors import InputError
from ..tree.module_node import PHASES

if TYPE_CHECKING:
    from ..tree import ModuleNode, Profile
    from .formats import RenderOptions

__all__ = ["STACK_METRICS", "collapsed_stacks", "render_collapsed"]

# The collapsed format splits frames on ";" and the value off at the last blank, one stack a line.
_BREAKS_FORMAT = re.compile(r"[;\s]")


def _own_flops(node: ModuleNode) -> int:
    return sum(node.own_costs[phase].flops for phase in PHASES)


def _own_macs(node: ModuleNode) -> int:
    return sum(node.own_costs[phase].macs for phase in PHASES)


def _own_params(node: ModuleNode) -> int:
    return node.own_params


def _own_latency_ns(node: ModuleNode) -> int:
    """Measured forward + backward median less the children's medians, in nanoseconds (never
    below 0: medians of different modules come from different iterations)."""
    def total(n: ModuleNode) -> float:
        if n.timing is None:
            return sum(total(c) for c in n.children if c.alias_of is None)
        backward = 0.0 if n.timing.backward is None else n.timing.backward.median
        return n.timing.forward.median + backward

    if node.timing is None:
        return 0  # its timed submodules carry its time
    children = sum(total(c) for c in node.children if c.alias_of is None)
    return max(0, round((total(node) - children) * 1e9))


# Every metric's values are whole numbers, as flamegraph.pl and speedscope expect.
STACK_METRICS: dict[str, Callable[["ModuleNode"], int]] = {
    "flops": _own_flops,  # forward + backward + recompute
    "macs": _own_macs,
    "params": _own_params,
    "latency": _own_latency_ns,  # measured, forward + backward, nanoseconds
}


def render_collapsed(profile: Profile, options: RenderOptions) -> str:
    """``collapsed_stacks(profile, options.stack_metric)``."""
    return collapsed_stacks(profile, options.stack_metric)


def collapsed_stacks(profile: Profile, metric: str = "flops") -> str:
    """One ``frame;frame;frame value`` line per module with a nonzero own value.

    Args:
        metric: "flops" (default) or "macs", every phase the profile counted; "params", the
            module's own parameters; "latency", its measured own time in nanoseconds (needs timing).

    Raises:
        InputError: an unknown metric, or "latency" on a profile with no timing.

    Example:
        >>> print(collapsed_stacks(flopsight.profile(nn.Sequential(nn.Linear(4, 2)), torch.ones(1, 4))))  # 2 x 4 x 2 + 2 bias adds
        Sequential;0 18
    """
    value = STACK_METRICS.get(metric)
    if value is None:
        raise InputError(f"stack metric {metric!r}: choose one of {', '.join(STACK_METRICS)}")
    if metric == "latency" and profile.run_timing is None:
        raise InputError("the latency stacks need timing: add --time")
    lines: list[str] = []
    for node in profile.modules():
        amount = value(node)
        if amount:
            lines.append(f"{';'.join(_frames(node, profile.root))} {amount}")
    return "".join(line + "\n" for line in lines)


def _frames(node: ModuleNode, root: ModuleNode) -> list[str]:
    """The root's type, then each attribute name down to ``node``; a ';' or a blank inside a
    name would break the line, so it reads '_'."""
    parts = node.name.split(".") if node.name else []
    return [_BREAKS_FORMAT.sub("_", frame) or "_" for frame in [root.type, *parts]]
