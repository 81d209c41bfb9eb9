"""Text on a terminal fits its width; files (-o) and pipes keep the wide calflops layout."""

from __future__ import annotations

import io
import json
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
    from flopsight.hf import bundled_model

    config = dict(bundled_model("llama-3-8b").config)
    config.update(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                  num_hidden_layers=2, vocab_size=256)
    path = tmp_path / "tiny-llama.json"
    path.write_text(json.dumps(config))
    argv = ["profile", str(path), "--mode", "generate", "--seq-len", "8", "--new-tokens", "2"]
    monkeypatch.setenv("COLUMNS", "80")
    wide = _run(monkeypatch, argv, io.StringIO())
    assert _longest(wide) > 80
    assert _longest(_run(monkeypatch, argv, Terminal())) <= 80
