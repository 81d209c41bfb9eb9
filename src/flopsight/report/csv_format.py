"""A Profile as CSV: one row per module, parents before children."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tree import ModuleNode, Profile
    from .formats import RenderOptions

__all__ = ["modules_to_depth", "render_profile_csv"]

_CSV_COLUMNS = (
    "module", "type", "depth", "calls", "params", "trainable_params",
    "forward_macs", "forward_flops", "forward_masked_flops", "forward_bytes_read", "forward_bytes_written",
    "backward_macs", "backward_flops",
)


def render_profile_csv(profile: Profile, options: RenderOptions) -> str:
    """One row per module (parents before children), every figure inclusive of submodules."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for node in modules_to_depth(profile, options.depth):
        f, b = node.forward, node.backward
        writer.writerow([
            node.name, node.type, node.depth, node.calls, node.params, node.trainable_params,
            f.macs, f.flops, f.masked_flops, f.bytes_read, f.bytes_written, b.macs, b.flops,
        ])
    return out.getvalue()


def modules_to_depth(profile: Profile, depth: int | None) -> list[ModuleNode]:
    """The profile's modules, parents before children, down to ``depth`` (None: all)."""
    return [n for n in profile.modules() if depth is None or n.depth <= depth]
