"""The text report's sections as structured parts the page lays out: "label: value" facts,
tables of formatted cells, the memory chart, and text only where no structure is at hand.
Every figure comes from the text report's own row builders, so both read the same."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..columns import Table
from ..communication import communication_table, process_group_lines
from ..header import render_header
from ..job import job_parts
from ..memory import memory_rows
from ..roofline import roofline_facts, roofline_module_table, slowest_ops_table
from ..summary import summary_rows
from ..timing import timing_summary_rows
from ..topk import top_entries
from .timeline import memory_chart

if TYPE_CHECKING:
    from ...tree.job import JobProfile
    from ...tree.profile import Profile

__all__ = ["Section", "job_section", "profile_sections", "table_section", "text_section"]

Section = dict[str, Any]


def profile_sections(profile: Profile, top: int | None) -> list[Section]:
    """Summary, memory (with its chart), communication, roofline, timing and per-depth top-k."""
    sections = [_summary(profile)]
    if profile.memory is not None:
        sections.append(_memory(profile))
    if profile.communication():
        sections.append(_communication(profile))
    if profile.prediction is not None and profile.roofline_target is not None:
        sections.append(_roofline(profile))
    if profile.run_timing is not None:
        # The per-module latencies are columns of the module table; only the summary is here.
        sections.append(_section("Timing", _facts(timing_summary_rows(profile.run_timing, profile.achieved()))))
    sections.append(_top(profile, 3 if top is None else top))
    return sections


def job_section(job: JobProfile, title: str) -> Section:
    """A gathered or simulated job: its summary, the per-rank table and its collectives."""
    parts = job_parts(job)
    found = [_facts(parts.summary), _table(parts.ranks, "Per rank")]
    if parts.comm is not None:
        found.append(_table(parts.comm, parts.comm_title))
        found += [_text(note) for note in parts.comm_notes]
    return _section(title, *found)


def text_section(title: str, text: str) -> Section:
    """A section that arrives as text: a generate run's steps, which ``generation.py`` hands over
    already laid out (no rows to draw from), so the page keeps them as text."""
    return _section(title, _text(text))


def table_section(title: str, table: Table, note: str = "") -> Section:
    """A section of one table and, below it, a note."""
    return _section(title, _table(table, ""), *([_text(note)] if note else []))


def _summary(profile: Profile) -> Section:
    header = render_header(profile).strip()
    rows = summary_rows(profile)
    # The uncounted ops have a table of their own below; the summary keeps only their count.
    rows = [row for row in rows if not (row[0].startswith("  ") and row[0].strip() in profile.uncounted_ops)]
    conventions = dict(profile.metadata.get("conventions") or {})
    parts = ([_text(header)] if header else []) + [_facts(rows)]
    parts.append(_facts([(key.replace("_", " "), str(value)) for key, value in conventions.items()], "Conventions")
                 if conventions else _text("Conventions: not recorded in this profile"))
    return _section("Summary", *parts)


def _memory(profile: Profile) -> Section:
    chart = memory_chart(profile)
    parts = [_facts(memory_rows(profile))]
    if chart is not None:
        parts.insert(0, {"kind": "chart", **chart})
    return _section("Memory", *parts)


def _communication(profile: Profile) -> Section:
    groups = process_group_lines(profile)
    return _section("Communication", _table(communication_table(profile), "Collectives issued by each module"),
                    *([_facts([tuple(line.split(": ", 1)) for line in groups], "Process groups")] if groups else []))


def _roofline(profile: Profile) -> Section:
    target = profile.roofline_target
    title = "Roofline" if target is None else f"Roofline on {target.gpu}"
    slowest = slowest_ops_table(profile)
    parts = [_facts(roofline_facts(profile)), _table(roofline_module_table(profile), "Per module (whole step)")]
    if slowest.rows:
        parts.append(_table(slowest, f"Slowest ops ({len(slowest.rows)})"))
    return _section(title, *parts)


def _top(profile: Profile, k: int) -> Section:
    """One table per depth: a row per (measure, module type), the largest first."""
    parts = []
    for depth, by_measure in top_entries(profile, k=k):
        rows = [[label, type_name, str(count), shown]
                for label, entries in by_measure or [] for type_name, count, shown in entries]
        parts.append(_table(Table(["by", "module type", "modules", "summed"], rows, left=2), f"depth {depth}"))
    note = _text(f"The top {k} module types at each depth by each measure; modules of one type at one depth summed.")
    return _section("Aggregated per depth", note, *parts)


def _section(title: str, *parts: dict[str, Any]) -> Section:
    return {"title": title, "parts": list(parts)}


def _facts(rows: list[tuple[str, str]] | list[tuple[str, ...]], caption: str = "") -> dict[str, Any]:
    return {"kind": "facts", "caption": caption, "rows": [list(row) for row in rows]}


def _table(table: Table, caption: str) -> dict[str, Any]:
    return {"kind": "table", "caption": caption, "header": table.header, "rows": table.rows, "left": table.left}


def _text(text: str) -> dict[str, Any]:
    return {"kind": "text", "text": text}
