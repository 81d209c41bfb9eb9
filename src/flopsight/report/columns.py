"""Plain aligned text for the distributed reports: "label: value" lines and column grids.

Layout only; the cells arrive formatted (``units.py``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

__all__ = ["Table", "aligned", "grid", "titled"]

GAP = "  "


class Table(NamedTuple):
    """A table's formatted cells, before layout: the text reports ``grid`` it, the HTML page
    draws it; both show the same strings. The first ``left`` columns are names."""

    header: list[str]
    rows: list[list[str]]
    left: int = 1

    def lines(self) -> list[str]:
        return grid(self.header, self.rows, left=self.left)


def aligned(rows: Sequence[tuple[str, str]]) -> str:
    """``label: value`` lines with the values in one column, as DeepSpeed's summary prints them.

    Example:
        >>> print(aligned([("world size", "8"), ("data parallel size", "2")]))
        world size:         8
        data parallel size: 2
    """
    if not rows:
        return ""
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}".rstrip() for label, value in rows)


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> list[str]:
    """A table: the header, a rule, then each row; the first ``left`` columns flush left (names),
    the rest flush right (numbers). A row of one cell is a note and runs across the columns.

    Example:
        >>> grid(["rank", "FLOPs"], [["0", "12"], ["1", "3"]])
        ['rank  FLOPs', '----  -----', '0        12', '1         3']
    """
    table = [list(row) for row in rows if len(row) == len(header)]
    widths = [max([len(header[i])] + [len(row[i]) for row in table]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths))]
        return GAP.join(padded).rstrip()

    lines = [line(header), GAP.join("-" * w for w in widths)]
    lines += [line(row) if len(row) == len(header) else row[0] for row in rows]
    return lines


def titled(title: str, body: str) -> str:
    """A section: its title underlined, then the body."""
    return f"{title}\n{'-' * len(title)}\n{body}"
