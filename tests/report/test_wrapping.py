"""report/wrapping.py: the one line wrapper."""

from __future__ import annotations

from flopsight.report.wrapping import fit_lines, wrap_line


def test_a_line_that_fits_or_no_width_is_kept_as_it_is() -> None:
    line = "x" * 30
    assert wrap_line(line, None) == [line]
    assert wrap_line(line, 30) == [line]
    assert fit_lines(f"{line}\n  {line}", None) == f"{line}\n  {line}"


def test_text_report_lines_continue_four_columns_under_their_indent() -> None:
    text = "top\n  aaaa bbbb cccc dddd"
    assert fit_lines(text, 12) == "top\n  aaaa bbbb\n      cccc\n      dddd"

