"""Embeddings, scatter/gather updates, dropout and losses.

Gathers (embedding, index_select, gather) move data and cost 0 FLOPs; their backward is a
scatter-add, 1 FLOP per gradient element. An embedding bag adds each gathered row into its bag
(1 FLOP per gathered element, +1 for per-sample weights), and divides per output element in mean
mode. Dropout costs 2 FLOPs per element (scaling the mask and the product), as the CPU path
(bernoulli_, div_, mul) runs them, so that the fused CUDA native_dropout costs the same; its
backward is 1 (the product with the scaled mask). Losses: nll_loss 1 per target (the weighted
sum), mse / huber / smooth_l1 3 per element (difference, square or branch, sum), binary
cross-entropy 4 per element; the backward of each costs 2 per element of the input gradient.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, io_bytes
from .registry import aten, register_cost



def _cost(flops: int, inputs: tuple[Any, ...], out: Any) -> OpCost:
    read, written = io_bytes(inputs, out)
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)


@register_cost(aten.embedding, aten.index_select, aten.gather, aten.index, aten.take)
def gather_cost(source: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """A gather reads as many source elements as it writes; no arithmetic."""
    indices = [a for a in args if isinstance(a, torch.Tensor)]
    written = io_bytes((), out)[1]
    return OpCost(bytes_read=written + io_bytes(indices, None)[0], bytes_written=written)


@register_cost(aten.embedding_dense_backward, aten.embedding_backward)
def embedding_backward_cost(grad_out: torch.Tensor, indices: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(grad_out.numel(), (grad_out, indices), out)


EMBEDDING_BAG_MEAN = 1


@register_cost(aten._embedding_bag, aten._embedding_bag_forward_only)
def embedding_bag_cost(
    weight: torch.Tensor, indices: torch.Tensor, offsets: torch.Tensor, scale_grad_by_freq: bool = False,
    mode: int = 0, sparse: bool = False, per_sample_weights: Any = None, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    """Bags of rows of weight: [num, D]: each gathered row is added (sum, mean) or compared (max)
    into its bag, times its per-sample weight if given; mean divides each output element."""
    dim = weight.shape[-1]
    gathered = indices.numel() * dim
    flops = gathered
    if per_sample_weights is not None:
        flops += gathered
    if mode == EMBEDDING_BAG_MEAN:
        flops += out[0].numel()
    return _cost(flops, (weight, indices, offsets, per_sample_weights), out)


EMBEDDING_BAG_MAX = 2


def embedding_bag_backward_flops(
    grad: torch.Tensor, indices: torch.Tensor, mode: int, per_sample_weights: Any
) -> int:
    """Each bag's gradient goes back into the rows it gathered: 1 add per gathered element (sum,
    mean), + 1 divide per bag element (mean), + 1 multiply per gathered element (per-sample
    weights); max mode sends each element to its one argmax row."""
    if mode == EMBEDDING_BAG_MAX:
        return grad.numel()
    gathered = indices.numel() * grad.shape[-1]
    flops = gathered + (grad.numel() if mode == EMBEDDING_BAG_MEAN else 0)
    return flops + (gathered if per_sample_weights is not None else 0)


@register_cost(aten._embedding_bag_backward)
def embedding_bag_backward_cost(
    grad: torch.Tensor, indices: torch.Tensor, offsets: Any, offset2bag: Any, bag_size: Any,
    maximum_indices: Any, num_weights: int, scale_grad_by_freq: bool, mode: int, sparse: bool,
    per_sample_weights: Any,
    *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    return _cost(embedding_bag_backward_flops(grad, indices, mode, per_sample_weights), (grad, indices), out)


@register_cost(aten._embedding_bag_dense_backward)
def embedding_bag_dense_backward_cost(
    grad: torch.Tensor, indices: torch.Tensor, offset2bag: Any, bag_size: Any, maximum_indices: Any,
    num_weights: int, scale_grad_by_freq: bool, mode: int, per_sample_weights: Any,
    *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    return _cost(embedding_bag_backward_flops(grad, indices, mode, per_sample_weights), (grad, indices), out)


@register_cost(aten.scatter_add, aten.scatter_add_, aten.index_add, aten.index_add_, aten.scatter_reduce,
               aten.scatter_reduce_)
def scatter_add_cost(target: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """One add per source element accumulated into the target."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    source = tensors[-1]
    return _cost(source.numel(), (target, *tensors), out)


@register_cost(aten.index_put, aten.index_put_, aten._index_put_impl_)
def index_put_cost(
    target: Any, indices: Any, values: torch.Tensor, accumulate: bool = False, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """A plain index_put writes (0 FLOPs); with accumulate=True it adds each value (1 FLOP)."""
    flops = values.numel() if kwargs.get("accumulate", accumulate) else 0
    return _cost(flops, (target, values), out)


DROPOUT_FLOPS_PER_ELEMENT = 2


@register_cost(aten.native_dropout)
def dropout_cost(x: torch.Tensor, p: float, train: Any, *, out: Any) -> OpCost:
    return _cost(DROPOUT_FLOPS_PER_ELEMENT * x.numel() if train else 0, (x,), out)


@register_cost(aten.native_dropout_backward)
def dropout_backward_cost(grad_out: torch.Tensor, mask: torch.Tensor, scale: float, *, out: Any) -> OpCost:
    return _cost(grad_out.numel(), (grad_out, mask), out)


@register_cost(aten.nll_loss_forward, aten.nll_loss2d_forward)
def nll_loss_cost(x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(target.numel(), (x, target), out)


@register_cost(aten.nll_loss_backward, aten.nll_loss2d_backward)
def nll_loss_backward_cost(grad_out: torch.Tensor, x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(target.numel(), (grad_out, x, target), out)


@register_cost(aten.mse_loss, aten.huber_loss, aten.smooth_l1_loss, aten.soft_margin_loss)
def regression_loss_cost(x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(3 * x.numel(), (x, target), out)


@register_cost(aten.binary_cross_entropy, aten.binary_cross_entropy_with_logits)
def bce_loss_cost(x: torch.Tensor, target: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(4 * x.numel(), (x, target), out)


@register_cost(aten.mse_loss_backward, aten.huber_loss_backward, aten.smooth_l1_loss_backward,
               aten.binary_cross_entropy_backward, aten.soft_margin_loss_backward)
def loss_backward_cost(grad_out: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(2 * x.numel(), (grad_out, x), out)
