"""Sampling at given coordinates (``grid_sample``): as interpolation in ``reduction``, 2 FLOPs
(a multiply and an add) per tap per output element: bilinear 4 taps, bicubic 16, trilinear 8
(``grid_sampler_3d``'s "bilinear"); nearest neighbour is a gather and costs 0. The output has
one element per (batch, channel, grid point); turning the grid's coordinates into pixel
positions is index arithmetic and not counted, as for interpolation.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost
from .registry import Formula, aten, register_cost

# aten's interpolation_mode codes: 0 bilinear, 1 nearest, 2 bicubic
TAPS_2D = {0: 4, 1: 0, 2: 16}
TAPS_3D = {0: 8, 1: 0}
FLOPS_PER_TAP = 2


def grid_sample_flops(*, outputs: int, taps: int) -> int:
    """``outputs`` sampled values, each a weighted sum over ``taps`` neighbours."""
    return FLOPS_PER_TAP * taps * outputs


def _grid_sampler_cost(taps_by_mode: dict[int, int]) -> Formula:
    """grid_sampler_2d: x [N, C, H, W], grid [N, Ho, Wo, 2] -> [N, C, Ho, Wo];
    grid_sampler_3d: x [N, C, D, H, W], grid [N, Do, Ho, Wo, 3] -> [N, C, Do, Ho, Wo]."""

    def cost(x: torch.Tensor, grid: torch.Tensor, interpolation_mode: int, *args: Any, out: Any,
             **kwargs: Any) -> OpCost:
        flops = grid_sample_flops(outputs=out.numel(), taps=taps_by_mode[int(interpolation_mode)])
        return elementwise_cost(flops=flops, inputs=(x, grid), out=out)

    return cost


register_cost(aten.grid_sampler_2d)(_grid_sampler_cost(TAPS_2D))
register_cost(aten.grid_sampler_3d)(_grid_sampler_cost(TAPS_3D))
