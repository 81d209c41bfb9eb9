"""Convolutions, plain, grouped, dilated and transposed, forward and backward."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .base import OpCost, io_bytes, prod
from .registry import aten, register_cost



def conv_macs(x_shape: Sequence[int], w_shape: Sequence[int], out_shape: Sequence[int], transposed: bool) -> int:
    """MACs of one convolution.

    A plain conv computes each output element from (Cin/groups) x kernel inputs:
    out: [N, Cout, *spatial_out], w: [Cout, Cin/groups, *kernel].
    A transposed conv scatters each input element into (Cout/groups) x kernel outputs:
    x: [N, Cin, *spatial_in], w: [Cin, Cout/groups, *kernel].
    """
    per_element = prod(w_shape[1:])  # (channels per group) x kernel
    if transposed:
        return prod(x_shape) * per_element
    return prod(out_shape) * per_element


def _conv_forward_cost(x: torch.Tensor, w: torch.Tensor, bias: Any, transposed: bool, out: Any) -> OpCost:
    out_t = out[0] if isinstance(out, (tuple, list)) else out
    macs = conv_macs(x.shape, w.shape, out_t.shape, transposed)
    bias_flops = out_t.numel() if bias is not None else 0
    read, written = io_bytes((x, w, bias), out)
    return OpCost(macs=macs, flops=2 * macs + bias_flops, bytes_read=read, bytes_written=written)


@register_cost(aten.convolution, aten._convolution, aten.convolution_overrideable)
def convolution_cost(
    x: torch.Tensor,
    w: torch.Tensor,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    transposed: bool,
    *args: Any,
    out: Any,
    **kwargs: Any,
) -> OpCost:
    """Generic convolution entry point (every backend passes through one of these)."""
    return _conv_forward_cost(x, w, bias, bool(transposed), out)


@register_cost(aten.cudnn_convolution)
def backend_convolution_no_bias_cost(x: torch.Tensor, w: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Backend convolutions that take no bias (cudnn adds it in a separate op)."""
    return _conv_forward_cost(x, w, None, False, out)


@register_cost(aten.mkldnn_convolution, aten.miopen_convolution, aten.miopen_depthwise_convolution)
def backend_convolution_bias_third_cost(
    x: torch.Tensor, w: torch.Tensor, bias: Any, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """Backend convolutions whose signature is (input, weight, bias, padding, ...)."""
    return _conv_forward_cost(x, w, bias, False, out)


@register_cost(
    aten._slow_conv2d_forward, aten.thnn_conv2d, aten.slow_conv3d_forward, aten.slow_conv_dilated2d,
    aten.slow_conv_dilated3d, aten._conv_depthwise2d,
)
def backend_convolution_bias_fourth_cost(
    x: torch.Tensor, w: torch.Tensor, kernel_size: Any, bias: Any = None, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """Backend convolutions whose signature is (input, weight, kernel_size, bias, ...)."""
    return _conv_forward_cost(x, w, bias, False, out)


@register_cost(aten.cudnn_convolution_transpose)
def backend_transposed_convolution_no_bias_cost(
    x: torch.Tensor, w: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    return _conv_forward_cost(x, w, None, True, out)


@register_cost(aten.miopen_convolution_transpose)
def backend_transposed_convolution_bias_third_cost(
    x: torch.Tensor, w: torch.Tensor, bias: Any, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    return _conv_forward_cost(x, w, bias, True, out)


@register_cost(aten.slow_conv_transpose2d, aten.slow_conv_transpose3d)
def backend_transposed_convolution_bias_fourth_cost(
    x: torch.Tensor, w: torch.Tensor, kernel_size: Any, bias: Any = None, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    return _conv_forward_cost(x, w, bias, True, out)


@register_cost(aten.convolution_backward)
def convolution_backward_cost(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    w: torch.Tensor,
    bias_sizes: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    transposed: bool,
    output_padding: Any,
    groups: int,
    output_mask: Sequence[bool],
    *,
    out: Any,
    **kwargs: Any,
) -> OpCost:
    """Gradients of a convolution: the input and weight gradients are each a convolution with
    the forward's MACs; the bias gradient sums grad_out (one FLOP per element)."""
    forward_macs = conv_macs(x.shape, w.shape, grad_out.shape, bool(transposed))
    macs = forward_macs * (int(bool(output_mask[0])) + int(bool(output_mask[1])))
    bias_flops = grad_out.numel() if output_mask[2] else 0
    read, written = io_bytes((grad_out, x, w), out)
    return OpCost(macs=macs, flops=2 * macs + bias_flops, bytes_read=read, bytes_written=written)
