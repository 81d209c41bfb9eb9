"""Reductions, pooling and interpolation.

Reductions cost FLOPs per input element: sum, mean, max, min, prod, cumsum: 1;
norms: 2 (square, accumulate); var and std: 3 (subtract mean, square, accumulate);
var_mean / std_mean: 4; logsumexp: 3. On integer or boolean inputs they cost 0.
Pooling: max and average pooling cost one FLOP per window element per output element;
adaptive pooling too, over its exact (possibly overlapping) windows, so AdaptiveAvgPool2d(1)
costs what mean() does and AdaptiveAvgPool2d(4) on 8 x 8 what AvgPool2d(2) does; the backward
of a pooling op costs one FLOP per element of the input gradient.
Interpolation: 2 FLOPs per tap per output element (linear: 2 taps, bilinear 4, bicubic 16,
trilinear 8); nearest neighbour is a gather and costs 0, its backward a scatter-add, 1 FLOP per
output gradient element.
Pairwise distances (cdist): 3 FLOPs per (output, feature) (difference, power, sum), plus the
root per output unless p is 1; the backward 4 per (output, feature).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .base import OpCost, io_bytes, prod
from .pointwise import is_floating
from .registry import Formula, aten, register_cost


REDUCTION_FLOPS_PER_INPUT: dict[str, int] = {
    "sum": 1, "nansum": 1, "mean": 1, "nanmean": 1, "prod": 1, "amax": 1, "amin": 1, "max": 1,
    "min": 1, "aminmax": 1, "argmax": 1, "argmin": 1, "cumsum": 1, "cumprod": 1, "cummax": 1,
    "cummin": 1, "logcumsumexp": 3, "norm": 2, "linalg_vector_norm": 2, "var": 3, "std": 3,
    "var_mean": 4, "std_mean": 4, "logsumexp": 3, "sort": 1, "topk": 1, "median": 1,
}

INTERPOLATION_TAPS: dict[str, int] = {
    "upsample_linear1d": 2, "upsample_bilinear2d": 4, "_upsample_bilinear2d_aa": 4,
    "upsample_bicubic2d": 16, "_upsample_bicubic2d_aa": 16, "upsample_trilinear3d": 8,
}


def _cost(flops: int, inputs: tuple[Any, ...], out: Any) -> OpCost:
    read, written = io_bytes(inputs, out)
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)


def make_reduction_formula(per_input: int) -> Formula:
    def reduction_cost(x: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
        flops = per_input * x.numel() if is_floating(x) else 0
        return _cost(flops, (x,), out)

    reduction_cost.__doc__ = f"Reduction: {per_input} FLOP(s) per input element."
    return reduction_cost


def make_interpolation_formula(taps: int) -> Formula:
    def interpolation_cost(x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
        return _cost(2 * taps * out.numel(), (x,), out)

    return interpolation_cost


def _register_tables() -> None:
    groups: dict[int, list[Any]] = {}
    for name, per_input in REDUCTION_FLOPS_PER_INPUT.items():
        op = getattr(aten, name, None)
        if op is not None:
            groups.setdefault(per_input, []).append(op)
    for per_input, ops in groups.items():
        register_cost(*ops)(make_reduction_formula(per_input))
    for name, taps in INTERPOLATION_TAPS.items():
        op = getattr(aten, name, None)
        if op is not None:
            register_cost(op)(make_interpolation_formula(taps))


_register_tables()


def _window(kernel_size: Any, dims: int) -> int:
    sizes = [int(k) for k in kernel_size] if isinstance(kernel_size, (list, tuple)) else [int(kernel_size)]
    if len(sizes) == 1:
        sizes = sizes * dims
    return prod(sizes)


def _make_window_pool(dims: int) -> Formula:
    def window_pool_cost(x: torch.Tensor, kernel_size: Sequence[int], *args: Any, out: Any, **kwargs: Any) -> OpCost:
        result = out[0] if isinstance(out, (tuple, list)) else out
        return _cost(result.numel() * _window(kernel_size, dims), (x,), out)

    return window_pool_cost


for _dims, _ops in (
    (1, ("max_pool1d", "max_pool1d_with_indices", "avg_pool1d")),
    (2, ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "mkldnn_max_pool2d")),
    (3, ("max_pool3d", "max_pool3d_with_indices", "avg_pool3d", "mkldnn_max_pool3d")),
):
    _found = [getattr(aten, n) for n in _ops if hasattr(aten, n)]
    register_cost(*_found)(_make_window_pool(_dims))


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
    return _cost(planes * per_plane, (x,), out)


@register_cost(
    aten.max_pool2d_with_indices_backward, aten.max_pool3d_with_indices_backward,
    aten.avg_pool2d_backward, aten.avg_pool3d_backward, aten._adaptive_avg_pool2d_backward,
    aten._adaptive_avg_pool3d_backward, aten.adaptive_max_pool2d_backward,
    aten.adaptive_max_pool3d_backward,
)
def pool_backward_cost(grad_out: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    return _cost(x.numel(), (grad_out, x), out)


def make_interpolation_backward_formula(taps: int) -> Formula:
    def interpolation_backward_cost(grad_out: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
        """Each output gradient is spread over its taps: 2 FLOPs per tap, as the forward."""
        return _cost(2 * taps * grad_out.numel(), (grad_out,), out)

    return interpolation_backward_cost


for _name, _taps in INTERPOLATION_TAPS.items():
    _backward = getattr(aten, _name + "_backward", None)
    if _backward is not None:
        register_cost(_backward)(make_interpolation_backward_formula(_taps))


NEAREST_BACKWARD = tuple(
    getattr(aten, name)
    for name in (f"{kind}{d}d_backward" for kind in ("upsample_nearest", "_upsample_nearest_exact") for d in (1, 2, 3))
    if hasattr(aten, name)
)


@register_cost(*NEAREST_BACKWARD)
def nearest_backward_cost(grad_out: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Each output gradient is added into the one input it copied: 1 FLOP per output gradient."""
    return _cost(grad_out.numel(), (grad_out,), out)


CDIST_PER_FEATURE = 3
CDIST_BACKWARD_PER_FEATURE = 4


@register_cost(aten._cdist_forward)
def cdist_cost(x1: torch.Tensor, x2: torch.Tensor, p: float, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """x1: [..., P, M], x2: [..., R, M] -> [..., P, R]: per output, M differences, powers and adds,
    then the p-th root (none for p = 1)."""
    features = x1.shape[-1]
    root = 0 if p == 1 else out.numel()
    return _cost(CDIST_PER_FEATURE * out.numel() * features + root, (x1, x2), out)


@register_cost(aten._cdist_backward)
def cdist_backward_cost(
    grad: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    return _cost(CDIST_BACKWARD_PER_FEATURE * grad.numel() * x1.shape[-1], (grad, x1, x2), out)
