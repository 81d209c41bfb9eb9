"""Fused attention fast paths (native multi-head attention, the transformer encoder layer):
the fused op must cost what the unfused layer costs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight

BT, S, E, HEADS, FFN = 2, 5, 8, 2, 16
TOKENS = BT * S
HEAD_DIM = E // HEADS


class NoGrad(nn.Module):
    def __init__(self, inner: nn.Module, call=None) -> None:
        super().__init__()
        self.inner = inner
        self.call = call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.call(self.inner, x) if self.call else self.inner(x)


def _mha(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return module(x, x, x, need_weights=False)[0]


class MHA(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _mha(self.attn, x)


# MACs: packed in-projection tokens*E*3E, attention B*H*S*S*(d + d), out-projection tokens*E*E
ATTENTION_MACS = TOKENS * E * 3 * E + BT * HEADS * S * S * 2 * HEAD_DIM + TOKENS * E * E
# FLOPs: 2 x MACs, + in/out-projection biases, + 5 per score (softmax), + q and k scaled
ATTENTION_FLOPS = (2 * ATTENTION_MACS + TOKENS * 3 * E + TOKENS * E + BT * HEADS * S * S * 5
                   + BT * HEADS * (S + S) * HEAD_DIM)
ENCODER_MACS = ATTENTION_MACS + TOKENS * E * FFN + TOKENS * FFN * E
ENCODER_FLOPS = (
    ATTENTION_FLOPS
    + 2 * (TOKENS * E * FFN + TOKENS * FFN * E) + TOKENS * FFN + TOKENS * E  # feed-forward and its biases
    + TOKENS * FFN  # activation
    + 2 * TOKENS * E  # two residual adds
    + 2 * TOKENS * E * (4 + 1 + 1)  # two layer norms
)


def test_hand_counts() -> None:
    assert ATTENTION_MACS == 1920 + 800 + 640
    assert ENCODER_MACS == 5920


def test_multihead_attention_fast_path_equals_slow_path(per_op) -> None:
    module = MHA().eval()
    x = torch.randn(BT, S, E)
    fast = flopsight.profile(NoGrad(module), x)
    slow = flopsight.profile(module, x)
    assert list(per_op(fast)) == ["aten._native_multi_head_attention.default"]
    assert "aten._native_multi_head_attention.default" not in per_op(slow)
    assert (fast.forward.macs, fast.forward.flops) == (ATTENTION_MACS, ATTENTION_FLOPS)
    assert (slow.forward.macs, slow.forward.flops) == (ATTENTION_MACS, ATTENTION_FLOPS)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_no_grad_equals_grad(activation) -> None:
    layer = nn.TransformerEncoderLayer(E, HEADS, FFN, dropout=0.0, activation=activation, batch_first=True).eval()
    x = torch.randn(BT, S, E)
    fused = flopsight.profile(NoGrad(layer), x)
    unfused = flopsight.profile(layer, x)
    assert (fused.forward.macs, fused.forward.flops) == (unfused.forward.macs, unfused.forward.flops)
    assert (unfused.forward.macs, unfused.forward.flops) == (ENCODER_MACS, ENCODER_FLOPS)


def test_transformer_encoder_layer_fused_op_called_directly(profile_op, per_op) -> None:
    """flopsight's module hooks keep nn.TransformerEncoderLayer off its whole-layer fast path
    ("forward pre-/hooks are attached"); call the fused op itself to price it."""
    layer = nn.TransformerEncoderLayer(E, HEADS, FFN, dropout=0.0, batch_first=True).eval()
    attn = layer.self_attn

    def fused(x: torch.Tensor) -> torch.Tensor:
        return torch._transformer_encoder_layer_fwd(
            x, E, HEADS, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight, attn.out_proj.bias,
            False, False, layer.norm1.eps, layer.norm1.weight, layer.norm1.bias, layer.norm2.weight,
            layer.norm2.bias, layer.linear1.weight, layer.linear1.bias, layer.linear2.weight, layer.linear2.bias,
            None, None,
        )

    with torch.no_grad():
        p = profile_op(fused, torch.randn(BT, S, E))
    assert per_op(p) == {"aten._transformer_encoder_layer_fwd.default": (1, ENCODER_MACS, ENCODER_FLOPS)}


def test_transformer_encoder_layer_cpu_equals_meta() -> None:
    """On meta, MHA's nested SDPA runs PyTorch's math reference (a function mode cannot see a
    call nested in another overridable function); the formula counts as the reference does."""
    layer = nn.TransformerEncoderLayer(E, HEADS, FFN, dropout=0.0, batch_first=True).eval()
    x = torch.randn(BT, S, E)
    cpu = flopsight.profile(layer, x)
    meta = flopsight.profile(layer.to("meta"), x.to("meta"))
    assert cpu.forward.macs == meta.forward.macs
    assert cpu.forward.flops == meta.forward.flops
