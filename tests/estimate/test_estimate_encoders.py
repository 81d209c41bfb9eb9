"""BERT, ViT and CLIP's vision tower: the parameter formula against the built task model, Megatron's terms against
the matmul-class FLOPs measured on meta (the path ``flopsight estimate --measure`` takes)."""

from __future__ import annotations

from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.errors import InputError  # noqa: E402
from flopsight.estimates import compare, estimate  # noqa: E402
from flopsight.hf import InputSpec, build_model, profile_forward, synthesize_inputs  # noqa: E402

# 2 layers, hidden 64, 4 heads (d = 16), MLP 128.
SMALL = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2}
h, f, a, d, L = 64, 128, 4, 16, 2
B, S = 2, 16


def bert(**extra: Any) -> Any:
    return transformers.BertConfig(**{**SMALL, "vocab_size": 256, "max_position_embeddings": 64,
                                      "architectures": ["BertForMaskedLM"], **extra})


def vit(**extra: Any) -> Any:
    # 32 x 32 images in 8 x 8 patches: 16 patches and the class token, 17 tokens.
    return transformers.ViTConfig(**{**SMALL, "image_size": 32, "patch_size": 8, "num_labels": 10,
                                     "architectures": ["ViTForImageClassification"], **extra})


def clip_vision(**extra: Any) -> Any:
    return transformers.CLIPVisionConfig(**{**SMALL, "image_size": 32, "patch_size": 8, **extra})


CONFIGS = {
    "clip-vision": clip_vision,
    "bert-mlm": bert,
    "bert-classifier": lambda: bert(architectures=["BertForSequenceClassification"], num_labels=3),
    "vit": vit,
    "vit-no-qkv-bias": lambda: vit(qkv_bias=False),
}


def hand_params(name: str) -> int:
    layer_attention = 4 * (h * h + h)  # q, k, v, o with biases
    layer_mlp = h * f + f + f * h + h
    layer = layer_attention + layer_mlp + 2 * 2 * h  # two LayerNorms
    if name.startswith("bert"):
        embedding = (256 + 64 + 2) * h + 2 * h  # word, position, token type; LayerNorm
        head = (h * h + h + 2 * h + 256 if name == "bert-mlm"  # transform, LayerNorm, decoder bias (weight tied)
                else h * h + h + h * 3 + 3)  # pooler, classifier
        return embedding + L * layer + head
    if name == "clip-vision":  # class token, positions, patch conv without bias; pre- and post-LayerNorm
        return h + 17 * h + 3 * 8 * 8 * h + L * layer + 2 * 2 * h
    qkv_bias = 3 * h if name == "vit-no-qkv-bias" else 0
    embedding = h + 17 * h + 3 * 8 * 8 * h + h  # class token, positions, patch conv and its bias
    return embedding + L * (layer - qkv_bias) + 2 * h + h * 10 + 10  # final LayerNorm, classifier


def measured(config: Any, seq: int | None) -> Any:
    model = build_model(config, device="meta", dtype="float32")
    return profile_forward(model, synthesize_inputs(model, InputSpec(B, seq), device="meta"), device="meta")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_formula_equals_the_built_models_count(name: str) -> None:
    config = CONFIGS[name]()
    seq = None if name.startswith(("vit", "clip")) else S
    assert estimate(config, batch_size=B, seq_len=seq).total_params == measured(config, seq).params == hand_params(name)


def test_a_clip_config_with_the_vision_task_is_estimated_by_its_vision_tower() -> None:
    config = transformers.CLIPConfig(vision_config={**SMALL, "image_size": 32, "patch_size": 8})
    e = estimate(config, batch_size=B, task="CLIPVisionModel")
    assert (e.shape.family, e.seq_len) == ("clip_vision_model", 17)
    assert e.to_dict()["forms"] == estimate(clip_vision(), batch_size=B).to_dict()["forms"]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matmul_class_flops_equal_the_formula_per_term(name: str) -> None:
    config = CONFIGS[name]()
    image = name.startswith(("vit", "clip"))
    e = estimate(config, batch_size=B, seq_len=None if image else S)
    s = 17 if image else S
    t = B * s
    assert (e.seq_len, e.causal) == (s, False)
    expected = {"qkv_projections": 2 * t * h * 3 * h * L, "attention": 2 * 2 * B * a * s * s * d * L,
                "output_projection": 2 * t * h * h * L, "mlp": 2 * t * 2 * h * f * L}
    if image:  # CLIPVisionModel has no head: its output is the class token's LayerNorm
        expected["patch_embedding"] = 2 * B * 16 * (3 * 8 * 8) * h
    if name.startswith("vit"):
        expected["logits"] = 2 * B * h * 10  # the class token only
    elif name == "bert-mlm":
        expected |= {"head_transform": 2 * t * h * h, "logits": 2 * t * h * 256}
    elif name == "bert-classifier":
        expected |= {"pooler": 2 * B * h * h, "logits": 2 * B * h * 3}  # the first token only
    profile = measured(config, None if image else S)
    c = compare(e, profile)
    assert {t.term: t.formula for t in c.terms} == expected
    assert {t.term: t.measured for t in c.terms} == expected
    assert 2 * profile.forward.macs == e.forms["megatron"].forward == sum(expected.values())
    assert c.masked_flops == 0
    assert sum(c.elementwise.values()) == profile.forward.flops - 2 * profile.forward.macs


def test_vit_tokens_come_from_the_image() -> None:
    assert estimate(vit(image_size=48)).seq_len == (48 // 8) ** 2 + 1
    with pytest.raises(InputError, match=r"^estimate: vit runs .* = 17 tokens per image, not a seq_len of 16$"):
        estimate(vit(), seq_len=16)


@pytest.mark.parametrize("config, message", [
    (lambda: bert(architectures=["BertForQuestionAnswering"]), "closed forms for BertForQuestionAnswering"),
    (lambda: bert(position_embedding_type="relative_key"), "closed forms for bert with relative_key positions"),
    (lambda: transformers.GPT2Config(), "closed forms for gpt2 are not implemented yet (implemented: bert, clip, "
                                       "clip_text_model, clip_vision_model, llama"),
])
def test_unsupported_heads_and_families_are_refused_in_one_line(config: Any, message: str) -> None:
    with pytest.raises(InputError) as info:
        estimate(config())
    assert message in str(info.value) and "\n" not in str(info.value)
