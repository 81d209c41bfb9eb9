"""Pairwise distances (cdist): 3 FLOPs per (output, feature) (difference, power, sum), plus the
root per output unless p is 1; the backward 4 per (output, feature).
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost
from .registry import aten, register_cost


CDIST_PER_FEATURE = 3
CDIST_BACKWARD_PER_FEATURE = 4


@register_cost(aten._cdist_forward)
def cdist_cost(x1: torch.Tensor, x2: torch.Tensor, p: float, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """x1: [..., P, M], x2: [..., R, M] -> [..., P, R]: per output, M differences, powers and adds,
    then the p-th root (none for p = 1)."""
    features = x1.shape[-1]
    root = 0 if p == 1 else out.numel()
    return elementwise_cost(flops=CDIST_PER_FEATURE * out.numel() * features + root, inputs=(x1, x2), out=out)


@register_cost(aten._cdist_backward)
def cdist_backward_cost(
    grad: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    flops = CDIST_BACKWARD_PER_FEATURE * grad.numel() * x1.shape[-1]
    return elementwise_cost(flops=flops, inputs=(grad, x1, x2), out=out)
