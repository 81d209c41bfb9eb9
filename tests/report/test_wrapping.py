"""report/wrapping.py: the one line wrapper, as the text report and the model header use it."""

from __future__ import annotations

from flopsight.report.header import fit_header_line
from flopsight.report.wrapping import fit_lines, wrap_line


def test_a_line_that_fits_or_no_width_is_kept_as_it_is() -> None:
    line = "x" * 30
    assert wrap_line(line, None) == [line]
    assert wrap_line(line, 30) == [line]
    assert fit_lines(f"{line}\n  {line}", None) == f"{line}\n  {line}"


def test_text_report_lines_continue_four_columns_under_their_indent() -> None:
    text = "top\n  aaaa bbbb cccc dddd"
    assert fit_lines(text, 12) == "top\n  aaaa bbbb\n      cccc\n      dddd"


def test_text_report_breaks_on_hyphens_and_the_header_does_not() -> None:
    line = "name: tiny-llama-model"
    assert wrap_line(line, 16) == ["name: tiny-", "    llama-model"]
    assert fit_header_line(line, 20) == ["name:", "  tiny-llama-model"]


def test_the_header_wraps_to_at_least_twenty_columns_with_two_space_continuations() -> None:
    line = "inputs: input_ids [2, 8], attention_mask [2, 8]"
    assert fit_header_line(line, 30) == ["inputs: input_ids [2, 8],", "  attention_mask [2, 8]"]
    assert fit_header_line(line, 10) == fit_header_line(line, 20) == [
        "inputs: input_ids", "  [2, 8],", "  attention_mask [2,", "  8]"]
