"""Elementwise ops: one FLOP per output element (two for fused multiply-adds and activation
backwards), nothing on integer or boolean tensors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight
from elementwise_input import N, random_input as _x

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("name", "fn", "op"),
    [
        ("add", lambda x: x + x, "aten.add.Tensor"),
        ("mul-scalar", lambda x: x * 2, "aten.mul.Tensor"),
        ("div", lambda x: x / 3, "aten.div.Tensor"),
        ("exp", torch.exp, "aten.exp.default"),
        ("gelu", F.gelu, "aten.gelu.default"),
        ("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), "aten.gelu.default"),
        ("silu", F.silu, "aten.silu.default"),
        ("relu", F.relu, "aten.relu.default"),
        ("sigmoid", torch.sigmoid, "aten.sigmoid.default"),
        ("tanh", torch.tanh, "aten.tanh.default"),
        ("clamp", lambda x: x.clamp(-1, 1), "aten.clamp.default"),
    ],
)
def test_one_flop_per_output_element(profile_op, per_op, device, name, fn, op) -> None:
    assert per_op(profile_op(fn, _x(device))) == {op: (1, 0, N)}


@pytest.mark.parametrize("device", DEVICES)
def test_broadcast_counts_output_elements(profile_op, per_op, device) -> None:
    bias = torch.randn(5, device=device)
    # [2, 3, 4, 5] + [5]: one add per output element
    assert per_op(profile_op(lambda x, b: x + b, _x(device), bias)) == {"aten.add.Tensor": (1, 0, N)}


@pytest.mark.parametrize("device", DEVICES)
def test_fused_multiply_add_counts_two(profile_op, per_op, device) -> None:
    x = _x(device)
    assert per_op(profile_op(lambda x: torch.addcmul(x, x, x), x)) == {"aten.addcmul.default": (1, 0, 2 * N)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("fn", "op", "per_element"),
    [
        # x + 2 * y: multiply, add
        (lambda x: torch.add(x, x, alpha=2), "aten.add.Tensor", 2),
        (lambda x: torch.add(x, x, alpha=1), "aten.add.Tensor", 1),
        # x - 0.5 * y: multiply, subtract
        (lambda x: torch.sub(x, x, alpha=0.5), "aten.sub.Tensor", 2),
        # the optimizer update p.add_(grad, alpha=-lr): multiply, add
        (lambda x: x.clone().add_(x, alpha=-0.1), "aten.add_.Tensor", 2),
        # x + 0.5 * y * z: two multiplies, add
        (lambda x: torch.addcmul(x, x, x, value=0.5), "aten.addcmul.default", 3),
        # x + 2 * y / z: divide, multiply, add
        (lambda x: torch.addcdiv(x, x, x, value=2), "aten.addcdiv.default", 3),
        (lambda x: torch.addcdiv(x, x, x), "aten.addcdiv.default", 2),
    ],
    ids=["add-alpha", "add-alpha-1", "sub-alpha", "add_-alpha", "addcmul-value", "addcdiv-value", "addcdiv"],
)
def test_a_scaled_operand_costs_one_more_per_element(profile_op, per_op, device, fn, op, per_element) -> None:
    table = per_op(profile_op(fn, _x(device)))
    assert table[op] == (1, 0, per_element * N)


@pytest.mark.parametrize("device", DEVICES)
def test_integer_and_boolean_ops_are_free(profile_op, per_op, device) -> None:
    ints = torch.arange(12, device=device)
    p = profile_op(lambda a: (a + a) * 3, ints)
    assert {op: flops for op, (_, _, flops) in per_op(p).items()} == {"aten.add.Tensor": 0, "aten.mul.Tensor": 0}
    mask = torch.rand(12, device=device) > 0.5
    p = profile_op(lambda m: (m & m) | ~m, mask)
    assert p.forward.flops == 0
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_comparison_on_floats_counts_once(profile_op, per_op, device) -> None:
    # the comparison is a float op; where() only selects
    p = profile_op(lambda x: torch.where(x > 0, x, 0.0), _x(device))
    assert p.forward.flops == N
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "backward_op", "per_element"), [
    (nn.GELU(), "aten.gelu_backward.default", 2),
    (nn.SiLU(), "aten.silu_backward.default", 2),
    (nn.Tanh(), "aten.tanh_backward.default", 2),
    (nn.ReLU(), "aten.threshold_backward.default", 1),
])
def test_activation_backward(per_op, device, module, backward_op, per_element) -> None:
    p = flopsight.profile(module, _x(device, grad=True), backward=True)
    # the derivative and its product with the incoming gradient: 2; relu's is a select: 1
    assert per_op(p, "backward") == {backward_op: (1, 0, per_element * N)}
