"""A Profile as CSV: one row per module, parents before children.

Every figure the text report shows per module: the counts of each phase, and, when the profile
carries them, the measured latency and achieved FLOPS (``--time``), the memory (``--memory``)
and the roofline's predicted seconds (``--gpu``). Those columns appear only when present.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, Callable

from ..records import OpCost, Phase

if TYPE_CHECKING:
    from ..tree import ModuleNode, Profile
    from .formats import RenderOptions

__all__ = ["modules_to_depth", "render_profile_csv"]

_CSV_COLUMNS = (
    "module", "type", "depth", "calls", "params", "trainable_params",
    "forward_macs", "forward_flops", "forward_masked_flops", "forward_bytes_read", "forward_bytes_written",
    "backward_macs", "backward_flops",
)
# Appended after the original columns, so readers of the old header keep working.
_MORE_COUNT_COLUMNS = (
    "backward_masked_flops", "backward_bytes_read", "backward_bytes_written", "recompute_macs", "recompute_flops",
    "own_params", "own_forward_flops", "own_backward_flops",
)
_TIMING_COLUMNS = ("forward_median_s", "backward_median_s", "forward_flops_per_s", "backward_flops_per_s")
_MEMORY_COLUMNS = ("activation_bytes", "own_activation_bytes", "output_bytes", "peak_bytes")
_ROOFLINE_COLUMNS = ("predicted_forward_s", "predicted_backward_s", "predicted_step_s", "own_predicted_step_s")

Cells = Callable[["ModuleNode"], list[Any]]


def render_profile_csv(profile: Profile, options: RenderOptions) -> str:
    """One row per module (parents before children), every figure inclusive of submodules
    unless its column says ``own``; an absent figure (a module not timed) is an empty cell."""
    header: list[str] = [*_CSV_COLUMNS, *_MORE_COUNT_COLUMNS]
    parts: list[Cells] = [_counts]
    if profile.run_timing is not None:
        header += _TIMING_COLUMNS
        parts.append(_timing)
    if profile.memory is not None:
        header += _MEMORY_COLUMNS
        parts.append(_memory)
    if profile.roofline_target is not None:
        header += _ROOFLINE_COLUMNS
        parts.append(_roofline)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for node in modules_to_depth(profile, options.depth):
        writer.writerow([cell for part in parts for cell in part(node)])
    return out.getvalue()


def _counts(node: ModuleNode) -> list[Any]:
    f, b, r = node.forward, node.backward, node.recompute
    own_f = node.own_costs.get(Phase.FORWARD, OpCost())
    own_b = node.own_costs.get(Phase.BACKWARD, OpCost())
    return [
        node.name, node.type, node.depth, node.calls, node.params, node.trainable_params,
        f.macs, f.flops, f.masked_flops, f.bytes_read, f.bytes_written, b.macs, b.flops,
        b.masked_flops, b.bytes_read, b.bytes_written, r.macs, r.flops,
        node.own_params, own_f.flops, own_b.flops,
    ]


def _timing(node: ModuleNode) -> list[Any]:
    t = node.timing
    if t is None:
        return ["", "", "", ""]
    return [t.forward.median, "" if t.backward is None else t.backward.median,
            _blank(node.forward_flops_per_s), _blank(node.backward_flops_per_s)]


def _memory(node: ModuleNode) -> list[Any]:
    m = node.memory
    if m is None:
        return ["", "", "", ""]
    return [m.activation_bytes, m.own_activation_bytes, m.output_bytes, m.peak_bytes]


def _roofline(node: ModuleNode) -> list[Any]:
    r = node.roofline
    if r is None:
        return ["", "", "", ""]
    return [r.predicted_s.get(Phase.FORWARD, 0.0), r.predicted_s.get(Phase.BACKWARD, 0.0), r.step_s, r.own_step_s]


def _blank(value: float | None) -> float | str:
    return "" if value is None else value


def modules_to_depth(profile: Profile, depth: int | None) -> list[ModuleNode]:
    """The profile's modules, parents before children, down to ``depth`` (None: all)."""
    return [n for n in profile.modules() if depth is None or n.depth <= depth]
