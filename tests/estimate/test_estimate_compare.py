"""Megatron's formula against the measured forward of HF decoders on meta: the matmul-class
FLOPs are equal, and every other FLOP is named with its exact size, derived here by hand."""

from __future__ import annotations

from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.errors import InputError  # noqa: E402
from flopsight.estimates import compare, estimate  # noqa: E402
from flopsight.estimates.compare import ATTENTION_ELEMENTWISE, NORMS, OTHER_ELEMENTWISE  # noqa: E402
from flopsight.hf import InputSpec, build_model, profile_forward, synthesize_inputs  # noqa: E402

from test_estimate_formulas import CONFIGS, small_config  # noqa: E402

B, S = 2, 16


def measured(config: Any, batch: int = B, seq: int = S) -> Any:
    model = build_model(config, device="meta", dtype="float32")
    return profile_forward(model, synthesize_inputs(model, InputSpec(batch, seq), device="meta"), device="meta")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matmul_class_flops_equal_megatron_with_attention(name: str) -> None:
    config = small_config(name)
    profile = measured(config)
    e = estimate(config, batch_size=B, seq_len=S)
    c = compare(e, profile)
    full = estimate(config, batch_size=B, seq_len=S, causal=False).forms["megatron"]
    assert 2 * profile.forward.macs == full.forward == c.matmul_measured == c.matmul_formula
    assert all(t.difference == 0 for t in c.terms), [t.to_dict() for t in c.terms]
    assert c.measured_params == e.total_params
    # The rest of the count is named, and the names add up to it.
    assert sum(c.elementwise.values()) == profile.forward.flops - 2 * profile.forward.macs
    assert dict((w, f) for w, f, _ in c.differences())["matmul-class: count vs formula"] == 0


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_causal_measured_minus_masked_meets_the_causal_formula(name: str) -> None:
    config = small_config(name)
    profile = measured(config)
    c = compare(estimate(config, batch_size=B, seq_len=S), profile)
    a, d, n_layers = 4, getattr(config, "head_dim", None) or 16, 2
    discarded = B * a * n_layers * S * (S - 1) // 2  # scores above the diagonal
    # Per discarded score: QK^T and PV (2 x 2d FLOPs), the mask's add and the softmax's 5.
    assert profile.forward.masked_flops == c.masked_flops == discarded * (4 * d + 1 + 5)
    assert c.masked_matmul == discarded * 4 * d == c.full.forward - c.causal.forward
    causal_elementwise = sum(c.elementwise.values()) - discarded * 6
    assert profile.forward.flops - profile.forward.masked_flops == c.causal.forward + causal_elementwise


def test_the_elementwise_rest_by_hand_on_llama() -> None:
    """Each non-matmul FLOP of the tiny Llama, from flopsight's conventions and HF's code."""
    t, h, a, g, d, f, n_layers = B * S, 64, 4, 2, 16, 128, 2
    c = compare(estimate(small_config("llama"), batch_size=B, seq_len=S), measured(small_config("llama")))
    # RMSNorm: x^2, mean, + eps, rsqrt, x * rsqrt, * weight: 4 T h + 2 T; two per layer and a final one.
    assert c.elementwise[NORMS] == (2 * n_layers + 1) * (4 * t * h + 2 * t)
    # SDPA: q and k scaled (B a S d each), the causal mask's add and the softmax's 5 per score.
    assert c.elementwise[ATTENTION_ELEMENTWISE] == n_layers * (2 * B * a * S * d + 6 * B * a * S * S)
    rotary_apply = 7 * (B * a * S * d + B * g * S * d) // 2  # q*cos + rotate_half(q)*sin: mul, neg (half), mul, add
    rotary_table = S * d // 2 + 2 * S * d + 2 * S * d  # angles (positions x inv_freq), cos and sin, x attention_scaling
    residual, mlp = 2 * t * h, 2 * t * f  # two residual adds; SiLU(gate) and its product with up
    assert c.elementwise[OTHER_ELEMENTWISE] == n_layers * (rotary_apply + residual + mlp) + rotary_table
    # Qwen2 adds its q, k and v biases: T (a d + 2 g d) per layer.
    qwen = compare(estimate(small_config("qwen2"), batch_size=B, seq_len=S), measured(small_config("qwen2")))
    assert qwen.elementwise[OTHER_ELEMENTWISE] - c.elementwise[OTHER_ELEMENTWISE] == n_layers * t * (a * d + 2 * g * d)


def test_a_profile_of_other_sizes_is_refused() -> None:
    config = small_config("mistral")
    with pytest.raises(InputError, match="batch 2 x seq 16"):
        compare(estimate(config, batch_size=1, seq_len=16), measured(config))


def test_json_of_the_comparison_names_the_differences() -> None:
    config = small_config("llama")
    data = compare(estimate(config, batch_size=B, seq_len=S), measured(config)).to_dict()
    assert data["matmul_class"]["formula"] == data["matmul_class"]["measured"]
    named = data["differences"]
    assert sum(named.values()) == data["measured_flops"] - data["matmul_class"]["formula"]
    assert data["causal"]["masked_flops"] == data["causal"]["masked_matmul"] + data["causal"]["masked_elementwise"]
