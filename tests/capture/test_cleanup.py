"""Profiling leaves no trace: not on the model, not in torch, also when the forward raises."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

import flopsight
import zoo


class Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        self.explode = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        if self.explode:
            raise RuntimeError("boom")
        return y


def snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "hooks": [
            (name, len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks),
             len(getattr(m, "_forward_hooks_always_called", {})))
            for name, m in model.named_modules()
        ],
        "global_hooks": (
            len(nn.modules.module._global_forward_hooks),
            len(nn.modules.module._global_forward_pre_hooks),
            len(nn.modules.module._global_backward_hooks),
        ),
        "dispatch_modes": torch._C._len_torch_dispatch_stack(),
        "function_modes": torch._C._len_torch_function_stack(),
        "training": [m.training for m in model.modules()],
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "attributes": [sorted(vars(m)) for m in model.modules()],
        "grad_enabled": torch.is_grad_enabled(),
    }


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    for key in ("hooks", "global_hooks", "dispatch_modes", "function_modes", "training", "attributes", "grad_enabled"):
        assert before[key] == after[key], key
    assert before["state"].keys() == after["state"].keys()
    for name, value in before["state"].items():
        assert torch.equal(value, after["state"][name]), name
    for old, new in zip(before["grads"], after["grads"]):
        assert (old is None and new is None) or torch.equal(old, new)


@pytest.mark.parametrize("backward", [False, True])
def test_forward_that_raises_leaves_nothing_behind(backward: bool) -> None:
    model = Exploding().train()
    before = snapshot(model)
    with pytest.raises(RuntimeError, match="boom"):
        flopsight.profile(model, torch.randn(3, 4), backward=backward)
    assert_same(before, snapshot(model))


def test_failing_run_then_second_profile_equals_a_fresh_one() -> None:
    model = Exploding()
    with pytest.raises(RuntimeError):
        flopsight.profile(model, torch.randn(3, 4))
    model.explode = False
    after_failure = flopsight.profile(model, torch.randn(3, 4))
    twin = Exploding()
    twin.explode = False
    fresh = flopsight.profile(twin, torch.randn(3, 4))
    assert after_failure.to_dict()["root"] == fresh.to_dict()["root"]
    again = flopsight.profile(model, torch.randn(3, 4))
    assert again.to_dict()["root"] == after_failure.to_dict()["root"]


def test_model_outputs_buffers_and_grads_are_as_without_profiling() -> None:
    torch.manual_seed(0)
    model = zoo.TinyCNN().train()
    x = torch.randn(2, 3, 8, 8)
    model.head.weight.grad = torch.full_like(model.head.weight, 7.0)
    before = snapshot(model)
    flopsight.profile(model, x, backward=True)
    after = snapshot(model)
    assert_same(before, after)  # BatchNorm running stats restored, .grad untouched
    expected = copy.deepcopy(model)(x)
    assert torch.equal(model(x), expected)


def test_meta_run_leaves_no_function_mode() -> None:
    with torch.device("meta"):
        model = zoo.TinyLlama()
    depth = torch._C._len_torch_function_stack()
    with pytest.raises(RuntimeError):
        flopsight.profile(model, torch.zeros(1, 4, device="meta"))  # float ids: embedding raises
    assert torch._C._len_torch_function_stack() == depth
