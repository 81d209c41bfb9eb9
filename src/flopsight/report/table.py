"""Lay out a labelled table of text cells to fit a given width (torchinfo's columns).

Pure layout: rows of (indent level, label, cells) in, lines out. The label column takes the
width the number columns leave; when even that is too little, share columns go first, then
columns from the right, and a label that is still too long is cut with "...".
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Row", "TableColumn", "layout_table"]

GAP = "  "
INDENT = "  "
MIN_LABEL = 16  # below this a label no longer says which module it is
ELLIPSIS = "..."


@dataclass(frozen=True, slots=True)
class TableColumn:
    header: str
    share: bool = False  # a "%" column: the first to go when the table is too wide


@dataclass(frozen=True, slots=True)
class Row:
    level: int
    label: str
    cells: tuple[str, ...]  # one per column; "" leaves it blank


def layout_table(label_header: str, columns: list[TableColumn], rows: list[Row], width: int) -> list[str]:
    """The table's lines, none longer than ``width``: header, rule, then one line per row.

    Example:
        >>> layout_table("Module", [TableColumn("Params")], [Row(0, "Linear", ("36",))], 20)
        ['Module  Params', '--------------', 'Linear      36']
    """
    keep = list(range(len(columns)))
    labels = [INDENT * row.level + row.label for row in rows]
    # A row with no figures (a shared module's alias line) may run over the empty columns.
    blank = [not any(row.cells) for row in rows]
    wanted = max([len(label_header)] + [len(label) for label, empty in zip(labels, blank) if not empty])

    def widths(chosen: list[int]) -> list[int]:
        return [max([len(columns[i].header)] + [len(row.cells[i]) for row in rows]) for i in chosen]

    def numbers(chosen: list[int]) -> int:
        return sum(len(GAP) + w for w in widths(chosen))

    # Shares go first, then whole columns from the right, until a readable label fits.
    if width - numbers(keep) < min(wanted, MIN_LABEL):
        keep = [i for i in keep if not columns[i].share]
    while keep and width - numbers(keep) < min(wanted, MIN_LABEL):
        keep.pop()
    column_widths = widths(keep)
    label_width = max(min(wanted, width - numbers(keep)), 0)

    def line(label: str, cells: list[str]) -> str:
        text = _cut(label, label_width).ljust(label_width)
        text += "".join(GAP + cell.rjust(w) for cell, w in zip(cells, column_widths))
        return text.rstrip()[:width]

    lines = [line(label_header, [columns[i].header for i in keep])]
    lines.append("-" * min(width, label_width + numbers(keep)))
    lines += [
        _cut(label, width) if empty else line(label, [row.cells[i] for i in keep])
        for label, row, empty in zip(labels, rows, blank)
    ]
    return lines


def _cut(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    return text[: width - len(ELLIPSIS)] + ELLIPSIS
