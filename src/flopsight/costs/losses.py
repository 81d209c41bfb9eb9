"""Losses: nll_loss 1 per target (the weighted sum), mse / huber / smooth_l1 3 per element
(difference, square or branch, sum), binary cross-entropy 4 per element; the backward of each
costs 2 per element of the input gradient, nll_loss's 1 per target.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost
from .registry import aten, register_cost


@register_cost(aten.nll_loss_forward, aten.nll_loss2d_forward)
def nll_loss_cost(x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=target.numel(), inputs=(x, target), out=out)


@register_cost(aten.nll_loss_backward, aten.nll_loss2d_backward)
def nll_loss_backward_cost(grad_out: torch.Tensor, x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=target.numel(), inputs=(grad_out, x, target), out=out)


@register_cost(aten.mse_loss, aten.huber_loss, aten.smooth_l1_loss, aten.soft_margin_loss)
def regression_loss_cost(x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=3 * x.numel(), inputs=(x, target), out=out)


@register_cost(aten.binary_cross_entropy, aten.binary_cross_entropy_with_logits)
def bce_loss_cost(x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=4 * x.numel(), inputs=(x, target), out=out)


@register_cost(aten.mse_loss_backward, aten.huber_loss_backward, aten.smooth_l1_loss_backward,
               aten.binary_cross_entropy_backward, aten.soft_margin_loss_backward)
def loss_backward_cost(grad_out: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=2 * x.numel(), inputs=(grad_out, x), out=out)
