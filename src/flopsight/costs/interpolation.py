"""Interpolation (upsampling): 2 FLOPs per tap per output element.

Linear: 2 taps, bilinear 4, bicubic 16, trilinear 8; the backward spreads each output gradient
over the same taps, 2 FLOPs per tap. Nearest neighbour is a gather and costs 0, its backward a
scatter-add, 1 FLOP per output gradient element.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, elementwise_cost
from .registry import Formula, aten, register_cost


INTERPOLATION_TAPS: dict[str, int] = {
    "upsample_linear1d": 2, "upsample_bilinear2d": 4, "_upsample_bilinear2d_aa": 4,
    "upsample_bicubic2d": 16, "_upsample_bicubic2d_aa": 16, "upsample_trilinear3d": 8,
}


def make_interpolation_formula(taps: int) -> Formula:
    def interpolation_cost(x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
        return elementwise_cost(flops=2 * taps * out.numel(), inputs=(x,), out=out)

    return interpolation_cost


def make_interpolation_backward_formula(taps: int) -> Formula:
    def interpolation_backward_cost(grad_out: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
        """Each output gradient is spread over its taps: 2 FLOPs per tap, as the forward."""
        return elementwise_cost(flops=2 * taps * grad_out.numel(), inputs=(grad_out,), out=out)

    return interpolation_backward_cost


for _name, _taps in INTERPOLATION_TAPS.items():
    register_cost(getattr(aten, _name))(make_interpolation_formula(_taps))
    register_cost(getattr(aten, _name + "_backward"))(make_interpolation_backward_formula(_taps))


NEAREST_BACKWARD = tuple(
    getattr(aten, f"{kind}{d}d_backward") for kind in ("upsample_nearest", "_upsample_nearest_exact") for d in (1, 2, 3)
)


@register_cost(*NEAREST_BACKWARD)
def nearest_backward_cost(grad_out: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Each output gradient is added into the one input it copied: 1 FLOP per output gradient."""
    return elementwise_cost(flops=grad_out.numel(), inputs=(grad_out,), out=out)
