"""Normalizations (layer, group, batch, RMS) and softmax, forward and backward.

Per element of the input:
    normalize with computed statistics: 4 (mean, subtract, variance, scale by 1/std)
    normalize with stored statistics (batch norm in eval): 2 (subtract, scale)
    RMS normalize: 3 (square, mean, scale by 1/rms), plus 2 per normalized row (add eps, rsqrt)
    affine weight: +1, bias: +1
    backward: input gradient 8, weight gradient 2, bias gradient 1
    RMS backward: input gradient 8 (+1 with a weight) plus 3 per row, weight gradient 2
    softmax, log_softmax: 5 (max, subtract, exp, sum, divide or log); backward: 3
    weight norm (g * v / ||v||): 3 per element of v plus 2 per norm; backward: 5 and 5
The fused RMS norm ops (CUDA) are priced as the ops the composite ``rms_norm`` runs on CPU and
meta (pow, mean, add, rsqrt, mul [, mul]) and their autograd, so every device agrees.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .base import OpCost, io_bytes, tensor_bytes
from .registry import aten, register_cost


NORMALIZE = 4
NORMALIZE_WITH_STORED_STATS = 2
RMS_NORMALIZE = 3
RMS_PER_ROW = 2
AFFINE_TERM = 1
INPUT_GRAD = 8
RMS_INPUT_GRAD = 8
RMS_INPUT_GRAD_PER_ROW = 3
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


def _norm_cost(flops: int, inputs: tuple[Any, ...], out: Any, *, saved_stats: int) -> OpCost:
    """A norm writes its output and, when it computes them, two statistics (mean and inverse std)
    per normalized group, in the accumulation dtype (float32 for half inputs, as CUDA keeps them).

    The statistics tensors the kernel returns are not read: CPU kernels return empty ones in
    eval and bf16 ones for a bf16 layer norm where meta returns float32, so the bytes would
    depend on the device that ran.
    """
    x = inputs[0]
    output = out[0] if isinstance(out, (list, tuple)) else out
    stats_dtype_size = 4 if x.element_size() < 4 else x.element_size()
    read, _ = io_bytes(inputs, ())
    written = tensor_bytes(output) + 2 * saved_stats * stats_dtype_size
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)


@register_cost(aten.native_layer_norm)
def layer_norm_cost(x: torch.Tensor, normalized_shape: Any, weight: Any, bias: Any, eps: float, *, out: Any) -> OpCost:
    return _norm_cost(norm_forward_flops(x.numel(), NORMALIZE, weight, bias), (x, weight, bias), out,
                      saved_stats=_rows(x, normalized_shape))


@register_cost(aten.native_group_norm)
def group_norm_cost(x: torch.Tensor, weight: Any, bias: Any, *args: Any, out: Any) -> OpCost:
    # native_group_norm(input, weight, bias, N, C, HxW, group, eps): statistics per (N, group).
    batch, groups = int(args[0]), int(args[3])
    return _norm_cost(norm_forward_flops(x.numel(), NORMALIZE, weight, bias), (x, weight, bias), out,
                      saved_stats=batch * groups)


@register_cost(aten.native_batch_norm, aten._native_batch_norm_legit, aten._native_batch_norm_legit_functional,
               aten.cudnn_batch_norm, aten.miopen_batch_norm)
def batch_norm_cost(
    x: torch.Tensor, weight: Any, bias: Any, running_mean: Any, running_var: Any = None,
    training: bool = True, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    # _native_batch_norm_legit.no_stats has no running buffers: its 4th argument is `training`.
    if isinstance(running_mean, bool):
        training = running_mean
    per_element = NORMALIZE if training else NORMALIZE_WITH_STORED_STATS
    return _norm_cost(norm_forward_flops(x.numel(), per_element, weight, bias), (x, weight, bias), out,
                      saved_stats=_channels(x) if training else 0)


@register_cost(aten._native_batch_norm_legit_no_training)
def batch_norm_eval_cost(x: torch.Tensor, weight: Any, bias: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _norm_cost(norm_forward_flops(x.numel(), NORMALIZE_WITH_STORED_STATS, weight, bias), (x, weight, bias),
                      out, saved_stats=0)


@register_cost(aten._batch_norm_with_update, aten._batch_norm_with_update_functional)
def batch_norm_with_update_cost(x: torch.Tensor, weight: Any, bias: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _norm_cost(norm_forward_flops(x.numel(), NORMALIZE, weight, bias), (x, weight, bias), out,
                      saved_stats=_channels(x))


@register_cost(aten._batch_norm_no_update)
def batch_norm_no_update_cost(
    x: torch.Tensor, weight: Any, bias: Any, running_mean: Any, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """Normalizes with the running statistics when there are any, else with the batch's own."""
    stored = running_mean is not None
    per_element = NORMALIZE_WITH_STORED_STATS if stored else NORMALIZE
    return _norm_cost(norm_forward_flops(x.numel(), per_element, weight, bias), (x, weight, bias), out,
                      saved_stats=0 if stored else _channels(x))


def _channels(x: torch.Tensor) -> int:
    return int(x.shape[1]) if x.dim() > 1 else 1


def _rows(x: torch.Tensor, normalized_shape: Sequence[int]) -> int:
    """Number of independently normalized rows: elements / prod(normalized_shape)."""
    per_row = 1
    for size in normalized_shape:
        per_row *= int(size)
    return x.numel() // per_row if per_row else 0


@register_cost(aten._fused_rms_norm)
def rms_norm_cost(x: torch.Tensor, normalized_shape: Any, weight: Any = None, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    flops = norm_forward_flops(x.numel(), RMS_NORMALIZE, weight, None)
    flops += RMS_PER_ROW * _rows(x, normalized_shape)
    return _cost(flops, (x, weight), out)


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


@register_cost(aten.native_batch_norm_backward, aten.batch_norm_backward)
def batch_norm_backward_cost(
    grad_out: torch.Tensor, x: torch.Tensor, weight: Any, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    # output_mask is the last list argument (batch_norm_backward has a reserve tensor after it).
    masks = [a for a in args if isinstance(a, (list, tuple))]
    mask = masks[-1] if masks else kwargs.get("output_mask", (True, True, True))
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
    input_grad = RMS_INPUT_GRAD + (AFFINE_TERM if weight is not None else 0)
    flops = norm_backward_flops(x.numel(), input_grad, output_mask, weight is not None)
    if output_mask[0]:
        flops += RMS_INPUT_GRAD_PER_ROW * _rows(x, normalized_shape)
    return _cost(flops, (grad_out, x, weight), out)


@register_cost(aten._softmax, aten._log_softmax, aten._safe_softmax)
def softmax_cost(x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(SOFTMAX * x.numel(), (x,), out)


@register_cost(aten._softmax_backward_data, aten._log_softmax_backward_data)
def softmax_backward_cost(grad_out: torch.Tensor, output: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(SOFTMAX_BACKWARD * grad_out.numel(), (grad_out, output), out)


# Weight normalization, w = g * v / ||v|| with the norm over every dim but ``dim`` (one norm per
# element of g): per element of v, square and accumulate (the norm reduction's 2) and the scale
# (1); per norm, the square root and g / norm.
WEIGHT_NORM = 3
WEIGHT_NORM_PER_NORM = 2
# Backward, with s = sum(grad_w * v) per norm: per element, s's multiply-add (2) and
# grad_v = (g / norm) * grad_w - (g * s / norm^3) * v (3); per norm, g / norm, g * s / norm^3
# (multiply, norm^2, divide) and grad_g = s / norm.
WEIGHT_NORM_BACKWARD = 5
WEIGHT_NORM_BACKWARD_PER_NORM = 5


@register_cost(aten._weight_norm_interface)
def weight_norm_cost(v: torch.Tensor, g: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """torch.nn.utils.weight_norm and parametrizations.weight_norm (wav2vec2, HuBERT)."""
    return _cost(WEIGHT_NORM * v.numel() + WEIGHT_NORM_PER_NORM * g.numel(), (v, g), out)


@register_cost(aten._weight_norm_interface_backward)
def weight_norm_backward_cost(
    grad_w: torch.Tensor, v: torch.Tensor, g: torch.Tensor, norms: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    flops = WEIGHT_NORM_BACKWARD * v.numel() + WEIGHT_NORM_BACKWARD_PER_NORM * g.numel()
    return _cost(flops, (grad_w, v, g, norms), out)
