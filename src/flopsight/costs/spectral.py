"""Fast Fourier transforms, in the radix-2 Cooley-Tukey count: a complex transform of length N
runs (N / 2) log2 N butterflies, each one complex multiply (4 multiplies, 2 adds) and two
complex adds (2 adds each): 10 real FLOPs, so 5 N log2 N per transform. Over several dims the
lengths multiply (N = n1 n2 ..., and the per-dim counts sum to 5 N log2 N per batch element), and
every batch element pays it: 5 x numel x log2 N. A real-input or real-output transform
(``_fft_r2c``, ``_fft_c2r``) does half: 2.5 x (real numel) x log2 N. Lengths that are not powers
of two are priced by the same formula (rounded). A normalized transform ("ortho" or 1/n) adds
one real multiply per real output value (2 per complex one).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from .base import OpCost, elementwise_cost, prod
from .registry import aten, register_cost

FLOPS_PER_POINT_PER_STAGE = 5  # 10 FLOPs per butterfly, a butterfly per 2 points and stage
NO_NORMALIZATION = 0  # aten's fft_norm_mode: 0 none, 1 by 1/sqrt(n), 2 by 1/n


def fft_flops(*, complex_points: float, length: int) -> int:
    """``complex_points`` values (batch included) transformed over a total length ``length``."""
    if length <= 1:
        return 0
    return round(FLOPS_PER_POINT_PER_STAGE * complex_points * math.log2(length))


def _length(shape: Sequence[int], dims: Sequence[int]) -> int:
    return prod(shape[d] for d in dims)


def _scaling(normalization: int, real_values: int) -> int:
    return 0 if int(normalization) == NO_NORMALIZATION else real_values


@register_cost(aten._fft_c2c)
def fft_c2c_cost(x: torch.Tensor, dim: Sequence[int], normalization: int, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """x: complex [...] -> out: complex, the same shape, transformed over ``dim``."""
    flops = fft_flops(complex_points=x.numel(), length=_length(x.shape, dim))
    return elementwise_cost(flops=flops + _scaling(normalization, 2 * out.numel()), inputs=(x,), out=out)


@register_cost(aten._fft_r2c)
def fft_r2c_cost(x: torch.Tensor, dim: Sequence[int], normalization: int, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """x: real [...] -> out: complex (the last dim halved if onesided)."""
    flops = fft_flops(complex_points=x.numel() / 2, length=_length(x.shape, dim))
    return elementwise_cost(flops=flops + _scaling(normalization, 2 * out.numel()), inputs=(x,), out=out)


@register_cost(aten._fft_c2r)
def fft_c2r_cost(x: torch.Tensor, dim: Sequence[int], normalization: int, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """x: complex, onesided -> out: real [...] of the full length."""
    flops = fft_flops(complex_points=out.numel() / 2, length=_length(out.shape, dim))
    return elementwise_cost(flops=flops + _scaling(normalization, out.numel()), inputs=(x,), out=out)
