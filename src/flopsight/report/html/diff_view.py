"""A ProfileDiff as one self-contained HTML page (the report's CSP and escaping, ``page.py``): the
whole model's change per figure and a sortable, filterable table of the modules' changes.
Cells are formatted here, as the text diff's; the script only lays them out. No torch."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..diff_figures import figure
from ..diff_text import format_change, format_relative, summary_line
from .page import render_page

if TYPE_CHECKING:
    from ..diff import Change, ModuleDelta, ProfileDiff

__all__ = ["diff_view", "render_diff_html"]


def render_diff_html(d: ProfileDiff) -> str:
    """The diff as one HTML document that opens in any browser with no network."""
    return render_page(diff_view(d), template="diff_template.html", script_name="diff.js")


def diff_view(d: ProfileDiff) -> dict[str, Any]:
    """What the page draws: the totals table and the modules table (cells shown, raw values to sort)."""
    totals = [{"cells": [figure(name).label, _shown(name, c.a), _shown(name, c.b), format_change(name, c.delta),
                         format_relative(c)]}
              for name, c in ((name, d.total.changes[name]) for name in d.figures)]
    return {
        "title": f"{d.a_name} → {d.b_name}",
        "a": d.a_name,
        "b": d.b_name,
        "summary": summary_line(d),
        "sort": d.sort,
        "totals": {"columns": [{"label": "Figure", "text": True}, {"label": "A"}, {"label": "B"},
                               {"label": "change"}, {"label": "%"}], "rows": totals},
        "modules": {"columns": _module_columns(d), "rows": [_module_row(d, m) for m in d.ranked()]},
    }


def _module_columns(d: ProfileDiff) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = [{"label": "Module", "text": True}, {"label": "Type", "text": True},
                                     {"label": "Match", "text": True}]
    for name in d.figures:
        label = figure(name).label
        columns += [{"label": f"{label} A", "figure": name}, {"label": f"{label} B", "figure": name},
                    {"label": f"change {label}", "figure": name, "magnitude": True},
                    {"label": "%", "figure": name, "magnitude": True}]
    return columns


def _module_row(d: ProfileDiff, m: ModuleDelta) -> dict[str, Any]:
    cells: list[str] = [m.label, m.type, m.matched_by.value]
    raw: list[Any] = [m.label, m.type, m.matched_by.value]
    for name in d.figures:
        c: Change = m.changes[name]
        cells += [_shown(name, c.a), _shown(name, c.b), format_change(name, c.delta), format_relative(c)]
        raw += [_finite(c.a), _finite(c.b), _finite(c.delta), _finite(c.relative)]
    return {"path": m.label, "cells": cells, "raw": raw}


def _shown(name: str, value: float | None) -> str:
    return "-" if value is None else figure(name).show(value)


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity; the page shows a missing figure as "-".
    return value if value is not None and math.isfinite(value) else None
