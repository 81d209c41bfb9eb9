"""A Profile's op totals as CSV: one row per (module, phase, aten op), every module (not cut at
``--depth``), so the rows add up to the profile's totals. No torch."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from ..tree.module_node import PHASES

if TYPE_CHECKING:
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = ["OP_CSV_COLUMNS", "render_ops_csv"]

OP_CSV_COLUMNS = (
    "module", "type", "phase", "op", "calls", "macs", "flops", "bytes_read", "bytes_written",
    "masked_flops", "fused_bytes",
)


def render_ops_csv(profile: Profile, options: RenderOptions) -> str:
    """Each module's own ops (parents before children; forward, backward, recompute), as charged:
    a shared module's ops once, at its first path."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OP_CSV_COLUMNS)
    for node in profile.modules():
        for phase in PHASES:
            for op, t in node.own_ops.get(phase, {}).items():
                writer.writerow([node.name, node.type, phase.value, op, t.calls, t.macs, t.flops,
                                 t.bytes_read, t.bytes_written, t.masked_flops, t.fused_bytes])
    return out.getvalue()
