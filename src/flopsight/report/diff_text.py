"""A ProfileDiff as text or Markdown: the whole model's change per figure, then the modules ranked by
the change of one figure, with the change of every other figure beside it. Pure: no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..tree.module_match import MatchedBy
from .diff_figures import figure
from .table import Row, TableColumn, layout_table
from .units import format_percent

if TYPE_CHECKING:
    from .diff import Change, ModuleDelta, ProfileDiff

__all__ = ["format_change", "format_relative", "render_diff_markdown", "render_diff_text", "summary_line"]

_WIDE = 10**6  # files and pipes keep every column
_MATCH = {MatchedBy.PATH: "path", MatchedBy.TYPE: "type", MatchedBy.ADDED: "added", MatchedBy.REMOVED: "removed"}


def format_change(name: str, delta: float | None) -> str:
    """``+1.2 KFLOPs``, ``-512 B``, ``0``; ``-`` when a side lacks the figure."""
    if delta is None:
        return "-"
    if delta == 0:
        return "0"
    return ("+" if delta > 0 else "-") + figure(name).show(abs(delta))


def format_relative(change: Change) -> str:
    """``+100%``; ``new`` when A had none; ``-`` when a side lacks the figure."""
    delta = change.delta
    if delta is None or change.a is None:
        return "-"
    if not change.a:
        return "0%" if not delta else "new"
    return ("+" if delta > 0 else "-" if delta < 0 else "") + format_percent(abs(delta), abs(change.a))


def _value(name: str, value: float | None) -> str:
    return "-" if value is None else figure(name).show(value)


def summary_line(d: ProfileDiff) -> str:
    """How many modules matched by path and by type, and how many one run has only."""
    counts = {by: d.count(by) for by in MatchedBy}
    return (f"modules: {counts[MatchedBy.PATH]} matched by path, {counts[MatchedBy.TYPE]} by type, "
            f"{counts[MatchedBy.ADDED]} added (only in B), {counts[MatchedBy.REMOVED]} removed (only in A)")


def _ranked_title(d: ProfileDiff, shown: int) -> str:
    label = figure(d.sort).label
    total = d.count("modules")
    part = f"top {shown} of {total}" if shown < total else f"{total} modules"
    return f"Modules by change in {label}, largest first ({part})"


def _total_rows(d: ProfileDiff) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for name in d.figures:
        change = d.total.changes[name]
        rows.append((figure(name).label, _value(name, change.a), _value(name, change.b),
                     format_change(name, change.delta), format_relative(change)))
    return rows


def _module_headers(d: ProfileDiff) -> list[str]:
    label = figure(d.sort).label
    others = [f"change {figure(name).label}" for name in d.figures if name != d.sort]
    return ["Type", "Match", f"{label} A", f"{label} B", "change", "%", *others]


def _module_cells(d: ProfileDiff, m: ModuleDelta) -> list[str]:
    main = m.changes[d.sort]
    others = [format_change(name, m.changes[name].delta) for name in d.figures if name != d.sort]
    return [m.type, _MATCH[m.matched_by], _value(d.sort, main.a), _value(d.sort, main.b),
            format_change(d.sort, main.delta), format_relative(main), *others]


def render_diff_text(d: ProfileDiff) -> str:
    """The diff as plain text: which runs, how modules matched, the totals, the ranked modules."""
    ranked = d.ranked()
    totals = [Row(0, row[0], row[1:]) for row in _total_rows(d)]
    lines = [f"flopsight diff: A = {d.a_name}, B = {d.b_name}", summary_line(d), "", "Whole model (B - A)"]
    lines += layout_table("Figure", [TableColumn(h) for h in ("A", "B", "change", "%")], totals, _WIDE)
    lines += ["", _ranked_title(d, len(ranked))]
    headers = _module_headers(d)
    rows = [Row(0, m.label, tuple(_module_cells(d, m))) for m in ranked]
    lines += layout_table("Module", [TableColumn(h) for h in headers], rows, _WIDE)
    return "\n".join(lines) + "\n"


def render_diff_markdown(d: ProfileDiff) -> str:
    """The diff as Markdown: the same two tables as the text."""
    ranked = d.ranked()
    lines = [f"# flopsight diff: {_md(d.a_name)} → {_md(d.b_name)}", "", f"- {summary_line(d)}", "",
             "## Whole model (B - A)", "", "| Figure | A | B | Change | % |", "|---|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in _total_rows(d)]
    headers = _module_headers(d)
    lines += ["", f"## {_ranked_title(d, len(ranked))}", "",
              "| Module | " + " | ".join(headers) + " |", "|---|---|---|" + "---:|" * (len(headers) - 2)]
    for m in ranked:
        cells = [f"`{m.label}`", *(_md(cell) for cell in _module_cells(d, m))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    # A "|" inside a cell would split it.
    return text.replace("|", "\\|")
