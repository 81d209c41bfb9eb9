"""Scaled dot-product attention, every backend, forward and backward.

All backends are priced by one formula so that a model costs the same whichever kernel runs,
PyTorch's reference (math) implementation included, which runs as separate ops:
    forward  MACs = B*H*Sq*Sk*D  (Q @ K^T)  +  B*H*Sq*Sk*Dv  (P @ V)
    backward MACs = 2 x forward MACs        (dQ, dK from dS; dV, dP from dO)
plus the scale, counted as the reference applies it, on Q and K (sqrt(scale) each: B*H*(Sq+Sk)*D
FLOPs, K after any GQA expansion), and per attention score: 1 FLOP for a mask (an additive one,
or the causal mask the reference adds), 5 for the softmax (max, subtract, exp, sum, divide)
forward, 3 for its backward (P * (dP - rowsum(dP * P))).
Scores are counted in full (FlopCounterMode's and Megatron's convention); the part a causal
mask discards is reported apart as ``masked_flops``. Flash backward's recomputation of
Q @ K^T is not counted: these are model FLOPs, not hardware FLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .base import OpCost, io_bytes
from .registry import aten, register_cost


SCALE_FLOPS_PER_ELEMENT = 1  # per element of Q and of K
MASK_FLOPS_PER_SCORE = 1
SOFTMAX_FLOPS_PER_SCORE = 5
SOFTMAX_BACKWARD_FLOPS_PER_SCORE = 3


@dataclass(frozen=True, slots=True)
class AttentionShape:
    """One attention problem: batch x query heads, Sq queries, Sk keys, head dims D and Dv."""

    batch_heads: int
    seq_q: int
    seq_k: int
    head_dim: int
    value_dim: int

    @property
    def scores(self) -> int:
        return self.batch_heads * self.seq_q * self.seq_k


def causal_kept_scores(seq_q: int, seq_k: int, *, bottom_right: bool = False) -> int:
    """Scores a causal mask keeps in one (batch, head) slice.

    Top-left alignment (``is_causal=True`` in PyTorch): query i sees keys 0..i.
    Bottom-right alignment (flash-attn, KV caches): query i sees keys 0..i + Sk - Sq.
    """
    offset = seq_k - seq_q if bottom_right else 0
    # Sum over rows i of clamp(i + offset + 1, 0, Sk), split into the zero, rising and full ranges.
    total = 0
    first_visible = max(0, -offset)  # first row that sees at least one key
    first_full = max(0, seq_k - offset - 1)  # first row that sees every key
    rising_end = min(seq_q, first_full)
    if rising_end > first_visible:
        lo, hi = first_visible + offset + 1, rising_end - 1 + offset + 1
        total += (lo + hi) * (rising_end - first_visible) // 2
    if seq_q > first_full:
        total += (seq_q - max(first_full, first_visible)) * seq_k
    return total


def attention_forward_cost(
    shape: AttentionShape, *, has_mask: bool, kept_scores: int | None, inputs: tuple[Any, ...], out: Any
) -> OpCost:
    """Forward cost of one attention problem. ``kept_scores`` (over all slices) is given when a
    mask is known to discard scores; None means every score is used."""
    per_score_macs = shape.head_dim + shape.value_dim
    per_score_flops = 2 * per_score_macs + SOFTMAX_FLOPS_PER_SCORE + (MASK_FLOPS_PER_SCORE if has_mask else 0)
    return _attention_cost(shape, per_score_macs, per_score_flops, kept_scores, inputs, out,
                           unmasked_flops=scale_flops(shape))


def scale_flops(shape: AttentionShape) -> int:
    """Q and K multiplied by sqrt(scale), element by element (a mask discards none of it)."""
    return SCALE_FLOPS_PER_ELEMENT * shape.batch_heads * (shape.seq_q + shape.seq_k) * shape.head_dim


def attention_backward_cost(
    shape: AttentionShape, *, kept_scores: int | None, inputs: tuple[Any, ...], out: Any
) -> OpCost:
    """Backward cost: dQ = dS K, dK = dS^T Q, dV = P^T dO, dP = dO V^T, plus softmax backward."""
    per_score_macs = 2 * (shape.head_dim + shape.value_dim)
    per_score_flops = 2 * per_score_macs + SOFTMAX_BACKWARD_FLOPS_PER_SCORE
    return _attention_cost(shape, per_score_macs, per_score_flops, kept_scores, inputs, out,
                           unmasked_flops=scale_flops(shape))


def _attention_cost(
    shape: AttentionShape,
    per_score_macs: int,
    per_score_flops: int,
    kept_scores: int | None,
    inputs: tuple[Any, ...],
    out: Any,
    *,
    unmasked_flops: int = 0,
) -> OpCost:
    scores = shape.scores
    kept = scores if kept_scores is None else kept_scores
    read, written = io_bytes(inputs, out)
    return OpCost(
        macs=scores * per_score_macs,
        flops=scores * per_score_flops + unmasked_flops,
        bytes_read=read,
        bytes_written=written,
        masked_flops=(scores - kept) * per_score_flops,
    )


def bhsd_shape(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> AttentionShape:
    """Shape of q: [..., Hq, Sq, D], k: [..., Hk, Sk, D], v: [..., Hk, Sk, Dv] (SDPA layout)."""
    batch_heads = q.numel() // (q.shape[-2] * q.shape[-1]) if q.numel() else 0
    return AttentionShape(batch_heads, q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1])


def bshd_shape(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> AttentionShape:
    """Shape of q: [B, Sq, Hq, D], k: [B, Sk, Hk, D], v: [B, Sk, Hk, Dv] (flash/efficient layout)."""
    b, seq_q, heads, dim = q.shape
    return AttentionShape(b * heads, seq_q, k.shape[1], dim, v.shape[-1])


def kept_by_mask(mask: Any, shape: AttentionShape) -> int | None:
    """Scores a real boolean or additive mask keeps, over all slices; None on meta or no mask."""
    if not isinstance(mask, torch.Tensor) or mask.device.type == "meta" or mask.numel() == 0:
        return None
    # Additive masks mark discarded scores with -inf or, as Hugging Face does, the dtype's minimum.
    allowed = mask if mask.dtype == torch.bool else mask > torch.finfo(mask.dtype).min / 2
    kept_in_mask = int(allowed.sum().item())
    # A broadcast mask repeats each of its entries equally often over the scores.
    return kept_in_mask * shape.scores // mask.numel()


def kept_causal(shape: AttentionShape, *, bottom_right: bool = False) -> int:
    per_slice = causal_kept_scores(shape.seq_q, shape.seq_k, bottom_right=bottom_right)
    return shape.batch_heads * per_slice


def _kept(shape: AttentionShape, is_causal: bool, mask: Any) -> int | None:
    if is_causal:
        return kept_causal(shape)
    return kept_by_mask(mask, shape)


@register_cost(aten._scaled_dot_product_flash_attention_for_cpu)
def sdpa_cpu_flash_cost(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float = 0.0, is_causal: bool = False,
    *, attn_mask: Any = None, scale: Any = None, out: Any,
) -> OpCost:
    shape = bhsd_shape(q, k, v)
    return attention_forward_cost(
        shape, has_mask=attn_mask is not None or is_causal, kept_scores=_kept(shape, is_causal, attn_mask),
        inputs=(q, k, v, attn_mask), out=out,
    )


@register_cost(aten._scaled_dot_product_flash_attention_for_cpu_backward)
def sdpa_cpu_flash_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
    logsumexp: torch.Tensor, dropout_p: float, is_causal: bool,
    *, attn_mask: Any = None, scale: Any = None, out: Any,
) -> OpCost:
    shape = bhsd_shape(q, k, v)
    return attention_backward_cost(
        shape, kept_scores=_kept(shape, is_causal, attn_mask), inputs=(grad_out, q, k, v, o), out=out
    )


@register_cost(aten._scaled_dot_product_flash_attention, aten._scaled_dot_product_cudnn_attention,
               aten._scaled_dot_product_efficient_attention,
               aten._scaled_dot_product_fused_attention_overrideable)
def sdpa_cost(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """CUDA (and out-of-tree) SDPA kernels. The efficient, cudnn and overrideable kernels take an
    attention bias as their fourth argument; is_causal follows the dropout probability."""
    bias = args[0] if args and isinstance(args[0], torch.Tensor) else kwargs.get("attn_bias")
    is_causal = _is_causal_argument(args, kwargs)
    shape = bhsd_shape(q, k, v)
    return attention_forward_cost(
        shape, has_mask=bias is not None or is_causal, kept_scores=_kept(shape, is_causal, bias),
        inputs=(q, k, v, bias), out=out,
    )


def _is_causal_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if "is_causal" in kwargs:
        return bool(kwargs["is_causal"])
    # Positional: the first bool after the dropout float (past any bias / compute_log_sumexp).
    floats_seen = False
    for arg in args:
        if isinstance(arg, float):
            floats_seen = True
        elif floats_seen and isinstance(arg, bool):
            return arg
    return False


@register_cost(aten._scaled_dot_product_flash_attention_backward)
def sdpa_flash_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
    logsumexp: torch.Tensor, cum_seq_q: Any, cum_seq_k: Any, max_q: int, max_k: int,
    dropout_p: float, is_causal: bool, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    shape = bhsd_shape(q, k, v)
    return attention_backward_cost(shape, kept_scores=_kept(shape, is_causal, None),
                                   inputs=(grad_out, q, k, v, o), out=out)


@register_cost(aten._scaled_dot_product_efficient_attention_backward)
def sdpa_efficient_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Any,
    o: torch.Tensor, logsumexp: torch.Tensor, philox_seed: Any, philox_offset: Any,
    dropout_p: float, grad_input_mask: Any, is_causal: bool = False, *, out: Any, **kwargs: Any,
) -> OpCost:
    shape = bhsd_shape(q, k, v)
    return attention_backward_cost(shape, kept_scores=_kept(shape, is_causal, bias),
                                   inputs=(grad_out, q, k, v, o), out=out)


@register_cost(aten._scaled_dot_product_cudnn_attention_backward)
def sdpa_cudnn_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
    logsumexp: Any, philox_seed: Any, philox_offset: Any, bias: Any, cum_seq_q: Any, cum_seq_k: Any,
    max_q: int, max_k: int, dropout_p: float, is_causal: bool, *, out: Any, **kwargs: Any,
) -> OpCost:
    shape = bhsd_shape(q, k, v)
    return attention_backward_cost(shape, kept_scores=_kept(shape, is_causal, bias),
                                   inputs=(grad_out, q, k, v, o), out=out)


@register_cost(aten._scaled_dot_product_fused_attention_overrideable_backward)
def sdpa_overrideable_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Any,
    grad_input_mask: Any, o: torch.Tensor, logsumexp: Any, cum_seq_q: Any, cum_seq_k: Any,
    max_q: int, max_k: int, dropout_p: float, is_causal: bool, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    shape = bhsd_shape(q, k, v)
    return attention_backward_cost(shape, kept_scores=_kept(shape, is_causal, bias),
                                   inputs=(grad_out, q, k, v, o), out=out)


@dataclass(frozen=True, slots=True)
class PackedProblems:
    """The per-sequence attention problems of one call; ``upper_bound`` when the lengths were
    unknown and every sequence was taken at the maximum length."""

    shapes: list[AttentionShape]
    upper_bound: bool = False


def _known(lengths: Any) -> bool:
    return isinstance(lengths, torch.Tensor) and lengths.device.type != "meta"


def varlen_shapes(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_q: Any, cu_k: Any, max_q: Any = None, max_k: Any = None
) -> PackedProblems:
    """Per-sequence problems of a packed (varlen) batch, q: [total_q, H, D] (flash) or
    [1, total_q, H, D] (efficient attention), with cumulative lengths cu_q and cu_k. Without
    lengths, one padded problem [B, S, H, D]. With lengths on meta (unknown), the bound that
    what is known allows, as FlopCounterMode does: len(cu_q) - 1 sequences of max_q queries and
    max_k keys (or, without the maxima, one sequence of all tokens)."""
    if q.dim() != 3 and not isinstance(cu_q, torch.Tensor):
        return PackedProblems([bshd_shape(q, k, v)])
    total_q, heads, dim = q.shape[-3:]
    total_k = k.shape[-3]
    if _known(cu_q):
        starts_q = cu_q.tolist()
        starts_k = cu_k.tolist() if _known(cu_k) else starts_q
        return PackedProblems([
            AttentionShape(heads, sq_end - sq_start, sk_end - sk_start, dim, v.shape[-1])
            for sq_start, sq_end, sk_start, sk_end in zip(
                starts_q[:-1], starts_q[1:], starts_k[:-1], starts_k[1:]
            )
        ])
    if isinstance(cu_q, torch.Tensor) and isinstance(max_q, int) and isinstance(max_k, int):
        sequences = cu_q.shape[0] - 1
        return PackedProblems([AttentionShape(heads, max_q, max_k, dim, v.shape[-1])] * sequences, upper_bound=True)
    return PackedProblems([AttentionShape(heads, total_q, total_k, dim, v.shape[-1])], upper_bound=True)


def _sum_costs(costs: list[OpCost], problems: PackedProblems, inputs: tuple[Any, ...], out: Any) -> OpCost:
    """The per-sequence costs (priced without bytes) plus the op's own bytes."""
    read, written = io_bytes(inputs, out)
    return sum(costs, OpCost(bytes_read=read, bytes_written=written, upper_bound=problems.upper_bound))


@register_cost(aten._flash_attention_forward)
def flash_forward_cost(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_q: Any, cu_k: Any, max_q: int, max_k: int,
    dropout_p: float, is_causal: bool, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    """flash-attn layout [B, S, H, D] or packed [total, H, D]; causal is bottom-right aligned."""
    problems = varlen_shapes(q, k, v, cu_q, cu_k, max_q, max_k)
    costs = [
        attention_forward_cost(
            s, has_mask=is_causal,
            kept_scores=kept_causal(s, bottom_right=True) if is_causal else None, inputs=(), out=None,
        )
        for s in problems.shapes
    ]
    return _sum_costs(costs, problems, (q, k, v), out)


@register_cost(aten._flash_attention_backward)
def flash_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor,
    logsumexp: Any, cu_q: Any, cu_k: Any, max_q: int, max_k: int, dropout_p: float, is_causal: bool,
    *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    problems = varlen_shapes(q, k, v, cu_q, cu_k, max_q, max_k)
    costs = [
        attention_backward_cost(
            s, kept_scores=kept_causal(s, bottom_right=True) if is_causal else None, inputs=(), out=None
        )
        for s in problems.shapes
    ]
    return _sum_costs(costs, problems, (grad_out, q, k, v, o), out)


# custom_mask_type of the efficient-attention kernels: 0 none, 1 causal top-left, 2 bottom-right.
def _efficient_kept(shape: AttentionShape, mask_type: int, bias: Any) -> int | None:
    if mask_type in (1, 2):
        return kept_causal(shape, bottom_right=mask_type == 2)
    return kept_by_mask(bias, shape)


@register_cost(aten._efficient_attention_forward)
def efficient_forward_cost(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Any, cu_q: Any, cu_k: Any,
    max_q: Any, max_k: Any, dropout_p: float, custom_mask_type: int, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    problems = varlen_shapes(q, k, v, cu_q, cu_k, max_q, max_k)
    costs = [
        attention_forward_cost(s, has_mask=bias is not None or custom_mask_type in (1, 2),
                               kept_scores=_efficient_kept(s, custom_mask_type, bias),
                               inputs=(), out=None)
        for s in problems.shapes
    ]
    return _sum_costs(costs, problems, (q, k, v, bias), out)


@register_cost(aten._efficient_attention_backward)
def efficient_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Any, o: torch.Tensor,
    cu_q: Any, cu_k: Any, max_q: Any, max_k: Any, logsumexp: Any, dropout_p: float, philox_seed: Any,
    philox_offset: Any, custom_mask_type: int, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    problems = varlen_shapes(q, k, v, cu_q, cu_k, max_q, max_k)
    costs = [
        attention_backward_cost(s, kept_scores=_efficient_kept(s, custom_mask_type, bias), inputs=(), out=None)
        for s in problems.shapes
    ]
    return _sum_costs(costs, problems, (grad_out, q, k, v, o), out)


# torch.nn.attention.varlen (torch_attn is defined when that module is imported, so its ops are
# named): packed q: [total_q, Hq, D], k, v: [total_k, Hk, D]; is_causal (window_size (-1, 0)) is
# bottom-right aligned, as flash-attn is; any other finite window is priced as full attention,
# an upper bound. CUDA only: on CPU the op has no kernel, on meta it runs its fake.
def _varlen_problems(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_q: Any, cu_k: Any, max_q: Any, max_k: Any, window: Any,
) -> PackedProblems:
    problems = varlen_shapes(q, k, v, cu_q, cu_q if cu_k is None else cu_k, max_q, max_k)
    if window and tuple(window) not in ((-1, -1), (-1, 0)):
        return PackedProblems(problems.shapes, upper_bound=True)
    return problems


def _window(args: tuple[Any, ...], kwargs: dict[str, Any], position: int) -> Any:
    return kwargs.get("window_size", args[position] if len(args) > position else None)


@register_cost("torch_attn._varlen_attn")
def varlen_attn_cost(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_q: Any, cu_k: Any, max_q: int, max_k: int,
    is_causal: bool = False, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    # args: scale, window_size, ...
    problems = _varlen_problems(q, k, v, cu_q, cu_k, max_q, max_k, _window(args, kwargs, 1))
    costs = [
        attention_forward_cost(
            s, has_mask=is_causal, kept_scores=kept_causal(s, bottom_right=True) if is_causal else None, inputs=(), out=None
        )
        for s in problems.shapes
    ]
    return _sum_costs(costs, problems, (q, k, v), out)


@register_cost("torch_attn._varlen_attn_out")
def varlen_attn_out_cost(result: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """varlen_attn_out: varlen_attn writing its output into ``result``."""
    return varlen_attn_cost(*args, out=(result, out), **kwargs)


@register_cost("torch_attn._varlen_attn_backward")
def varlen_attn_backward_cost(
    grad_out: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: Any,
    cu_q: Any, cu_k: Any, max_q: int, max_k: int, is_causal: bool, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    # args: rng_state, scale, window_size
    problems = _varlen_problems(q, k, v, cu_q, cu_k, max_q, max_k, _window(args, kwargs, 2))
    costs = [
        attention_backward_cost(
            s, kept_scores=kept_causal(s, bottom_right=True) if is_causal else None, inputs=(), out=None
        )
        for s in problems.shapes
    ]
    return _sum_costs(costs, problems, (grad_out, q, k, v, o), out)


@register_cost(aten._flash_attention_forward_no_dropout_inplace)
def flash_forward_inplace_cost(result: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """_flash_attention_forward writing its output into ``result`` (varlen_attn_out on CUDA)."""
    return flash_forward_cost(*args, out=(result, out), **kwargs)
