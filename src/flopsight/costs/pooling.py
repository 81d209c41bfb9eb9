"""Pooling: max and average pooling cost one FLOP per window element per output element.

Adaptive pooling too, over its exact (possibly overlapping) windows, so AdaptiveAvgPool2d(1)
costs what mean() does and AdaptiveAvgPool2d(4) on 8 x 8 what AvgPool2d(2) does; the backward
of a pooling op costs one FLOP per element of the input gradient.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .base import OpCost, elementwise_cost, prod
from .registry import Formula, aten, register_cost


def _window(kernel_size: Any, dims: int) -> int:
    sizes = [int(k) for k in kernel_size] if isinstance(kernel_size, (list, tuple)) else [int(kernel_size)]
    if len(sizes) == 1:
        sizes = sizes * dims
    return prod(sizes)


def _make_window_pool(dims: int) -> Formula:
    def window_pool_cost(x: torch.Tensor, kernel_size: Sequence[int], *args: Any, out: Any, **kwargs: Any) -> OpCost:
        result = out[0] if isinstance(out, (tuple, list)) else out
        return elementwise_cost(flops=result.numel() * _window(kernel_size, dims), inputs=(x,), out=out)

    return window_pool_cost


for _dims, _ops in (
    (1, ("max_pool1d", "max_pool1d_with_indices", "avg_pool1d")),
    (2, ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "mkldnn_max_pool2d")),
    (3, ("max_pool3d", "max_pool3d_with_indices", "avg_pool3d", "mkldnn_max_pool3d")),
):
    register_cost(*(getattr(aten, n) for n in _ops))(_make_window_pool(_dims))


def adaptive_windows(in_size: int, out_size: int) -> int:
    """Summed window lengths of adaptive pooling along one dim: window i is
    [floor(i * in / out), ceil((i + 1) * in / out))."""
    return sum(-(-(i + 1) * in_size // out_size) - (i * in_size // out_size) for i in range(out_size))


@register_cost(aten._adaptive_avg_pool2d, aten._adaptive_avg_pool3d, aten.adaptive_max_pool2d,
               aten.adaptive_max_pool3d, aten.adaptive_avg_pool1d)
def adaptive_pool_cost(x: torch.Tensor, output_size: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """One FLOP per window element per output element, over the exact adaptive windows."""
    result = out[0] if isinstance(out, (tuple, list)) else out
    dims = len(output_size)
    spatial_in, spatial_out = x.shape[-dims:], result.shape[-dims:]
    per_plane = prod(adaptive_windows(i, o) for i, o in zip(spatial_in, spatial_out))
    planes = x.numel() // prod(spatial_in) if x.numel() else 0
    return elementwise_cost(flops=planes * per_plane, inputs=(x,), out=out)


@register_cost(
    aten.max_pool2d_with_indices_backward, aten.max_pool3d_with_indices_backward,
    aten.avg_pool2d_backward, aten.avg_pool3d_backward, aten._adaptive_avg_pool2d_backward,
    aten._adaptive_avg_pool3d_backward, aten.adaptive_max_pool2d_backward,
    aten.adaptive_max_pool3d_backward,
)
def pool_backward_cost(grad_out: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return elementwise_cost(flops=x.numel(), inputs=(grad_out, x), out=out)
