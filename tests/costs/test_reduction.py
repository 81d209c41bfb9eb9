"""Reductions (per input element), pooling (per window element per output), interpolation
(2 FLOPs per tap per output), pairwise distances."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight

DEVICES = ["cpu", "meta"]
SHAPE = (2, 3, 8, 8)
N = 2 * 3 * 8 * 8  # 384 elements
PLANES = 2 * 3


def _x(device: str, *shape: int, grad: bool = False) -> torch.Tensor:
    return torch.randn(*(shape or SHAPE), device=device, requires_grad=grad)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("fn", "per_input"), [
    (lambda x: x.sum(), 1),
    (lambda x: x.mean(-1), 1),
    (lambda x: x.amax(-1), 1),
    (lambda x: x.max(-1).values, 1),
    (lambda x: x.argmax(-1), 1),
    (lambda x: x.prod(-1), 1),
    (lambda x: x.cumsum(-1), 1),
    (lambda x: x.norm(dim=-1), 2),  # square, accumulate
    (lambda x: x.var(-1), 3),  # subtract the mean, square, accumulate
    (lambda x: x.std(), 3),
    (lambda x: x.logsumexp(-1), 3),
], ids=["sum", "mean", "amax", "max", "argmax", "prod", "cumsum", "norm", "var", "std", "logsumexp"])
def test_reductions(profile_op, device, fn, per_input) -> None:
    p = profile_op(fn, _x(device))
    assert (p.forward.macs, p.forward.flops) == (0, per_input * N)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_integer_reduction_is_free(profile_op, device) -> None:
    assert profile_op(lambda a: a.sum(), torch.arange(10, device=device)).forward.flops == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "shape", "flops"), [
    # 2x2 windows, 2*3*4*4 outputs
    (nn.MaxPool2d(2), SHAPE, 2 * 3 * 16 * 4),
    (nn.AvgPool2d(2), SHAPE, 2 * 3 * 16 * 4),
    # 3x3 windows, stride 1, padding 1: 2*3*8*8 outputs
    (nn.MaxPool2d(3, stride=1, padding=1), SHAPE, 2 * 3 * 64 * 9),
    # [2, 3, 8] -> 2*3*4 outputs of 2
    (nn.MaxPool1d(2), (2, 3, 8), 2 * 3 * 4 * 2),
    (nn.AvgPool1d(2), (2, 3, 8), 2 * 3 * 4 * 2),
    # [2, 3, 4, 4, 4] -> 2*3*2*2*2 outputs of 2*2*2
    (nn.MaxPool3d(2), (2, 3, 4, 4, 4), 2 * 3 * 8 * 8),
    (nn.AvgPool3d(2), (2, 3, 4, 4, 4), 2 * 3 * 8 * 8),
    # adaptive 8 -> 3: windows [0, 3), [2, 6), [5, 8) overlap: 3 + 4 + 3 = 10 per dim
    (nn.AdaptiveAvgPool2d(3), SHAPE, PLANES * 10 * 10),
    (nn.AdaptiveMaxPool2d(3), SHAPE, PLANES * 10 * 10),
    (nn.AdaptiveAvgPool1d(3), (2, 3, 8), PLANES * 10),
    # adaptive 8 -> 4: windows of 2, exactly AvgPool2d(2)
    (nn.AdaptiveAvgPool2d(4), SHAPE, 2 * 3 * 16 * 4),
    # adaptive 8 -> 1: a mean over each plane
    (nn.AdaptiveAvgPool2d(1), SHAPE, N),
], ids=["max2d", "avg2d", "max2d-3x3", "max1d", "avg1d", "max3d", "avg3d", "adaptive-avg-3", "adaptive-max-3",
        "adaptive-avg1d-3", "adaptive-avg-4", "adaptive-avg-1"])
def test_pooling(device, module, shape, flops) -> None:
    p = flopsight.profile(module, _x(device, *shape))
    assert (p.forward.macs, p.forward.flops) == (0, flops)
    assert p.uncounted_ops == {}


def test_adaptive_pool_equals_its_fixed_window_twin() -> None:
    x = _x("cpu")
    adaptive = flopsight.profile(nn.AdaptiveAvgPool2d(4), x).forward
    assert adaptive.flops == flopsight.profile(nn.AvgPool2d(2), x).forward.flops


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("module", [nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(3)],
                         ids=["max", "avg", "adaptive"])
def test_pooling_backward_is_one_per_input_element(device, module) -> None:
    p = flopsight.profile(module, _x(device, grad=True), backward=True)
    assert p.backward.flops == N


OUT = 2 * 3 * 16 * 16  # SHAPE upsampled x2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("fn", "flops"), [
    (lambda x: F.interpolate(x, scale_factor=2), 0),  # nearest: a gather
    (lambda x: F.interpolate(x, scale_factor=2, mode="nearest-exact"), 0),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), OUT * 4 * 2),  # 4 taps
    (lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True), 2 * 3 * 35 * 4 * 2),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"), OUT * 16 * 2),  # 16 taps
], ids=["nearest", "nearest-exact", "bilinear", "bilinear-size", "bicubic"])
def test_interpolate_2d(profile_op, device, fn, flops) -> None:
    p = profile_op(fn, _x(device))
    assert p.forward.flops == flops
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_interpolate_1d_and_3d(profile_op, device) -> None:
    # [2, 3, 8] -> 16: 96 outputs of 2 taps
    p = profile_op(lambda x: F.interpolate(x, scale_factor=2, mode="linear"), _x(device, 2, 3, 8))
    assert p.forward.flops == 2 * 3 * 16 * 2 * 2
    # [1, 2, 3, 4, 5] -> [6, 8, 10]: 960 outputs of 8 taps
    p = profile_op(lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), _x(device, 1, 2, 3, 4, 5))
    assert p.forward.flops == 1 * 2 * 6 * 8 * 10 * 8 * 2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("mode", "backward"), [("nearest", OUT), ("bilinear", OUT * 4 * 2)])
def test_interpolate_backward(profile_op, device, mode, backward) -> None:
    # nearest: each output gradient is added into the input it copied; bilinear: spread over 4 taps
    p = profile_op(lambda x: F.interpolate(x, scale_factor=2, mode=mode), _x(device, grad=True), backward=True)
    assert p.backward.flops == backward
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("p_norm", "flops"), [
    # 2 x 4 distances over 3 features: difference, power, sum per feature, then the square root
    (2.0, 2 * 4 * 3 * 3 + 2 * 4),
    (1.0, 2 * 4 * 3 * 3),  # no root for p = 1
])
def test_cdist(profile_op, device, p_norm, flops) -> None:
    p = profile_op(lambda a, b: torch.cdist(a, b, p=p_norm), _x(device, 2, 3), _x(device, 4, 3))
    assert p.forward.flops == flops
    assert p.uncounted_ops == {}
