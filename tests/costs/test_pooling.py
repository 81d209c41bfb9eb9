"""Pooling: one FLOP per window element per output, over the exact windows of adaptive pooling;
the backward one per input element."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from feature_map import N, SHAPE, random_feature_map as _x

DEVICES = ["cpu", "meta"]
PLANES = 2 * 3


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
