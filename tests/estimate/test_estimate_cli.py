"""``flopsight estimate`` in-process: the closed forms, --measure, --format json, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from flopsight.cli import main  # noqa: E402
from flopsight.hf import bundled_model  # noqa: E402

from test_estimate_formulas import SMALL  # noqa: E402


def _tiny_llama(tmp_path: Path) -> str:
    config = {**bundled_model("llama-3-8b").config, **SMALL}
    path = tmp_path / "tiny-llama.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_text_prints_every_source_without_building_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", _tiny_llama(tmp_path), "--seq-len", "16"]) == 0
    out = capsys.readouterr().out
    for needle in ("megatron", "kaplan_6n", "palm", "Narayanan et al. 2021", "Chowdhery et al. 2022",
                   "qkv_projections", "attention_scores", "logits", "106,816"):
        assert needle in out, needle
    assert "measured" not in out.split("Parameters")[1].splitlines()[1]


def test_measure_json_matches_formula_and_names_the_rest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", _tiny_llama(tmp_path), "--batch-size", "2", "--seq-len", "16", "--measure",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["forms"]) == {"megatron", "kaplan_6n", "palm"}
    non_embedding = data["params"]["non_embedding"]
    assert data["forms"]["kaplan_6n"]["training_flops"] == 6 * non_embedding * 2 * 16
    measured = data["measured"]
    assert measured["params"] == {"formula": 106_816, "measured": 106_816}
    assert measured["matmul_class"]["formula"] == measured["matmul_class"]["measured"] == 6_029_312
    assert measured["measured_flops"] - 6_029_312 == sum(v for k, v in measured["differences"].items())
    assert measured["differences"]["norms"] == 5 * (4 * 32 * 64 + 2 * 32)


def test_measure_text_names_the_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", _tiny_llama(tmp_path), "--seq-len", "16", "--measure"]) == 0
    out = capsys.readouterr().out
    assert "matmul-class: count vs formula" in out and "norms" in out
    assert "Attention counted in full vs causal" in out
    assert "measured 2xMACs" in out


def test_an_unsupported_family_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "gpt2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        "flopsight: InputError: closed forms for gpt2 are not implemented yet "
        "(implemented: bert, clip, clip_text_model, clip_vision_model, llama, mistral, mixtral, qwen2, t5, vit)"]


@pytest.mark.parametrize("model, params, tokens", [
    ("bert-base-uncased", 109_514_298, 128), ("vit-base-patch16-224", 86_567_656, (224 // 16) ** 2 + 1),
    ("clip-vit-large-patch14-336 --task CLIPVisionModel", 303_507_456, (336 // 14) ** 2 + 1),  # the vision tower
])
def test_bundled_encoders_measure_equal_to_the_formula(model: str, params: int, tokens: int,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", *model.split(), "--measure", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["measured"]["params"] == {"formula": params, "measured": params}
    assert data["measured"]["matmul_class"]["formula"] == data["measured"]["matmul_class"]["measured"]
    assert data["seq_len"] == tokens
    assert data["causal"] is False


def test_vit_with_a_seq_len_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "vit-base-patch16-224", "--seq-len", "100"]) == 2
    assert "197 tokens per image" in capsys.readouterr().err


def test_output_file_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "estimate.json"
    assert main(["estimate", _tiny_llama(tmp_path), "--format", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(target.read_text())["params"]["total"] == 106_816
