"""Elementwise ops, priced per output element from one table.

Most ops cost 1 FLOP per output element. The exceptions are listed with their count:
fused multiply-adds (addcmul, addcdiv, lerp) cost 2, and the backward of an activation costs 2
(its derivative and the product with the incoming gradient); relu's backward is a select, 1.
A scaled operand costs 1 more per element when its scale is not 1: add/sub/rsub with ``alpha``
(x + alpha * y, as optimizers call ``add_(grad, alpha=-lr)``), addcmul/addcdiv with ``value``.
Ops on integer or boolean tensors only (index arithmetic, masks) are not floating-point work
and cost 0 FLOPs.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, io_bytes
from .registry import Formula, aten, register_cost


_ONE = [
    "add", "sub", "rsub", "mul", "div", "true_divide", "neg", "abs", "exp", "exp2", "expm1",
    "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "square", "pow", "float_power",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh",
    "tanh", "sigmoid", "logit", "relu", "relu6", "leaky_relu", "gelu", "silu", "mish", "elu", "selu",
    "celu", "hardtanh", "hardsigmoid", "hardswish", "softplus", "softshrink", "hardshrink",
    "prelu", "_prelu_kernel", "glu", "log_sigmoid_forward", "erf", "erfc", "erfinv", "clamp",
    "clamp_min", "clamp_max", "clip", "maximum", "minimum", "fmax", "fmin", "fmod", "remainder",
    "floor", "ceil", "round", "trunc", "frac", "sign", "sgn", "threshold", "hypot", "xlogy",
    "lt", "gt", "le", "ge", "eq", "ne", "isnan", "isinf", "isfinite", "nan_to_num", "logaddexp",
    "sinc", "digamma", "lgamma", "polar", "copysign", "heaviside", "floor_divide",
]
_TWO = [
    "addcmul", "addcdiv", "lerp",
    "sigmoid_backward", "tanh_backward", "gelu_backward", "silu_backward", "mish_backward",
    "elu_backward", "hardtanh_backward", "hardsigmoid_backward", "hardswish_backward",
    "leaky_relu_backward", "softplus_backward", "log_sigmoid_backward", "glu_backward",
    "logit_backward", "_prelu_kernel_backward",
]
_ONE_BACKWARD = ["threshold_backward"]

FLOPS_PER_ELEMENT: dict[str, int] = {
    **{name: 1 for name in _ONE},
    **{name: 2 for name in _TWO},
    **{name: 1 for name in _ONE_BACKWARD},
}


# The keyword that scales one operand, for the ops that have one.
SCALE_KEYWORD: dict[str, str] = {"add": "alpha", "sub": "alpha", "rsub": "alpha", "addcmul": "value", "addcdiv": "value"}


def is_floating(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex())


def pointwise_flops(per_element: int, args: tuple[Any, ...], out: Any) -> int:
    """FLOPs of an elementwise op: per_element x output elements, if any operand is floating."""
    result = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(result, torch.Tensor):
        return 0
    if not (is_floating(result) or any(is_floating(a) for a in args[:3])):
        return 0
    return per_element * result.numel()


def make_pointwise_formula(per_element: int, scale_keyword: str | None = None) -> Formula:
    def pointwise_cost(*args: Any, out: Any, **kwargs: Any) -> OpCost:
        scaled = scale_keyword is not None and kwargs.get(scale_keyword, 1) != 1
        read, written = io_bytes(args, out)
        flops = pointwise_flops(per_element + (1 if scaled else 0), args, out)
        return OpCost(flops=flops, bytes_read=read, bytes_written=written)

    pointwise_cost.__doc__ = f"Elementwise op: {per_element} FLOP(s) per output element."
    return pointwise_cost


def _register_table() -> None:
    by_cost: dict[tuple[int, str | None], list[Any]] = {}
    for name, per_element in FLOPS_PER_ELEMENT.items():
        for variant in (name, name + "_"):
            by_cost.setdefault((per_element, SCALE_KEYWORD.get(name)), []).append(getattr(aten, variant))
    for (per_element, scale_keyword), ops in by_cost.items():
        register_cost(*ops)(make_pointwise_formula(per_element, scale_keyword))


_register_table()
