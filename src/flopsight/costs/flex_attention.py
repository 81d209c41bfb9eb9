"""flex_attention (``torch.nn.attention.flex_attention``), priced as scaled dot-product attention.

The flex_attention higher-order op computes softmax(score_mod(Q @ K^T * scale), mask_mod) @ V.
It is priced with attention.py's formula, so that flex and SDPA cost the same for the same
problem: scores in full, one mask FLOP per score when a mask_mod other than the no-op one is
given, and the scores the mask_mod discards reported as ``masked_flops``. Those are counted
exactly by evaluating the mask_mod over the (batch, head) slices the block mask was built for,
on the tensors' device; on meta they are unknown and nothing is reported as masked. A
score_mod's own arithmetic is user code and is not counted. Backward: 2 x forward MACs, as for
every attention backend.
"""

from __future__ import annotations

from typing import Any

import torch

from .attention import AttentionShape, attention_backward_cost, attention_forward_cost, bhsd_shape
from .base import OpCost
from .registry import register_cost

_higher_order = torch.ops.higher_order

# Layout of BlockMask.as_tuple(): (q_len, kv_len, kv_num_blocks [B, H, q_blocks], ..., mask_mod).
_KV_NUM_BLOCKS = 2


def _mask_mod(block_mask: Any) -> Any:
    from torch.nn.attention.flex_attention import noop_mask

    mask_mod = block_mask[-1] if isinstance(block_mask, (tuple, list)) and block_mask else None
    return None if mask_mod is None or mask_mod is noop_mask else mask_mod


def flex_kept_scores(shape: AttentionShape, q: torch.Tensor, k: torch.Tensor, block_mask: Any) -> int | None:
    """Scores the mask_mod keeps over all (batch, head) slices; None if every score is kept or
    the tensors are on meta."""
    mask_mod = _mask_mod(block_mask)
    if mask_mod is None or q.device.type == "meta":
        return None
    from torch.nn.attention.flex_attention import create_mask

    mask_batch, mask_heads = (int(n) for n in block_mask[_KV_NUM_BLOCKS].shape[:2])
    allowed = create_mask(mask_mod, mask_batch, mask_heads, q.shape[-2], k.shape[-2], device=q.device)
    # A block mask built for batch or heads of 1 applies the same mask to every slice.
    kept = int(allowed.sum().item())
    return kept * shape.batch_heads // (mask_batch * mask_heads)


if hasattr(_higher_order, "flex_attention"):

    @register_cost(_higher_order.flex_attention)
    def flex_attention_cost(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, score_mod: Any, block_mask: Any,
        *args: Any, out: Any, **kwargs: Any,
    ) -> OpCost:
        """q: [B, Hq, Sq, D], k: [B, Hkv, Sk, D], v: [B, Hkv, Sk, Dv] (Hkv divides Hq)."""
        shape = bhsd_shape(q, k, v)
        return attention_forward_cost(
            shape, has_mask=_mask_mod(block_mask) is not None,
            kept_scores=flex_kept_scores(shape, q, k, block_mask), inputs=(q, k, v), out=out,
        )


if hasattr(_higher_order, "flex_attention_backward"):

    @register_cost(_higher_order.flex_attention_backward)
    def flex_attention_backward_cost(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, logsumexp: Any,
        grad_out: Any, grad_logsumexp: Any, fw_graph: Any, joint_graph: Any, block_mask: Any,
        *args: Any, out: Any, **kwargs: Any,
    ) -> OpCost:
        shape = bhsd_shape(q, k, v)
        return attention_backward_cost(
            shape, kept_scores=flex_kept_scores(shape, q, k, block_mask), inputs=(q, k, v, o, grad_out), out=out,
        )
