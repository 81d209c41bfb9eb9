"""The figures the HTML page shows, as plain JSON-ready data: one row per module, the treemap's
sizes, and the sections (``sections.py``). Formatting happens here (``units.py``), so the page's numbers
read as the text report's; the page's script only lays them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..header import model_name
from ..timing import format_latency
from ..units import format_bytes, format_count, format_duration, format_params, format_percent
from .sections import Section, profile_sections

if TYPE_CHECKING:
    from ...tree.module_node import ModuleNode
    from ...tree.profile import Profile

__all__ = ["profile_view"]


@dataclass(frozen=True, slots=True)
class _Measure:
    """One figure per module: a table column (with its share of the model's, when ``share``)
    and, when ``key`` is set, a size the treemap can be drawn by."""

    label: str
    value: Callable[["ModuleNode"], float | None]
    show: Callable[[float], str]
    key: str = ""  # the treemap's name for it; "" for a column only
    share: bool = True


def profile_view(profile: Profile, *, top: int | None = None, extra: list[Section] | None = None) -> dict[str, Any]:
    """What the page draws: the measures, one row per module (tree order), and the sections.

    ``extra`` adds sections before the others (a plan's job, a generate run's steps).
    """
    measures = _measures(profile)
    root = profile.root
    totals = [_finite(m.value(root)) for m in measures]
    columns: list[dict[str, Any]] = [{"label": "Module"}, {"label": "Type"}]
    for m in measures:
        columns.append({"label": m.label})
        if m.share:
            columns.append({"label": "%", "of": m.label})
    index: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for node in profile.modules():
        index[node.name] = len(rows)
        rows.append(_row(node, measures, totals, index))
    treemap = [{"key": m.key, "label": m.label, "measure": i} for i, m in enumerate(measures) if m.key]
    return {
        "title": model_name(profile),
        "columns": columns,
        "treemap": treemap,
        "rows": rows,
        "facts": _facts(profile),
        "uncounted": sorted(([op, calls] for op, calls in profile.uncounted_ops.items()), key=lambda r: (-r[1], r[0])),
        "sections": (extra or []) + profile_sections(profile, top),
    }


def _measures(profile: Profile) -> list[_Measure]:
    """The text report's columns (``tree.py``), plus the roofline's predicted time."""
    def count(suffix: str) -> Callable[[float], str]:
        return lambda value: format_count(value, suffix=suffix)

    measures = [
        _Measure("Params", lambda n: n.params, format_params, key="params"),
        _Measure("MACs", lambda n: n.forward.macs, count("MACs")),
        _Measure("FLOPs", lambda n: n.forward.flops, count("FLOPs"), key="flops"),
    ]
    if profile.backward_measured:
        measures.append(_Measure("bwd FLOPs", lambda n: n.backward.flops, count("FLOPs"), key="backward"))
    if profile.root.recompute.flops:
        measures.append(_Measure("recompute FLOPs", lambda n: n.recompute.flops, count("FLOPs")))
    if profile.memory is not None:
        measures.append(_Measure("activations", _activations, format_bytes, key="activations"))
    if profile.run_timing is not None:
        measures += [
            _Measure("fwd latency", _latency, format_latency, key="latency"),
            _Measure("FLOPS", _rate, count("FLOPS"), share=False),
        ]
    if profile.roofline_target is not None:
        measures.append(_Measure("predicted", _predicted, format_duration, key="predicted"))
    return measures


def _activations(node: ModuleNode) -> float | None:
    return None if node.memory is None else node.memory.activation_bytes


def _latency(node: ModuleNode) -> float | None:
    return None if node.timing is None else node.timing.forward.median


def _rate(node: ModuleNode) -> float | None:
    seconds = _latency(node)
    return node.forward.flops / seconds if seconds else None


def _predicted(node: ModuleNode) -> float | None:
    return None if node.roofline is None else node.roofline.step_s


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity; the page shows a missing figure as "-".
    return value if value is not None and math.isfinite(value) else None


def _row(node: ModuleNode, measures: list[_Measure], totals: list[float | None], index: dict[str, int]) -> dict[str, Any]:
    """A module's cells (shown), raw values (for sorting) and treemap sizes (whole, self)."""
    parent = node.name.rpartition(".")[0] if node.name else None
    row: dict[str, Any] = {"path": node.name, "type": node.type, "depth": node.depth,
                           "parent": -1 if parent is None else index.get(parent, -1)}
    if node.alias_of is not None:
        # A shared module's second position: its figures are at its first path.
        row["alias_of"] = node.alias_of
        return row
    counted = [c for c in node.children if c.alias_of is None]
    cells: list[str] = []
    raw: list[float | None] = []
    sizes: list[list[float]] = []
    for measure, total in zip(measures, totals):
        value = _finite(measure.value(node))
        cells.append("-" if value is None else measure.show(value))
        raw.append(value)
        if measure.share:
            cells.append("-" if value is None or not total else format_percent(value, total))
            raw.append(value)
        if measure.key:
            whole = value or 0.0
            # The "(self)" tile: what the children leave of the whole, so the areas add up.
            children = sum(_finite(measure.value(c)) or 0.0 for c in counted)
            sizes.append([whole, max(whole - children, 0.0)])
    row.update(cells=cells, raw=raw, sizes=sizes)
    if node.ignored:
        row["ignored"] = True
    return row


def _facts(profile: Profile) -> list[list[str]]:
    """(label, value) rows: where and how the run was made, and its conventions."""
    meta = profile.metadata
    facts = [[label, str(meta[key])] for label, key in (
        ("Model", "model_type"), ("Device", "device"), ("Dtype", "dtype"), ("Mode", "mode"),
        ("torch", "torch_version"), ("Python", "python_version")) if meta.get(key)]
    facts.append(["Backward measured", "yes" if profile.backward_measured else "no"])
    for key, value in dict(meta.get("conventions") or {}).items():
        facts.append([f"Convention: {key.replace('_', ' ')}", str(value)])
    return facts
