"""Mixture-of-experts layers on meta run the experts kernel a GPU runs (grouped_mm): the same
MACs as one product per (token, expert) pair, and each expert's weights read once."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

import flopsight  # noqa: E402
from flopsight.hf import build_model  # noqa: E402

H, F, E, K, LAYERS, TOKENS = 64, 128, 4, 2, 2, 16


def _config() -> object:
    return transformers.MixtralConfig(hidden_size=H, intermediate_size=F, num_attention_heads=4,
                                      num_key_value_heads=2, num_hidden_layers=LAYERS, vocab_size=256,
                                      num_local_experts=E, num_experts_per_tok=K)


def _experts(profile: flopsight.Profile) -> dict[str, flopsight.records.OpTotals]:
    return dict(profile.module("model.layers.0.mlp.experts").own_ops[flopsight.Phase.FORWARD])


@pytest.mark.skipif(not hasattr(torch, "_grouped_mm"), reason="this torch has no grouped_mm")
def test_bf16_experts_read_each_weight_once() -> None:
    model = build_model(_config(), device="meta", dtype="bfloat16")
    profile = flopsight.profile(model, torch.zeros(1, TOKENS, dtype=torch.long, device="meta"))
    grouped = _experts(profile)["aten._grouped_mm.default"]
    pairs = TOKENS * K  # every token runs its top-k experts, whatever the router says
    assert grouped.calls == 2 and grouped.macs == pairs * H * 2 * F + pairs * F * H
    bf16 = 2
    # gate_up: the pairs' hidden states and all E experts' [H, 2F] weights; down: [F] and [F, H]
    assert grouped.bytes_read == bf16 * (pairs * H + E * H * 2 * F + pairs * F + E * F * H)
    assert grouped.bytes_written == bf16 * (pairs * 2 * F + pairs * H)


def test_the_macs_are_those_of_one_product_per_pair() -> None:
    # transformers' batched_mm experts (one bmm per pair, weights gathered) as the reference
    config = _config()
    with torch.device("meta"):
        batched = transformers.MixtralForCausalLM._from_config(config, experts_implementation="batched_mm",
                                                               dtype=torch.bfloat16)
    ids = torch.zeros(1, TOKENS, dtype=torch.long, device="meta")
    ours = flopsight.profile(build_model(config, device="meta", dtype="bfloat16"), ids)
    assert ours.forward.macs == flopsight.profile(batched, ids).forward.macs
