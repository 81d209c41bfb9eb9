"""User errors found by running the CLI as a new user would: each one line on stderr, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from flopsight.cli import main  # noqa: E402
from flopsight.hf import bundled_model  # noqa: E402


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flopsight: ") and "Traceback" not in captured.err, captured.err
    assert captured.out == ""
    return lines[0]


def _gpt2_config(tmp_path: Path, **changes: object) -> str:
    config = dict(bundled_model("gpt2").config)
    config.update(changes)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


@pytest.mark.parametrize(("changes", "needles"), [
    ({"n_embd": -8}, ("negative dimension -8", "check its sizes")),
    ({"vocab_size": None}, ("vocab_size", "expected int")),
    ({"n_layer": "twelve"}, ("n_layer",)),
])
def test_configs_with_wrong_values(tmp_path: Path, changes: dict[str, object], needles: tuple[str, ...],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", _gpt2_config(tmp_path, **changes), "--seq-len", "8"]) == 2
    line = _error_line(capsys)
    assert all(needle in line for needle in needles), line


def test_a_batch_whose_token_ids_cannot_be_allocated(capsys: pytest.CaptureFixture[str]) -> None:
    # 10**11 x 128 int64 ids = 1.024e14 bytes, real on the CPU even on meta
    assert main(["profile", "gpt2", "--batch-size", str(10**11)]) == 2
    line = _error_line(capsys)
    assert f"{10**11} x 128 int64" in line and "lower --batch-size" in line
    assert main(["profile", "gpt2", "--batch-size", "9" * 25]) == 2  # past int64 itself
    assert "lower --batch-size" in _error_line(capsys)


def test_meta_runs_a_batch_past_the_real_integer_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """8193 x 2048 = 16,779,264 token ids, just past the 2**24 integers RealIntegersMode keeps real
    by default: the inputs stay real (their values are read), and the counts grow with the batch."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 16, "intermediate_size": 32,
                                  "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 1,
                                  "vocab_size": 32, "max_position_embeddings": 4096}))
    assert main(["profile", str(config), "--batch-size", "8193", "--seq-len", "2048", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    tokens = 8193 * 2048
    # per token: q, o 16x16; k, v 16x8; gate, up 16x32; down 32x16; lm head 16x32
    linear = tokens * (2 * 16 * 16 + 2 * 16 * 8 + 3 * 16 * 32 + 16 * 32)
    attention = 2 * 8193 * 2 * 2048 * 2048 * 8  # QK^T and PV, 2 heads of 8
    assert summary["forward"]["macs"] == linear + attention


def test_available_ram_is_memavailable_not_memfree(tmp_path: Path) -> None:
    from flopsight.hf.build import available_ram

    meminfo = tmp_path / "meminfo"
    # after a large file read: little free, much reclaimable page cache
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:          500000 kB\nMemAvailable:   22000000 kB\n")
    assert available_ram(str(meminfo)) == 22000000 * 1024
    assert available_ram(str(tmp_path / "missing")) == 0  # unknown: nothing is refused


@pytest.mark.parametrize(("seq_len", "new_tokens", "code"), [
    ("1000", "100", 2),  # 1,100 positions > GPT-2's 1,024
    ("1000", "25", 2),   # 1,025: one past
])
def test_generate_past_the_position_table_is_refused(seq_len: str, new_tokens: str, code: int,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "gpt2", "--mode", "generate", "--seq-len", seq_len, "--new-tokens", new_tokens]) == code
    line = _error_line(capsys)
    total = int(seq_len) + int(new_tokens)
    assert f"makes {total} positions, more than the 1024" in line


def test_generate_up_to_the_last_position_runs(capsys: pytest.CaptureFixture[str]) -> None:
    # 1,022 + 2 = 1,024 positions: the last one is still in GPT-2's table
    assert main(["profile", "gpt2", "--mode", "generate", "--seq-len", "1022", "--new-tokens", "2",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["generation"]["new_tokens"] == 2


def test_rope_models_have_no_position_limit_in_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = dict(bundled_model("llama-3-8b").config)
    config.update(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2,
                  num_hidden_layers=1, vocab_size=256, max_position_embeddings=16)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    # 16 + 4 tokens past max_position_embeddings = 16: rope extrapolates, nothing to refuse
    assert main(["profile", str(path), "--seq-len", "16", "--mode", "generate", "--new-tokens", "4"]) == 0
    assert "decode step 4" in capsys.readouterr().out
