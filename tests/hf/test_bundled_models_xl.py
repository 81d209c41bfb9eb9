"""Every bundled model profiles offline on meta at its default sizes, forward and generate.

Large models; run with ``pytest -m xl``. The parameter counts are pinned, fast, in
test_bundled_params.py; here the whole path runs: build, synthesize inputs, profile, and the
analytic MAC count of the biggest one.
"""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from flopsight.hf import InputSpec, build_model, bundled_models, make_config, profile_generation  # noqa: E402
from flopsight.hf import profile_model, resolve_source, synthesize_inputs  # noqa: E402

pytestmark = pytest.mark.xl


@pytest.mark.parametrize("name", sorted(bundled_models()))
def test_bundled_model_profiles_on_meta(name: str) -> None:
    profile = profile_model(name)
    assert profile.params == bundled_models()[name].params
    assert profile.forward.flops > profile.params  # every token meets most weights once at least
    assert not set(profile.uncounted_ops) - {"aten._is_all_true.default"}
    assert profile.metadata["device"] == "meta"


def test_llama_405b_forward_at_2048_tokens_matches_analytic_macs() -> None:
    profile = profile_model("llama-3.1-405b", seq_len=2048)
    c = make_config(resolve_source("llama-3.1-405b"))
    d = c.hidden_size // c.num_attention_heads  # 16384 / 128 = 128
    tokens = 2048
    # per token and layer: q, o (hidden x hidden each), k, v (hidden x 8*128 each), MLP 3 x hidden x 53248
    per_token_layer = 2 * c.hidden_size**2 + 2 * c.hidden_size * c.num_key_value_heads * d + 3 * c.hidden_size * c.intermediate_size
    attention_layer = c.num_attention_heads * tokens * tokens * 2 * d
    expected = c.num_hidden_layers * (tokens * per_token_layer + attention_layer) + tokens * c.hidden_size * c.vocab_size
    assert profile.forward.macs == expected


def test_generate_on_a_7b_model() -> None:
    model = build_model(make_config(resolve_source("mistral-7b")), device="meta", dtype="bfloat16")
    inputs = synthesize_inputs(model, InputSpec(seq_len=512), device="meta")
    result = profile_generation(model, inputs, new_tokens=4, device="meta")
    steps = [step.forward.macs for step in result.decode]
    assert steps == sorted(steps) and len(set(steps)) == 4  # each step attends to one more key
    assert result.prefill.forward.macs > 400 * steps[0]
