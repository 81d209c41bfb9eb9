"""Generate mode: prefill plus decode steps with the KV cache, against analytic MAC counts.

MACs are the matmul-class products only, so they can be written down from the shapes of a
Llama-style decoder: per token and layer the q, k, v, o projections and the gated MLP; the LM
head on the last position only (as ``generate`` asks with ``logits_to_keep=1``); attention
heads x Sq x Sk x 2 x head_dim per layer (counted in full). (Rotary frequencies are an outer
product by broadcasting: elementwise FLOPs, no MACs.)
"""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from flopsight.hf import InputSpec, build_model, make_config, profile_generation, synthesize_inputs  # noqa: E402
from flopsight.hf import InputSpecError  # noqa: E402

from hf_tiny import tiny_source  # noqa: E402


def _expected_macs(config, *, batch: int, new: int, kv: int, logits: int) -> int:
    hidden, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = hidden // heads
    # q: hidden -> heads*d; k, v: hidden -> kv_heads*d each; o: heads*d -> hidden; MLP: 3 x hidden x inter
    per_token_layer = hidden * (heads + 2 * kv_heads) * head_dim + heads * head_dim * hidden + 3 * hidden * inter
    attention_layer = heads * new * kv * (head_dim + head_dim)  # Q K^T and P V, all scores
    return batch * (layers * (new * per_token_layer + attention_layer) + logits * hidden * config.vocab_size)


@pytest.mark.parametrize(("name", "batch", "prompt", "new_tokens"), [
    ("llama-3-8b", 1, 16, 4),
    ("qwen2-7b", 2, 8, 3),
])
def test_prefill_and_each_decode_step_match_analytic_macs(name: str, batch: int, prompt: int, new_tokens: int) -> None:
    model = build_model(make_config(tiny_source(name)), device="meta")
    inputs = synthesize_inputs(model, InputSpec(batch_size=batch, seq_len=prompt), device="meta")
    result = profile_generation(model, inputs, new_tokens=new_tokens, device="meta")
    config = model.config

    assert result.prefill.forward.macs == _expected_macs(config, batch=batch, new=prompt, kv=prompt, logits=1)
    assert len(result.decode) == new_tokens
    for step, profile in enumerate(result.decode, start=1):
        # token `step` attends to the prompt and every token generated before it, and itself
        expected = _expected_macs(config, batch=batch, new=1, kv=prompt + step, logits=1)
        assert profile.forward.macs == expected, f"decode step {step}"
        assert profile.metadata["input_description"]["kv_len"] == prompt + step

    summary = result.summary()
    decode_total = sum(p.forward.macs for p in result.decode)
    assert summary["prefill"]["macs"] == result.prefill.forward.macs
    assert summary["decode_total"]["macs"] == decode_total
    assert summary["decode_mean_per_token"]["macs"] == decode_total // new_tokens
    assert summary["total"]["macs"] == result.prefill.forward.macs + decode_total
    assert [s["kv_len"] for s in summary["decode_steps"]] == list(range(prompt + 1, prompt + new_tokens + 1))


def test_decode_step_costs_what_a_forward_of_one_token_over_the_cache_costs() -> None:
    """A decode step's linear layers cost one token's worth: prefill of S tokens minus its
    attention is S times a decode step minus its attention."""
    model = build_model(make_config(tiny_source("llama-3-8b")), device="meta")
    inputs = synthesize_inputs(model, InputSpec(seq_len=8), device="meta")
    result = profile_generation(model, inputs, new_tokens=1, device="meta")
    layer = "model.layers.0.mlp"
    assert result.prefill.module(layer).forward.macs == 8 * result.decode[0].module(layer).forward.macs


def test_generate_on_an_image_text_model_reuses_the_rope_deltas() -> None:
    model = build_model(make_config(tiny_source("qwen2-vl-7b")), device="meta")
    inputs = synthesize_inputs(model, InputSpec(seq_len=4, image_size=(56, 56)), device="meta")
    result = profile_generation(model, inputs, new_tokens=2, device="meta")
    # The vision tower runs in the prefill only.
    assert result.prefill.module("model.visual").forward.macs > 0
    assert all(step.module("model.visual").forward.macs == 0 for step in result.decode)


def test_generate_rejects_encoder_decoder_models_and_zero_tokens() -> None:
    model = build_model(make_config(tiny_source("t5-base")), device="meta")
    inputs = synthesize_inputs(model, InputSpec(seq_len=4), device="meta")
    with pytest.raises(InputSpecError, match="decoder-only"):
        profile_generation(model, inputs, new_tokens=2, device="meta")
    llama = build_model(make_config(tiny_source("llama-3-8b")), device="meta")
    with pytest.raises(InputSpecError, match="at least 1"):
        profile_generation(llama, synthesize_inputs(llama, InputSpec(seq_len=4)), new_tokens=0)
