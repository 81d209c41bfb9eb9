"""Fused attention fast paths that do a whole layer in one op: they must cost what the unfused
layer costs.

Each formula is the sum of the ops the slow path runs, built from the same family constants,
so that ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` cost the same in eval +
no_grad (one fused op) as in training.
"""

from __future__ import annotations

from typing import Any

import torch

from .attention import AttentionShape, attention_forward_cost, kept_by_mask
from .base import OpCost, io_bytes
from .normalization import NORMALIZE, norm_forward_flops
from .registry import aten, register_cost


def linear_flops(tokens: int, in_features: int, out_features: int, has_bias: bool) -> tuple[int, int]:
    """(MACs, FLOPs) of a linear layer over ``tokens`` rows."""
    macs = tokens * in_features * out_features
    return macs, 2 * macs + (tokens * out_features if has_bias else 0)


def _attention_block(
    batch: int, seq_q: int, seq_k: int, embed_dim: int, heads: int, tokens_q: int, tokens_k: int,
    self_attention: bool, mask: Any,
) -> tuple[int, int, int]:
    """(MACs, FLOPs, masked FLOPs) of multi-head attention with packed in/out projections."""
    head_dim = embed_dim // heads
    if self_attention:
        in_proj = linear_flops(tokens_q, embed_dim, 3 * embed_dim, True)
    else:
        q = linear_flops(tokens_q, embed_dim, embed_dim, True)
        kv = linear_flops(tokens_k, embed_dim, 2 * embed_dim, True)
        in_proj = (q[0] + kv[0], q[1] + kv[1])
    shape = AttentionShape(batch * heads, seq_q, seq_k, head_dim, head_dim)
    attention = attention_forward_cost(
        shape, has_mask=mask is not None, kept_scores=kept_by_mask(mask, shape), inputs=(), out=None
    )
    out_proj = linear_flops(tokens_q, embed_dim, embed_dim, True)
    macs = in_proj[0] + attention.macs + out_proj[0]
    flops = in_proj[1] + attention.flops + out_proj[1]
    return macs, flops, attention.masked_flops


def _batch_and_seq(x: torch.Tensor) -> tuple[int, int]:
    # Fast paths take [B, S, E] (batch_first); a nested tensor falls back to its padded size.
    if x.dim() == 3:
        return x.shape[0], x.shape[1]
    return 1, x.shape[0]


@register_cost(aten._native_multi_head_attention)
def native_mha_cost(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, embed_dim: int, num_heads: int,
    qkv_weight: torch.Tensor, qkv_bias: Any, proj_weight: torch.Tensor, proj_bias: Any,
    mask: Any = None, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    batch, seq_q = _batch_and_seq(query)
    seq_k = _batch_and_seq(key)[1]
    macs, flops, masked = _attention_block(
        batch, seq_q, seq_k, embed_dim, num_heads, batch * seq_q, batch * seq_k,
        query is key and key is value, mask,
    )
    read, written = io_bytes((query, key, value, qkv_weight, qkv_bias, proj_weight, proj_bias), out)
    return OpCost(macs=macs, flops=flops, bytes_read=read, bytes_written=written, masked_flops=masked)


@register_cost(aten._transformer_encoder_layer_fwd)
def transformer_encoder_layer_cost(
    src: torch.Tensor, embed_dim: int, num_heads: int, qkv_weight: torch.Tensor, qkv_bias: Any,
    proj_weight: torch.Tensor, proj_bias: Any, use_gelu: bool, norm_first: bool, eps: float,
    norm_weight_1: Any, norm_bias_1: Any, norm_weight_2: Any, norm_bias_2: Any,
    ffn_weight_1: torch.Tensor, ffn_bias_1: Any, ffn_weight_2: torch.Tensor, ffn_bias_2: Any,
    mask: Any = None, mask_type: Any = None, *, out: Any,
) -> OpCost:
    """Self-attention block, two residual adds, two layer norms and the feed-forward block."""
    batch, seq = _batch_and_seq(src)
    tokens = batch * seq
    ffn_dim = ffn_weight_1.shape[0]
    attn_macs, attn_flops, masked = _attention_block(
        batch, seq, seq, embed_dim, num_heads, tokens, tokens, True, mask
    )
    ffn_1 = linear_flops(tokens, embed_dim, ffn_dim, ffn_bias_1 is not None)
    ffn_2 = linear_flops(tokens, ffn_dim, embed_dim, ffn_bias_2 is not None)
    activation = tokens * ffn_dim
    residual_adds = 2 * tokens * embed_dim
    norms = norm_forward_flops(tokens * embed_dim, NORMALIZE, norm_weight_1, norm_bias_1) + norm_forward_flops(
        tokens * embed_dim, NORMALIZE, norm_weight_2, norm_bias_2
    )
    weights = (qkv_weight, qkv_bias, proj_weight, proj_bias, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2)
    read, written = io_bytes((src, *weights), out)
    return OpCost(
        macs=attn_macs + ffn_1[0] + ffn_2[0],
        flops=attn_flops + ffn_1[1] + ffn_2[1] + activation + residual_adds + norms,
        bytes_read=read,
        bytes_written=written,
        masked_flops=masked,
    )
