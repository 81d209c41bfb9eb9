"""``profile_model(..., task=, attn_implementation=, module=)``: the CLI's ``--task``,
``--attn-implementation`` and ``--module``, with the same figures."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402
import transformers  # noqa: E402

import flopsight  # noqa: E402
from flopsight.cli import main  # noqa: E402
from flopsight.hf import bundled_model, profile_model  # noqa: E402



def _config(name: str) -> dict[str, Any]:
    bundled = bundled_model(name)
    assert bundled is not None
    return dict(bundled.config)


BERT = _config("bert-base-uncased")
H, I, L, HEADS = BERT["hidden_size"], BERT["intermediate_size"], BERT["num_hidden_layers"], BERT["num_attention_heads"]
CLIP = "clip-vit-large-patch14-336"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> flopsight.Profile:
    assert main(["profile", *argv, "--format", "json"]) == 0
    return flopsight.Profile.from_dict(json.loads(capsys.readouterr().out))


def test_task_base_builds_bert_model(capsys: pytest.CaptureFixture[str]) -> None:
    seq = 16
    result = profile_model("bert-base-uncased", seq_len=seq, task="base")
    with torch.device("meta"):
        reference = transformers.BertModel(transformers.BertConfig.from_dict(BERT))
    assert result.params == sum(p.numel() for p in reference.parameters())  # transformers' own count
    assert result.metadata["model_source"]["architecture"] == "BertModel"
    assert result.metadata["model_source"]["task"] == "base"
    # per layer: Q, K, V, O (s x H x H each), the FFN (s x H x I twice), Q K^T and P V (s x s x H
    # each); then the pooler's one token, H x H
    assert result.forward.macs == L * (4 * seq * H * H + 2 * seq * H * I + 2 * seq * seq * H) + H * H
    cli = _cli(["bert-base-uncased", "--seq-len", str(seq), "--task", "base"], capsys)
    assert (result.params, result.forward) == (cli.params, cli.forward)
    assert result.metadata["model_source"] == cli.metadata["model_source"]


def test_eager_attention_moves_the_scores_through_memory(capsys: pytest.CaptureFixture[str]) -> None:
    seq = 64
    sdpa, eager = (profile_model("bert-base-uncased", seq_len=seq, task="base", attn_implementation=impl)
                   for impl in (None, "eager"))
    assert eager.forward.macs == sdpa.forward.macs
    assert "aten._softmax.default" in eager.by_op() and not any("scaled_dot_product" in op for op in eager.by_op())
    scores = HEADS * seq * seq * 4  # one float32 [1, heads, s, s] score tensor
    output = seq * H * 4  # the copy of P @ V's transpose(1, 2).contiguous()
    assert eager.forward.bytes_read - sdpa.forward.bytes_read == L * (3 * scores + output)
    assert eager.metadata["attention"] == {"requested": "eager", "built": "eager"}
    assert sdpa.metadata["attention"] == {"requested": "sdpa", "built": "sdpa"}
    cli = _cli(["bert-base-uncased", "--seq-len", str(seq), "--task", "base", "--attn-implementation", "eager"], capsys)
    assert cli.forward == eager.forward and cli.metadata["attention"] == eager.metadata["attention"]


def test_module_profiles_the_vision_tower_alone(capsys: pytest.CaptureFixture[str]) -> None:
    tower = profile_model(CLIP, module="vision_model")
    config = transformers.CLIPConfig.from_dict(_config(CLIP))
    with torch.device("meta"):
        reference = transformers.CLIPModel(config).vision_model
    assert tower.params == sum(p.numel() for p in reference.parameters())
    assert tower.metadata["module"] == "vision_model" and tower.root.type == type(reference).__name__
    cli = _cli([CLIP, "--module", "vision_model"], capsys)
    assert (tower.params, tower.forward) == (cli.params, cli.forward)
    assert tower.metadata["input_description"] == cli.metadata["input_description"]
