"""Losses, forward and backward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
def test_cross_entropy(per_op, device) -> None:
    logits = torch.randn(4, 5, device=device, requires_grad=True)
    target = torch.tensor([0, 1, 2, 4], device=device)
    p = flopsight.profile(nn.CrossEntropyLoss(), logits, target, backward=True)
    # log_softmax over [4, 5]: 5 per element; nll: one weighted pick per target
    assert per_op(p) == {"aten._log_softmax.default": (1, 0, 5 * 20), "aten.nll_loss_forward.default": (1, 0, 4)}
    assert per_op(p, "backward") == {
        "aten._log_softmax_backward_data.default": (1, 0, 3 * 20),
        "aten.nll_loss_backward.default": (1, 0, 4),
    }


@pytest.mark.parametrize("device", DEVICES)
def test_mse_loss(per_op, device) -> None:
    x = torch.randn(4, 5, device=device, requires_grad=True)
    p = flopsight.profile(nn.MSELoss(), x, torch.randn(4, 5, device=device), backward=True)
    # difference, square, sum: 3 per element; backward 2 per element
    assert per_op(p) == {"aten.mse_loss.default": (1, 0, 3 * 20)}
    assert per_op(p, "backward") == {"aten.mse_loss_backward.default": (1, 0, 2 * 20)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("loss", "per_element"), [
    (nn.L1Loss(), 3),  # decomposed: sub, abs, mean
    (nn.SmoothL1Loss(), 3),
    (nn.HuberLoss(), 3),
    (nn.BCEWithLogitsLoss(), 4),
])
def test_other_losses(device, loss, per_element) -> None:
    x = torch.randn(4, 5, device=device, requires_grad=True)
    p = flopsight.profile(loss, x, torch.rand(4, 5, device=device), backward=True)
    assert p.forward.flops == per_element * 20
    assert p.uncounted_ops == {}
