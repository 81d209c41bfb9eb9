"""Wrapping long lines to a terminal's width: the one line wrapper every text report uses.

``width=None`` (a file, a pipe) keeps every line as it is.
"""

from __future__ import annotations

import textwrap

__all__ = ["fit_lines", "wrap_line"]


def wrap_line(line: str, width: int | None, *, continuation: str = "    ", min_width: int = 1,
              break_on_hyphens: bool = True) -> list[str]:
    """``line`` as it is when it fits ``width``, else wrapped to ``max(width, min_width)`` columns.

    Continuation lines are indented under the line's own indent by ``continuation``.

    Example:
        >>> wrap_line("inputs: input_ids [2, 8], attention_mask [2, 8]", 30, continuation="  ")
        ['inputs: input_ids [2, 8],', '  attention_mask [2, 8]']
    """
    if width is None or len(line) <= width:
        return [line]
    columns = max(width, min_width)
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line, columns, subsequent_indent=(indent + continuation)[: max(columns - 1, 0)],
                         break_on_hyphens=break_on_hyphens)


def fit_lines(text: str, width: int | None) -> str:
    """Lines longer than ``width`` wrapped, their continuation indented under the line."""
    if width is None:
        return text
    return "\n".join(wrapped for line in text.split("\n") for wrapped in wrap_line(line, width))
