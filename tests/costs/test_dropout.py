"""Dropout: 2 FLOPs per element in training (scale the mask, multiply), 0 in eval; the fused
native_dropout costs what the CPU path costs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from elementwise_input import N, random_input as _x

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_train_and_eval(per_op, device) -> None:
    x = _x(device, grad=True)
    p = flopsight.profile(nn.Dropout(0.5), x, backward=True)
    # CPU and meta: bernoulli_ (free), scale the mask (div_), multiply: 2 per element
    assert p.forward.flops == 2 * N
    assert p.backward.flops == N  # the gradient times the scaled mask
    p = flopsight.profile(nn.Dropout(0.5).eval(), x)
    assert p.forward.flops == 0
    assert p.uncounted_ops == {}


def test_native_dropout_costs_what_the_cpu_path_costs(profile_op, per_op) -> None:
    """CUDA runs the fused native_dropout; called directly it must cost what CPU's three ops cost."""
    x = _x("cpu", grad=True)
    fused = profile_op(lambda x: torch.native_dropout(x, 0.5, True)[0], x, backward=True)
    assert per_op(fused) == {"aten.native_dropout.default": (1, 0, 2 * N)}
    assert per_op(fused, "backward") == {"aten.native_dropout_backward.default": (1, 0, N)}
    plain = flopsight.profile(nn.Dropout(0.5), x, backward=True)
    assert (fused.forward.flops, fused.backward.flops) == (plain.forward.flops, plain.backward.flops)
