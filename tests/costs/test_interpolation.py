"""Interpolation: 2 FLOPs per tap per output element; nearest neighbour is a gather."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from feature_map import random_feature_map as _x

DEVICES = ["cpu", "meta"]


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
