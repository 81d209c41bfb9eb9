"""Dropout: 2 FLOPs per element (scaling the mask and the product), as the CPU path
(bernoulli_, div_, mul) runs them, so that the fused CUDA native_dropout costs the same; its
backward is 1 (the product with the scaled mask).
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost
from .registry import aten, register_cost


DROPOUT_FLOPS_PER_ELEMENT = 2


@register_cost(aten.native_dropout)
def dropout_cost(x: torch.Tensor, p: float, train: Any, *, out: Any) -> OpCost:
    return elementwise_cost(flops=(DROPOUT_FLOPS_PER_ELEMENT * x.numel() if train else 0), inputs=(x,), out=out)


@register_cost(aten.native_dropout_backward)
def dropout_backward_cost(grad_out: torch.Tensor, mask: torch.Tensor, scale: float, *, out: Any) -> OpCost:
    return elementwise_cost(flops=grad_out.numel(), inputs=(grad_out, mask), out=out)
