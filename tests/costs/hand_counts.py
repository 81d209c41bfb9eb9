"""Hand counts shared by the attention tests, written out independently of flopsight's formulas."""

from __future__ import annotations


def hand_forward(b: int, hq: int, sq: int, sk: int, d: int, dv: int, *, mask: bool = False) -> tuple[int, int, int]:
    """(MACs, FLOPs, FLOPs per score) of attention forward, counted by hand as PyTorch's math
    reference runs it: q and k times sqrt(scale), Q K^T, + mask (a causal one too), softmax, P V."""
    scores = b * hq * sq * sk
    per_score = 2 * (d + dv) + 5 + (1 if mask else 0)
    scale = b * hq * (sq + sk) * d
    return scores * (d + dv), scores * per_score + scale, per_score


def hand_backward(b: int, hq: int, sq: int, sk: int, d: int, dv: int) -> tuple[int, int, int]:
    """dQ, dK, dV, dP products, the softmax backward (3 per score) and the scale's (q and k)."""
    scores = b * hq * sq * sk
    per_score = 2 * 2 * (d + dv) + 3
    scale = b * hq * (sq + sk) * d
    return scores * 2 * (d + dv), scores * per_score + scale, per_score


def brute_force_kept(sq: int, sk: int, *, bottom_right: bool) -> int:
    """Count, one by one, the (query i, key j) pairs a causal mask keeps."""
    offset = sk - sq if bottom_right else 0
    return sum(1 for i in range(sq) for j in range(sk) if j <= i + offset)
