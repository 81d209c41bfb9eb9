"""T5 (encoder-decoder): the parameter formula against the built model, Megatron's terms against the
matmul-class FLOPs measured on meta per term, and the rest of the count named, all derived here by hand."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.cli import main  # noqa: E402
from flopsight.errors import InputError  # noqa: E402
from flopsight.estimates import compare, estimate  # noqa: E402
from flopsight.estimates.compare import ATTENTION_ELEMENTWISE, NORMS  # noqa: E402
from flopsight.hf import InputSpec, build_model, bundled_model, profile_forward, synthesize_inputs  # noqa: E402

# d_model 64, 4 heads of d_kv 8 (a d = 32, not h), d_ff 128, 2 encoder and 3 decoder layers, 32 buckets.
h, a, d, f, L_E, L_D, V, R = 64, 4, 8, 128, 2, 3, 256, 32
B, S = 2, 16
SMALL = {"vocab_size": V, "d_model": h, "d_kv": d, "d_ff": f, "num_layers": L_E, "num_decoder_layers": L_D,
         "num_heads": a, "relative_attention_num_buckets": R}
CONFIGS = {
    # T5 v1.1 / flan; transformers 5 ties lm_head to the embedding all the same (the flag only
    # stops the decoder's output scaling), and an older transformers' False is read as untied.
    "gated-untied": {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False},
    "relu-tied": {"feed_forward_proj": "relu", "tie_word_embeddings": True},  # the original T5
    "t5model": {"feed_forward_proj": "relu", "architectures": ["T5Model"]},  # no lm_head
}


def t5(name: str) -> Any:
    return transformers.T5Config(**{"architectures": ["T5ForConditionalGeneration"], **SMALL, **CONFIGS[name]})


def mlp_matrices(name: str) -> int:
    return 3 if name == "gated-untied" else 2  # wi_0, wi_1, wo or wi, wo


def measured(config: Any) -> Any:
    model = build_model(config, device="meta", dtype="float32")
    return profile_forward(model, synthesize_inputs(model, InputSpec(B, S), device="meta"), device="meta")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_formula_equals_transformers_count(name: str) -> None:
    config = t5(name)
    attention = 4 * h * a * d  # q, k, v, o without biases
    mlp = mlp_matrices(name) * h * f
    norms = (2 * L_E + 1 + 3 * L_D + 1) * h  # one per sublayer, one final per stack
    hand = V * h + L_E * (attention + mlp) + L_D * (2 * attention + mlp) + 2 * R * a + norms  # head tied or absent
    model = build_model(config, device="meta", dtype="float32")
    assert estimate(config).total_params == sum(p.numel() for p in model.parameters()) == hand


def test_an_untied_config_counts_the_head() -> None:
    """A config that keeps tie_word_embeddings False (transformers before 5) has its own lm_head, V h."""
    config = t5("gated-untied")
    untied = SimpleNamespace(**{**config.to_dict(), "tie_word_embeddings": False, "is_gated_act": True})
    assert estimate(untied).params["head"] == V * h
    assert estimate(untied).total_params - estimate(config).total_params == V * h


def test_bundled_t5_base_matches_the_catalog() -> None:
    e = estimate("t5-base")
    assert e.total_params == bundled_model("t5-base").params == 222_903_552
    assert (e.seq_len, e.decoder_seq_len, e.tokens) == (128, 128, 256)


def expected_terms(name: str, s_e: int, s_d: int) -> dict[str, int]:
    """The matmul-class FLOPs of one forward, by hand, attention in full (as flopsight counts it)."""
    t_e, t_d, m = B * s_e, B * s_d, mlp_matrices(name)
    terms = {
        "encoder_qkv_projections": 2 * t_e * h * 3 * a * d * L_E,
        "encoder_attention": 2 * 2 * B * a * s_e * s_e * d * L_E,  # QK^T and PV
        "encoder_output_projection": 2 * t_e * a * d * h * L_E,
        "encoder_mlp": 2 * t_e * m * h * f * L_E,
        "decoder_qkv_projections": 2 * t_d * h * 3 * a * d * L_D,
        "decoder_attention": 2 * 2 * B * a * s_d * s_d * d * L_D,
        "decoder_output_projection": 2 * t_d * a * d * h * L_D,
        "cross_q_projection": 2 * t_d * h * a * d * L_D,
        "cross_kv_projections": 2 * t_e * h * 2 * a * d * L_D,  # k, v of the encoder's output in each decoder layer
        "cross_attention": 2 * 2 * B * a * s_d * s_e * d * L_D,
        "cross_output_projection": 2 * t_d * a * d * h * L_D,
        "decoder_mlp": 2 * t_d * m * h * f * L_D,
    }
    if name != "t5model":
        terms["logits"] = 2 * t_d * h * V
    return terms


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matmul_class_flops_equal_the_formula_per_term(name: str) -> None:
    config = t5(name)
    profile = measured(config)
    c = compare(estimate(config, batch_size=B, seq_len=S), profile)
    expected = expected_terms(name, S, S)
    assert {t.term: t.formula for t in c.terms} == expected
    assert {t.term: t.measured for t in c.terms} == expected
    assert 2 * profile.forward.macs == c.full.forward == sum(expected.values())
    assert c.measured_params == c.estimate.total_params
    assert sum(c.elementwise.values()) == profile.forward.flops - 2 * profile.forward.macs


def test_the_rest_named_and_the_causal_mask_inside_the_bias() -> None:
    c = compare(estimate(t5("gated-untied"), batch_size=B, seq_len=S), measured(t5("gated-untied")))
    t = B * S  # encoder and decoder tokens alike here
    # T5LayerNorm: x^2, mean, + eps, rsqrt, x * rsqrt, * weight: 4 T h + 2 T; 2 L_e + 1 and 3 L_d + 1 of them.
    assert c.elementwise[NORMS] == (2 * L_E + 1 + 3 * L_D + 1) * (4 * t * h + 2 * t)
    # Each SDPA call (L_e + 2 L_d of them, all 16 x 16): q and k scaled, the bias added and the softmax's 5 per score.
    assert c.elementwise[ATTENTION_ELEMENTWISE] == (L_E + 2 * L_D) * (2 * B * a * S * d + 6 * B * a * S * S)
    # The causal mask is added to the position bias: the count cannot see a discarded part.
    assert c.masked_flops == 0
    kept = S * (S + 1) // 2
    assert c.masked_matmul == c.full.forward - c.causal.forward == 2 * 2 * B * a * (S * S - kept) * d * L_D
    assert c.to_dict()["causal"]["masked_elementwise"] == 0


def test_kaplan_and_palm_run_each_stack_on_its_own_tokens() -> None:
    s_e, s_d = 16, 8
    e = estimate(t5("gated-untied"), batch_size=B, seq_len=s_e, decoder_seq_len=s_d)
    n_e = L_E * (4 * h * a * d + 3 * h * f) + R * a + (2 * L_E + 1) * h
    n_d = L_D * (2 * 4 * h * a * d + 3 * h * f) + R * a + (3 * L_D + 1) * h  # self- and cross-attention
    assert n_e + n_d == e.non_embedding_params == e.total_params - V * h  # less the shared embedding (head tied)
    kaplan, palm = e.forms["kaplan_6n"], e.forms["palm"]
    assert kaplan.forward == 2 * (n_e * B * s_e + n_d * B * s_d)
    assert kaplan.training == 3 * kaplan.forward and kaplan.tokens == B * (s_e + s_d)
    attention = 4 * a * d * (L_E * s_e * B * s_e + L_D * (s_d + s_e) * B * s_d)  # 4 L H Q T per token, each attention
    assert palm.forward == kaplan.forward + attention
    megatron = e.forms["megatron"]
    assert megatron.terms["cross_attention_scores"] == 2 * B * a * s_d * s_e * d * L_D
    assert megatron.terms["decoder_attention_scores"] == 2 * B * a * (s_d * (s_d + 1) // 2) * d * L_D  # causal


def _tiny_t5_file(tmp_path: Path) -> str:
    path = tmp_path / "tiny-t5.json"
    path.write_text(json.dumps(t5("gated-untied").to_dict()))
    return str(path)


def test_cli_measures_a_decoder_of_its_own_length(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", _tiny_t5_file(tmp_path), "--batch-size", str(B), "--seq-len", "16",
                 "--decoder-seq-len", "8", "--measure", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["seq_len"], data["decoder_seq_len"], data["tokens"]) == (16, 8, B * 24)
    terms = {t["term"]: t for t in data["measured"]["terms"]}
    assert {k: t["measured"] for k, t in terms.items()} == expected_terms("gated-untied", 16, 8)
    assert all(t["difference"] == 0 for t in terms.values())


def test_cli_text_shows_both_lengths_and_the_cross_attention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", _tiny_t5_file(tmp_path), "--seq-len", "16", "--measure"]) == 0
    out = capsys.readouterr().out
    for needle in ("seq 16 (encoder) + 16 (decoder) = 32 tokens", "cross_kv_projections", "cross_attention_scores",
                   "position_bias", "the count scores every pair"):
        assert needle in out, needle


def test_bundled_t5_base_measures_equal_to_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "t5-base", "--measure", "--format", "json"]) == 0
    measured_data = json.loads(capsys.readouterr().out)["measured"]
    assert measured_data["params"] == {"formula": 222_903_552, "measured": 222_903_552}
    assert measured_data["matmul_class"]["formula"] == measured_data["matmul_class"]["measured"]


@pytest.mark.parametrize("call, message", [
    (lambda: estimate(t5("relu-tied"), decoder_seq_len=0), "estimate: decoder_seq_len is positive, got 0"),
    (lambda: estimate(transformers.LlamaConfig(), decoder_seq_len=8), "estimate: llama has one stack"),
    (lambda: estimate(transformers.T5Config(architectures=["T5EncoderModel"])),
     "closed forms for T5EncoderModel are not implemented yet (implemented for t5: T5ForConditionalGeneration, T5Model)"),
])
def test_bad_input_is_refused_in_one_line(call: Any, message: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_profile_with_another_decoder_length_is_refused() -> None:
    config = t5("relu-tied")
    with pytest.raises(InputError, match="16 decoder tokens per sample and the estimate is for 8"):
        compare(estimate(config, batch_size=B, seq_len=S, decoder_seq_len=8), measured(config))
