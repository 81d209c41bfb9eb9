"""``flopsight profile --task / --attn-implementation / --module`` on bundled configs (meta)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

import flopsight  # noqa: E402
from flopsight.cli import main  # noqa: E402
from flopsight.hf import bundled_model  # noqa: E402

BERT = bundled_model("bert-base-uncased").config
H, V, L, HEADS = BERT["hidden_size"], BERT["vocab_size"], BERT["num_hidden_layers"], BERT["num_attention_heads"]


def _profile(argv: list[str], capsys: pytest.CaptureFixture[str]) -> flopsight.Profile:
    assert main(["profile", *argv, "--format", "json"]) == 0
    return flopsight.Profile.from_dict(json.loads(capsys.readouterr().out))


def _bert(task: str, capsys: pytest.CaptureFixture[str], seq_len: int = 16) -> flopsight.Profile:
    return _profile(["bert-base-uncased", "--seq-len", str(seq_len), "--task", task], capsys)


def test_task_picks_the_head_and_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    base, masked, classifier = (_bert(task, capsys) for task in ("base", "masked-lm", "sequence-classification"))
    assert base.metadata["model_source"]["architecture"] == "BertModel"
    assert masked.metadata["model_source"]["architecture"] == "BertForMaskedLM"
    pooler = H * H + H  # BertModel's pooler; BertForMaskedLM builds its encoder without one
    mlm_head = (H * H + H) + 2 * H + V  # transform dense, its LayerNorm, decoder bias (weight tied)
    assert masked.params - base.params == mlm_head - pooler
    labels = 2  # the default num_labels
    assert classifier.params - base.params == H * labels + labels


def test_task_head_macs_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    seq_len = 16
    base, masked, classifier = (_bert(task, capsys, seq_len) for task in
                                ("base", "masked-lm", "sequence-classification"))
    # MLM head per token: transform h x h and decoder h x V; the pooler (gone) read one token, h x h
    assert masked.forward.macs - base.forward.macs == seq_len * (H * H + H * V) - H * H
    # classifier: one pooled token per sample, h x labels
    assert classifier.forward.macs - base.forward.macs == H * 2


def test_a_class_name_is_a_task_and_a_tower_builds_from_its_sub_config(capsys: pytest.CaptureFixture[str]) -> None:
    named = _bert("BertForSequenceClassification", capsys)
    assert named.metadata["model_source"]["architecture"] == "BertForSequenceClassification"
    tower = _profile(["clip-vit-large-patch14-336", "--task", "CLIPVisionModel"], capsys)
    assert set(tower.metadata["input_description"]["tensors"]) == {"pixel_values"}
    import transformers

    config = transformers.CLIPConfig.from_dict(bundled_model("clip-vit-large-patch14-336").config)
    import torch

    with torch.device("meta"):
        reference = transformers.CLIPVisionModel(config.vision_config)
    assert tower.params == sum(p.numel() for p in reference.parameters())  # transformers' own count


def test_image_classification_gets_pixel_values_only(capsys: pytest.CaptureFixture[str]) -> None:
    profile = _profile(["clip-vit-large-patch14-336", "--task", "image-classification"], capsys)
    assert profile.metadata["model_source"]["architecture"] == "CLIPForImageClassification"
    assert set(profile.metadata["input_description"]["tensors"]) == {"pixel_values"}


@pytest.mark.parametrize(("task", "needle"), [
    ("image-classification", "choose base, causal-lm, masked-lm, sequence-classification"),
    ("Foo", "not a task name"),
    ("CLIPVisionModel", "does not build from a BertConfig"),
])
def test_a_task_the_config_cannot_build_is_one_line(task: str, needle: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "bert-base-uncased", "--task", task]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_eager_and_sdpa_same_macs_different_ops_and_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    batch, seq = 1, 64
    sdpa, eager, flash = (
        _profile(["bert-base-uncased", "--seq-len", str(seq), "--task", "base", "--attn-implementation", impl], capsys)
        for impl in ("sdpa", "eager", "flash_attention_2"))
    assert eager.forward.macs == sdpa.forward.macs  # attention counted in full either way
    assert "aten.bmm.default" in eager.by_op() and "aten._softmax.default" in eager.by_op()
    assert not any("scaled_dot_product" in op for op in eager.by_op())
    assert any("scaled_dot_product" in op for op in sdpa.by_op()) and "aten.bmm.default" not in sdpa.by_op()
    scores = batch * HEADS * seq * seq * 4  # one float32 [b, heads, s, s] score tensor
    # eager's P @ V output is [b, heads, s, d]: its transpose(1, 2).contiguous() copies it (the
    # fused CPU kernel already writes it [b, s, heads, d], so the copy is none there)
    output = batch * seq * H * 4
    # eager reads the scores three times (scale, softmax, P @ V) and writes them three times
    # (Q K^T, scale, softmax); the fused kernel writes only its logsumexp, [b, heads, s] float32
    assert eager.forward.bytes_read - sdpa.forward.bytes_read == L * (3 * scores + output)
    assert eager.forward.bytes_written - sdpa.forward.bytes_written == L * (3 * scores - batch * HEADS * seq * 4 + output)
    assert flash.forward == sdpa.forward
    assert eager.metadata["attention"] == {"requested": "eager", "built": "eager"}
    assert flash.metadata["attention"]["built"] == "sdpa" and "flash" in flash.metadata["attention"]["priced_as"]


def test_module_profiles_the_subtree_alone(capsys: pytest.CaptureFixture[str]) -> None:
    full = _profile(["clip-vit-large-patch14-336"], capsys)
    tower = _profile(["clip-vit-large-patch14-336", "--module", "vision_model"], capsys)
    subtree = full.module("vision_model")
    assert tower.params == subtree.params
    assert tower.forward.flops == subtree.costs[flopsight.Phase.FORWARD].flops
    assert tower.forward.macs == subtree.costs[flopsight.Phase.FORWARD].macs
    assert tower.metadata["module"] == "vision_model"
    assert tower.root.type == subtree.type


def test_an_unknown_module_names_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "clip-vit-large-patch14-336", "--module", "vision_modle"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nearest: vision_model" in err


@pytest.mark.parametrize(("argv", "needle"), [
    (["--module", "vision_model", "--mode", "generate"], "--module profiles one forward"),
    (["--layout", "deepspeed", "--format", "json"], "use --format text"),
    (["--attn-implementation", "flash"], "invalid choice"),
])
def test_option_combinations_refused(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "gpt2", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_estimate_takes_the_same_task_names(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for task in ("sequence-classification", "BertForSequenceClassification"):
        assert main(["estimate", "bert-base-uncased", "--task", task, "--format", "json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert main(["estimate", "bert-base-uncased", "--task", "image-classification"]) == 2
    assert "choose base, causal-lm, masked-lm" in capsys.readouterr().err


def test_the_text_header_names_the_module_and_a_substituted_attention(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "bert-base-uncased", "--seq-len", "8", "--attn-implementation", "flash_attention_2",
                 "--module", "bert.encoder", "--depth", "1"]) == 0
    header = capsys.readouterr().out.split("\n\n")[0]
    assert "module bert.encoder alone" in header
    assert "attention: flash_attention_2, priced as SDPA's fused flash attention kernel" in header


def test_a_decoder_classifier_takes_a_batch(capsys: pytest.CaptureFixture[str]) -> None:
    gpt2 = bundled_model("gpt2").config
    width, labels, batch, seq = gpt2["n_embd"], 2, 2, 8
    base = _profile(["gpt2", "--task", "base", "--batch-size", str(batch), "--seq-len", str(seq)], capsys)
    classifier = _profile(["gpt2", "--task", "sequence-classification", "--batch-size", str(batch),
                           "--seq-len", str(seq)], capsys)
    assert classifier.params - base.params == width * labels  # score: Linear(h, labels, bias=False)
    # the score head runs on every token (it pools after the product): b x s x h x labels
    assert classifier.forward.macs - base.forward.macs == batch * seq * width * labels
