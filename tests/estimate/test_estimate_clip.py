"""CLIP's text tower (CLIPTextModel) and the dual encoder (CLIPModel): the parameter formula against
transformers' count, Megatron's terms against the matmul-class FLOPs measured on meta, by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.cli import main  # noqa: E402
from flopsight.errors import InputError  # noqa: E402
from flopsight.estimates import compare, estimate  # noqa: E402
from flopsight.hf import InputSpec, build_model, bundled_model, profile_forward, synthesize_inputs  # noqa: E402

# Text: hidden 64, 4 heads (d 16), MLP 128, 2 layers, vocab 256, 20 positions.
# Vision: hidden 48 (d 12), 32 x 32 images in 8 x 8 patches (16 patches + the class token), same MLP and depth.
SMALL = {"intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2}
TEXT = {**SMALL, "hidden_size": 64, "vocab_size": 256, "max_position_embeddings": 20}
VISION = {**SMALL, "hidden_size": 48, "image_size": 32, "patch_size": 8}
h_t, h_v, f, a, L, V, P, p = 64, 48, 128, 4, 2, 256, 20, 24
B, S, S_V = 2, 16, 17


def layer_params(h: int) -> int:
    return 4 * (h * h + h) + (h * f + f + f * h + h) + 2 * 2 * h  # q, k, v, o; the MLP; two LayerNorms, all with biases


def text_params() -> int:
    return V * h_t + P * h_t + L * layer_params(h_t) + 2 * h_t  # token and position embeddings, the final LayerNorm


def vision_params() -> int:
    # class token, positions, the patch conv (no bias); pre- and post-LayerNorm
    return h_v + S_V * h_v + 3 * 8 * 8 * h_v + L * layer_params(h_v) + 2 * 2 * h_v


def clip() -> Any:
    return transformers.CLIPConfig(text_config=TEXT, vision_config=VISION, projection_dim=p)


def measured(config: Any) -> Any:
    model = build_model(config, device="meta", dtype="float32")
    return profile_forward(model, synthesize_inputs(model, InputSpec(B, S), device="meta"), device="meta")


def tower_terms(h: int, s: int, d: int) -> dict[str, int]:
    t = B * s
    return {"qkv_projections": 2 * t * h * 3 * h * L, "attention": 2 * 2 * B * a * s * s * d * L,
            "output_projection": 2 * t * h * h * L, "mlp": 2 * t * 2 * h * f * L}


def test_text_tower_parameters_and_terms() -> None:
    config = transformers.CLIPTextConfig(**TEXT)
    model = build_model(config, device="meta", dtype="float32")
    e = estimate(config, batch_size=B, seq_len=S)
    assert e.total_params == sum(q.numel() for q in model.parameters()) == text_params()
    profile = measured(config)
    c = compare(e, profile)
    expected = tower_terms(h_t, S, 16)  # no head: the EOS token's final LayerNorm is the output
    assert {t.term: t.formula for t in c.terms} == {t.term: t.measured for t in c.terms} == expected
    # Causal-masked: the scores above the diagonal are discarded, QK^T and PV (4 d) plus mask and softmax (6) each.
    discarded = B * a * L * S * (S - 1) // 2
    assert c.masked_flops == discarded * (4 * 16 + 6) and c.masked_matmul == discarded * 4 * 16
    assert e.causal and e.forms["megatron"].terms["attention_scores"] == 2 * B * a * (S * (S + 1) // 2) * 16 * L


def test_text_tower_defaults_to_its_positions() -> None:
    assert estimate(transformers.CLIPTextConfig(**TEXT)).seq_len == P  # min(128, 20), as synthesize_inputs feeds it
    assert estimate(clip(), task="CLIPTextModel").seq_len == P


def test_dual_encoder_parameters_equal_transformers_count() -> None:
    config = clip()
    model = build_model(config, device="meta", dtype="float32")
    hand = vision_params() + text_params() + p * h_v + p * h_t + 1  # the two projections (no bias), logit_scale
    e = estimate(config, batch_size=B, seq_len=S)
    assert e.total_params == sum(q.numel() for q in model.parameters()) == hand
    assert e.params["projections"] == p * (h_v + h_t) and e.params["logit_scale"] == 1


def test_dual_encoder_matmul_flops_equal_the_formula_per_term() -> None:
    config = clip()
    profile = measured(config)
    c = compare(estimate(config, batch_size=B, seq_len=S), profile)
    expected = {f"vision_{k}": v for k, v in tower_terms(h_v, S_V, 12).items()}
    expected["vision_patch_embedding"] = 2 * B * 16 * (3 * 8 * 8) * h_v
    expected |= {f"text_{k}": v for k, v in tower_terms(h_t, S, 16).items()}
    expected["projections"] = 2 * B * h_v * p + 2 * B * h_t * p  # the pooled class and EOS tokens
    expected["contrastive_logits"] = 2 * B * B * p  # [B, p] x [p, B] = 192
    assert {t.term: t.formula for t in c.terms} == expected
    assert {t.term: t.measured for t in c.terms} == expected
    assert 2 * profile.forward.macs == c.full.forward == sum(expected.values())
    assert c.masked_flops == B * a * L * S * (S - 1) // 2 * (4 * 16 + 6)  # the text tower's causal mask only
    assert sum(c.elementwise.values()) == profile.forward.flops - 2 * profile.forward.macs


def test_dual_encoder_kaplan_runs_each_tower_on_its_tokens() -> None:
    e = estimate(clip(), batch_size=B, seq_len=S)
    n_v = L * layer_params(h_v) + 2 * 2 * h_v  # all but the embeddings (the patch conv among them)
    n_t = L * layer_params(h_t) + 2 * h_t
    assert e.non_embedding_params == n_v + n_t
    assert e.forms["kaplan_6n"].forward == 2 * (n_v * B * S_V + n_t * B * S)
    assert e.tokens == B * (S_V + S)
    attention = 4 * L * h_v * S_V * B * S_V + 4 * L * h_t * S * B * S  # 4 L H Q T per token, a d = h
    assert e.forms["palm"].forward == e.forms["kaplan_6n"].forward + attention


def test_bundled_clip_is_the_dual_encoder_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    e = estimate("clip-vit-large-patch14-336")
    assert e.total_params == bundled_model("clip-vit-large-patch14-336").params == 427_944_193  # KerasHub's count
    assert (e.seq_len, e.tokens) == (77, 577 + 77)
    assert main(["estimate", "clip-vit-large-patch14-336", "--measure", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["measured"]
    assert data["params"] == {"formula": 427_944_193, "measured": 427_944_193}
    assert data["matmul_class"]["formula"] == data["matmul_class"]["measured"]


def test_an_unknown_clip_task_is_refused_in_one_line() -> None:
    with pytest.raises(InputError) as info:
        estimate(clip(), task="CLIPForImageClassification")
    assert str(info.value) == ("closed forms for CLIPForImageClassification are not implemented yet "
                               "(implemented for clip: CLIPModel, CLIPVisionModel, CLIPTextModel)")


def test_measure_with_a_task_the_config_does_not_build_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "bert-base-uncased", "--task", "BertForSequenceClassification", "--measure"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["flopsight: InputError: --measure builds BertForMaskedLM from this config, not "
                   "BertForSequenceClassification: leave --task out to measure"]
