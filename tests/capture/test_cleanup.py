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


class Counting(nn.Module):
    """Reassigns a buffer in forward (a new tensor object, not an in-place update)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.step = self.step + 1
        self.register_buffer("added", torch.ones(1))
        return self.linear(x)


@pytest.mark.parametrize("backward", [False, True])
def test_buffer_reassigned_or_added_in_forward_is_restored(backward: bool) -> None:
    model = Counting()
    original = model.step
    flopsight.profile(model, torch.randn(2, 4), backward=backward)
    assert model.step is original and int(model.step) == 0
    assert "added" not in model._buffers


def test_buffer_reassigned_is_restored_by_measure_time() -> None:
    model = Counting()
    original = model.step
    flopsight.measure_time(model, torch.randn(2, 4), warmup=1, repeat=2)
    assert model.step is original and int(model.step) == 0


class Noisy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and getattr(self, "explode", False):
            self.drop(x)
            raise RuntimeError("boom")
        return self.drop(self.linear(x))


@pytest.mark.parametrize("explode", [False, True])
def test_profile_leaves_the_random_state_as_it_was(explode: bool) -> None:
    import random

    model = Noisy().train()
    model.explode = explode
    x = torch.randn(16, 8)
    torch.manual_seed(1)
    random.seed(1)
    expected = (torch.rand(3), random.random())
    torch.manual_seed(1)
    random.seed(1)
    try:
        flopsight.profile(model, x, backward=True)
    except RuntimeError:
        assert explode
    assert torch.equal(torch.rand(3), expected[0])
    assert random.random() == expected[1]
