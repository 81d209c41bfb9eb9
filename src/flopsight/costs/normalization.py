"""Normalizations (layer, group, batch, RMS) and softmax, forward and backward.

Per element of the input:
    normalize with computed statistics: 4 (mean, subtract, variance, scale by 1/std)
    normalize with stored statistics (batch norm in eval): 2 (subtract, scale)
    RMS normalize: 3 (square, mean, scale by 1/rms)
    affine weight: +1, bias: +1
    backward: input gradient 8 (RMS: 6), weight gradient 2, bias gradient 1
    softmax, log_softmax: 5 (max, subtract, exp, sum, divide or log); backward: 3
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .base import OpCost, io_bytes
from .registry import register_cost

aten = torch.ops.aten

NORMALIZE = 4
NORMALIZE_WITH_STORED_STATS = 2
RMS_NORMALIZE = 3
AFFINE_TERM = 1
INPUT_GRAD = 8
RMS_INPUT_GRAD = 6
WEIGHT_GRAD = 2
BIAS_GRAD = 1
SOFTMAX = 5
SOFTMAX_BACKWARD = 3


def norm_forward_flops(numel: int, per_element: int, weight: Any, bias: Any) -> int:
    affine = (AFFINE_TERM if weight is not None else 0) + (AFFINE_TERM if bias is not None else 0)
    return numel * (per_element + affine)


def norm_backward_flops(numel: int, input_grad: int, mask: Sequence[bool], has_weight: bool) -> int:
    per_element = input_grad if mask[0] else 0
    if len(mask) > 1 and mask[1] and has_weight:
        per_element += WEIGHT_GRAD
    if len(mask) > 2 and mask[2]:
        per_element += BIAS_GRAD
    return numel * per_element


def _cost(flops: int, inputs: tuple[Any, ...], out: Any) -> OpCost:
    read, written = io_bytes(inputs, out)
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)


@register_cost(aten.native_layer_norm)
def layer_norm_cost(x: torch.Tensor, normalized_shape: Any, weight: Any, bias: Any, eps: float, *, out: Any) -> OpCost:
    return _cost(norm_forward_flops(x.numel(), NORMALIZE, weight, bias), (x, weight, bias), out)


@register_cost(aten.native_group_norm)
def group_norm_cost(x: torch.Tensor, weight: Any, bias: Any, *args: Any, out: Any) -> OpCost:
    return _cost(norm_forward_flops(x.numel(), NORMALIZE, weight, bias), (x, weight, bias), out)


@register_cost(aten.native_batch_norm, aten._native_batch_norm_legit, aten.cudnn_batch_norm, aten.miopen_batch_norm)
def batch_norm_cost(
    x: torch.Tensor, weight: Any, bias: Any, running_mean: Any, running_var: Any = None,
    training: bool = True, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    # _native_batch_norm_legit.no_stats has no running buffers: its 4th argument is `training`.
    if isinstance(running_mean, bool):
        training = running_mean
    per_element = NORMALIZE if training else NORMALIZE_WITH_STORED_STATS
    return _cost(norm_forward_flops(x.numel(), per_element, weight, bias), (x, weight, bias), out)


@register_cost(aten._native_batch_norm_legit_no_training)
def batch_norm_eval_cost(x: torch.Tensor, weight: Any, bias: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(norm_forward_flops(x.numel(), NORMALIZE_WITH_STORED_STATS, weight, bias), (x, weight, bias), out)


@register_cost(aten._fused_rms_norm)
def rms_norm_cost(x: torch.Tensor, normalized_shape: Any, weight: Any = None, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(norm_forward_flops(x.numel(), RMS_NORMALIZE, weight, None), (x, weight), out)


@register_cost(aten.native_layer_norm_backward)
def layer_norm_backward_cost(
    grad_out: torch.Tensor, x: torch.Tensor, normalized_shape: Any, mean: Any, rstd: Any,
    weight: Any, bias: Any, output_mask: Sequence[bool], *, out: Any,
) -> OpCost:
    flops = norm_backward_flops(x.numel(), INPUT_GRAD, output_mask, weight is not None)
    return _cost(flops, (grad_out, x, weight), out)


@register_cost(aten.native_group_norm_backward)
def group_norm_backward_cost(
    grad_out: torch.Tensor, x: torch.Tensor, mean: Any, rstd: Any, weight: Any,
    n: int, c: int, hxw: int, group: int, output_mask: Sequence[bool], *, out: Any,
) -> OpCost:
    flops = norm_backward_flops(x.numel(), INPUT_GRAD, output_mask, weight is not None)
    return _cost(flops, (grad_out, x, weight), out)


@register_cost(aten.native_batch_norm_backward)
def batch_norm_backward_cost(
    grad_out: torch.Tensor, x: torch.Tensor, weight: Any, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    mask = args[-1] if args and isinstance(args[-1], (list, tuple)) else (True, True, True)
    flops = norm_backward_flops(x.numel(), INPUT_GRAD, mask, weight is not None)
    return _cost(flops, (grad_out, x, weight), out)


@register_cost(aten.cudnn_batch_norm_backward, aten.miopen_batch_norm_backward)
def backend_batch_norm_backward_cost(
    x: torch.Tensor, grad_out: torch.Tensor, weight: Any, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    flops = norm_backward_flops(x.numel(), INPUT_GRAD, (True, True, True), weight is not None)
    return _cost(flops, (grad_out, x, weight), out)


@register_cost(aten._fused_rms_norm_backward)
def rms_norm_backward_cost(
    grad_out: torch.Tensor, x: torch.Tensor, normalized_shape: Any, rstd: Any, weight: Any,
    output_mask: Sequence[bool], *, out: Any,
) -> OpCost:
    flops = norm_backward_flops(x.numel(), RMS_INPUT_GRAD, output_mask, weight is not None)
    return _cost(flops, (grad_out, x, weight), out)


@register_cost(aten._softmax, aten._log_softmax, aten._safe_softmax)
def softmax_cost(x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(SOFTMAX * x.numel(), (x,), out)


@register_cost(aten._softmax_backward_data, aten._log_softmax_backward_data)
def softmax_backward_cost(grad_out: torch.Tensor, output: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(SOFTMAX_BACKWARD * grad_out.numel(), (grad_out, output), out)
