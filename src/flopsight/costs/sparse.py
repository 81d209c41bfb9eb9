"""Embeddings, gathers and scatter updates: reads and writes at indexed places.

Gathers (embedding, index_select, gather) move data and cost 0 FLOPs; their backward is a
scatter-add, 1 FLOP per gradient element. An embedding bag adds each gathered row into its bag
(1 FLOP per gathered element, +1 for per-sample weights), and divides per output element in mean
mode. A scatter-add costs 1 FLOP per source element; index_put 0, or 1 per value accumulated.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost, io_bytes
from .registry import aten, register_cost


@register_cost(aten.embedding, aten.index_select, aten.gather, aten.index, aten.take)
def gather_cost(source: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """A gather reads as many source elements as it writes; no arithmetic."""
    indices = [a for a in args if isinstance(a, torch.Tensor)]
    written = io_bytes((), out)[1]
    return OpCost(bytes_read=written + io_bytes(indices, None)[0], bytes_written=written)


@register_cost(aten.embedding_dense_backward, aten.embedding_backward)
def embedding_backward_cost(grad_out: torch.Tensor, indices: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=grad_out.numel(), inputs=(grad_out, indices), out=out)


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
    return elementwise_cost(flops=flops, inputs=(weight, indices, offsets, per_sample_weights), out=out)


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
    flops = embedding_bag_backward_flops(grad, indices, mode, per_sample_weights)
    return elementwise_cost(flops=flops, inputs=(grad, indices), out=out)


@register_cost(aten._embedding_bag_dense_backward)
def embedding_bag_dense_backward_cost(
    grad: torch.Tensor, indices: torch.Tensor, offset2bag: Any, bag_size: Any, maximum_indices: Any,
    num_weights: int, scale_grad_by_freq: bool, mode: int, per_sample_weights: Any,
    *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    flops = embedding_bag_backward_flops(grad, indices, mode, per_sample_weights)
    return elementwise_cost(flops=flops, inputs=(grad, indices), out=out)


@register_cost(aten.scatter_add, aten.scatter_add_, aten.index_add, aten.index_add_, aten.scatter_reduce,
               aten.scatter_reduce_)
def scatter_add_cost(target: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """One add per source element accumulated into the target."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    source = tensors[-1]
    return elementwise_cost(flops=source.numel(), inputs=(target, *tensors), out=out)


@register_cost(aten.index_put, aten.index_put_, aten._index_put_impl_)
def index_put_cost(
    target: Any, indices: Any, values: torch.Tensor, accumulate: bool = False, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """A plain index_put writes (0 FLOPs); with accumulate=True it adds each value (1 FLOP)."""
    flops = values.numel() if kwargs.get("accumulate", accumulate) else 0
    return elementwise_cost(flops=flops, inputs=(target, values), out=out)
