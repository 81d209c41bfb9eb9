"""Linear algebra beyond matrix products.

Triangular solve (``linalg_solve_triangular``, ``A X = B`` or ``X A = B`` with A ``n x n``
triangular): substitution solves each of the right-hand sides' length-n vectors in
n (n - 1) / 2 multiplies, as many subtractions and n divisions, so n^2 FLOPs per vector, or
n (n - 1) when A is unitriangular (no divisions). That is ``out.numel() * n`` in all, the batch
broadcast included. Counted as FLOPs, not MACs: MACs hold matrix products, convolutions and
attention only, as FlopCounterMode's total does (it does not count this op).
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost
from .registry import aten, register_cost


def triangular_solve_flops(*, vectors: int, n: int, unitriangular: bool) -> int:
    """Substitution over ``vectors`` right-hand sides of length n."""
    # per vector: n (n - 1) / 2 multiplies + n (n - 1) / 2 subtractions + n divisions (none if unit)
    return vectors * (n * (n - 1) + (0 if unitriangular else n))


@register_cost(aten.linalg_solve_triangular)
def solve_triangular_cost(
    a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, unitriangular: bool = False, **kwargs: Any
) -> OpCost:
    """a: [..., n, n] triangular, b: [..., n, k] (left) or [..., k, n] -> out: b's broadcast shape."""
    n = a.shape[-1]
    result = out[0] if isinstance(out, (tuple, list)) else out
    flops = triangular_solve_flops(vectors=result.numel() // n if n else 0, n=n, unitriangular=unitriangular)
    return elementwise_cost(flops=flops, inputs=(a, b), out=out)
