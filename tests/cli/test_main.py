"""The CLI in-process: ``main([...])`` returns the exit code; output on stdout or in -o FILE."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import flopsight
from flopsight.cli import main
from flopsight.cli.output import Progress, write_atomically

EXAMPLE_PARAMS = 6_967_296  # see flopsight.examples: embeddings, 6 blocks of 789,760, final norm


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("flopsight: ") and "Traceback" not in err
    return lines[0]


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: flopsight" in out and "profile" in out and "models" in out and "example" in out


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["profile", "--help"]) == 0
    out = capsys.readouterr().out
    assert flopsight.__version__ in out and "--image-size" in out


def test_models_lists_every_bundled_config(capsys: pytest.CaptureFixture[str]) -> None:
    from flopsight.hf import bundled_models

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for model in bundled_models().values():
        assert model.name in out and model.modality in out
    assert "124.44 M" in out  # gpt2
    assert main(["models", "--format", "json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["gpt2"] == {"name": "gpt2", "family": "gpt2", "params": 124_439_808, "modality": "text",
                            "checkpoint": "openai-community/gpt2"}


def test_example_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--depth", "2", "--top", "2"]) == 0
    captured = capsys.readouterr()
    assert "TinyTransformer" in captured.out and "6.97 M" in captured.out
    assert captured.err == ""  # progress only on a terminal


def test_example_json_reads_back_as_a_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--format", "json", "--seq-len", "64", "--backward"]) == 0
    data = json.loads(capsys.readouterr().out)
    profile = flopsight.Profile.from_dict(data)
    assert profile.params == EXAMPLE_PARAMS
    assert profile.backward_measured and profile.backward.flops > 0
    assert data["metadata"]["input_description"]["tensors"]["input_ids"]["shape"] == [1, 64]
    assert data["metadata"]["model_source"]["kind"] == "example"


def test_example_csv_has_one_row_per_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    from flopsight.examples import TinyTransformer

    assert [r["module"] for r in rows] == [name for name, _ in TinyTransformer().named_modules()]
    by_name = {r["module"]: r for r in rows}
    root = rows[0]
    assert int(root["params"]) == EXAMPLE_PARAMS
    tokens = 128  # the default --seq-len, batch 1
    assert int(root["forward_macs"]) == _example_forward_macs(tokens)
    # one block: qkv 256x768, out 256x256, up 256x1024, down 1024x256 per token, and the
    # attention's Q K^T and P V, 4 heads of 64 over the full 128 x 128 scores
    block = tokens * (256 * (768 + 256 + 1024) + 1024 * 256) + 2 * 4 * tokens * tokens * 64
    assert [int(by_name[f"blocks.{i}"]["forward_macs"]) for i in range(6)] == [block] * 6
    assert int(by_name["blocks.0.mlp.up"]["forward_macs"]) == tokens * 256 * 1024
    assert int(by_name["lm_head"]["forward_macs"]) == tokens * 256 * 8192
    assert int(by_name["embed"]["forward_macs"]) == 0  # a lookup, no products


def test_example_markdown_has_a_table_per_depth(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--format", "markdown", "--depth", "2", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "## Depth 0" in out and "## Depth 1" in out and "## Depth 2" in out and "## Depth 3" not in out
    depth1 = out.split("## Depth 1")[1].split("## Depth 2")[0]
    assert depth1.count("\n| `") == 3  # --top 3 rows


def test_output_file_is_written_and_stdout_stays_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "profile.json"
    assert main(["example", "--format", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert flopsight.Profile.from_dict(json.loads(target.read_text())).params == EXAMPLE_PARAMS
    assert [p.name for p in tmp_path.iterdir()] == ["profile.json"]  # no temporary file left


def test_a_failed_run_leaves_an_existing_output_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.txt"
    target.write_text("before")
    assert main(["profile", "no-such-model", "-o", str(target)]) == 2
    _one_error_line(capsys.readouterr().err)
    assert target.read_text() == "before"


def test_write_atomically_never_leaves_half_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("before")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(str(target), "after" * 1000)
    assert target.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize(("argv", "needle"), [
    (["profile", "lama-3-8b"], "did you mean llama-3-8b"),
    (["profile", "llava"], "llava-next-8b"),
    (["profile", "gpt2", "--seq-len", "0"], "--seq-len"),
    (["profile", "gpt2", "--image-size", "3x"], "--image-size"),
    (["profile", "gpt2", "--format", "yaml"], "--format"),
    (["profile", "gpt2", "--mode", "generate", "--backward"], "--backward"),
    (["profile", "gpt2", "--new-tokens", "3"], "--new-tokens"),
    (["profile"], "MODEL"),
    (["frobnicate"], "frobnicate"),
    (["example", "--seq-len", "100000"], "--seq-len"),
    (["example", "-o", "/no/such/folder/out.txt"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_code_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert needle in _one_error_line(captured.err)
    assert captured.out == ""


def test_malformed_config_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"model_type": "llama",')
    assert main(["profile", str(broken)]) == 2
    assert "not valid JSON" in _one_error_line(capsys.readouterr().err)
    no_type = tmp_path / "config.json"
    no_type.write_text('{"hidden_size": 8}')
    assert main(["profile", str(tmp_path)]) == 2  # a folder with a config.json
    assert "model_type" in _one_error_line(capsys.readouterr().err)
    assert main(["profile", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in _one_error_line(capsys.readouterr().err)


def test_progress_is_shown_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        progress = Progress(stream)
        progress("building")
        progress.clear()
    assert piped.getvalue() == ""
    assert "building" in terminal.getvalue() and terminal.getvalue().endswith("\r\x1b[K")


def test_unexpected_errors_are_one_line_with_exit_code_1(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def boom(args: object) -> str:
        raise ZeroDivisionError("something broke")

    monkeypatch.setattr("flopsight.cli.app.run_example", boom)
    monkeypatch.delenv("FLOPSIGHT_DEBUG", raising=False)
    assert main(["example"]) == 1
    assert "ZeroDivisionError: something broke" in _one_error_line(capsys.readouterr().err)


def _example_forward_macs(tokens: int) -> int:
    """TinyTransformer: per block and token qkv 256x768, out 256x256, up 256x1024, down 1024x256;
    attention Q K^T and P V over tokens^2 scores of 64 per head, 4 heads; tied LM head 256x8192."""
    per_token = 256 * (768 + 256 + 1024) + 1024 * 256
    attention = 2 * 4 * tokens * tokens * 64
    return 6 * (tokens * per_token + attention) + tokens * 256 * 8192


def test_example_on_meta_needs_no_memory_and_counts_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    # 100,000 x 128 tokens: about 1.7 TiB of activations on cpu; nothing on meta
    assert main(["example", "--device", "meta", "--batch-size", "100000", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metadata"]["device"] == "meta"
    assert data["summary"]["forward"]["macs"] == 100_000 * _example_forward_macs(128)
    assert main(["example", "--seq-len", "16", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["forward"]["macs"] == _example_forward_macs(16)


def test_example_on_cpu_refuses_what_ram_cannot_hold(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--batch-size", "100000"]) == 2  # instead of the OOM killer
    line = _one_error_line(capsys.readouterr().err)
    assert "--device meta" in line and "GiB" in line
    # the weights alone are 6,967,296 x 4 bytes: 1 MiB of RAM cannot hold them
    monkeypatch.setattr("flopsight.hf.build.available_ram", lambda: 2**20)
    assert main(["example", "--seq-len", "8"]) == 2
    assert "0.0 GiB is available" in _one_error_line(capsys.readouterr().err)


def test_example_time_on_meta_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--device", "meta", "--time"]) == 2
    assert "--device cpu" in _one_error_line(capsys.readouterr().err)
