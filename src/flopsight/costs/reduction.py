"""Reductions: FLOPs per input element.

sum, mean, max, min, prod, cumsum: 1; norms: 2 (square, accumulate); var and std: 3 (subtract
mean, square, accumulate); var_mean / std_mean: 4; logsumexp: 3. On integer or boolean inputs
they cost 0.
"""

from __future__ import annotations

from typing import Any

from .base import OpCost, elementwise_cost
from .pointwise import is_floating
from .registry import Formula, aten, register_cost


REDUCTION_FLOPS_PER_INPUT: dict[str, int] = {
    "sum": 1, "nansum": 1, "mean": 1, "nanmean": 1, "prod": 1, "amax": 1, "amin": 1, "max": 1,
    "min": 1, "aminmax": 1, "argmax": 1, "argmin": 1, "cumsum": 1, "cumprod": 1, "cummax": 1,
    "cummin": 1, "logcumsumexp": 3, "norm": 2, "linalg_vector_norm": 2, "var": 3, "std": 3,
    "var_mean": 4, "std_mean": 4, "logsumexp": 3, "sort": 1, "topk": 1, "median": 1,
}


def make_reduction_formula(per_input: int) -> Formula:
    def reduction_cost(x: Any, *args: Any, out: Any, **kwargs: Any) -> OpCost:
        flops = per_input * x.numel() if is_floating(x) else 0
        return elementwise_cost(flops=flops, inputs=(x,), out=out)

    reduction_cost.__doc__ = f"Reduction: {per_input} FLOP(s) per input element."
    return reduction_cost


def _register_table() -> None:
    groups: dict[int, list[Any]] = {}
    for name, per_input in REDUCTION_FLOPS_PER_INPUT.items():
        groups.setdefault(per_input, []).append(getattr(aten, name))
    for per_input, ops in groups.items():
        register_cost(*ops)(make_reduction_formula(per_input))


_register_table()
