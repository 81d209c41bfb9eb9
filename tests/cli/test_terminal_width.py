"""Text on a terminal fits its width; files (-o) and pipes keep the wide calflops layout."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from flopsight.cli import main


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str], stream: io.StringIO) -> str:
    monkeypatch.setattr("sys.stdout", stream)
    assert main(argv) == 0
    return stream.getvalue()


def _longest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


EXAMPLE = ["example", "--device", "meta", "--seq-len", "16", "--depth", "3", "--top", "2"]


def test_a_terminal_gets_lines_that_fit_and_a_pipe_the_wide_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    wide = _run(monkeypatch, EXAMPLE, io.StringIO())
    assert _longest(wide) > 80  # else the test proves nothing
    narrow = _run(monkeypatch, EXAMPLE, Terminal())
    assert _longest(narrow) <= 80
    assert narrow != wide
    monkeypatch.setenv("COLUMNS", "300")
    assert _run(monkeypatch, EXAMPLE, io.StringIO()) == wide  # a pipe ignores COLUMNS


def test_output_file_keeps_the_wide_layout_on_a_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    wide = _run(monkeypatch, EXAMPLE, io.StringIO())
    target = tmp_path / "report.txt"
    assert _run(monkeypatch, [*EXAMPLE, "-o", str(target)], Terminal()) == ""
    assert target.read_text() == wide


def test_generate_text_fits_a_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tiny_config_files import tiny_llama_file

    path = tiny_llama_file(tmp_path)
    argv = ["profile", str(path), "--mode", "generate", "--seq-len", "8", "--new-tokens", "2"]
    monkeypatch.setenv("COLUMNS", "80")
    wide = _run(monkeypatch, argv, io.StringIO())
    assert _longest(wide) > 80
    assert _longest(_run(monkeypatch, argv, Terminal())) <= 80
