"""Elementwise ops: one FLOP per output element (two for fused multiply-adds and activation
backwards), nothing on integer or boolean tensors; losses, dropout and embeddings."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight

DEVICES = ["cpu", "meta"]
SHAPE = (2, 3, 4, 5)
N = 2 * 3 * 4 * 5  # elements of SHAPE


def _x(device: str, grad: bool = False) -> torch.Tensor:
    return torch.randn(*SHAPE, device=device, requires_grad=grad)


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


# Dropout ----------------------------------------------------------------------------------------


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


# Embeddings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_is_free_and_its_backward_scatter_adds(per_op, device) -> None:
    indices = torch.tensor([[1, 2, 3], [4, 5, 9]], device=device)
    p = flopsight.profile(nn.Embedding(10, 4, device=device), indices, backward=True)
    assert per_op(p) == {"aten.embedding.default": (1, 0, 0)}
    # 6 looked-up rows of 4: each gradient element is added into its row
    assert per_op(p, "backward") == {"aten.embedding_dense_backward.default": (1, 0, 6 * 4)}


def test_sparse_embedding_backward_is_free() -> None:
    indices = torch.tensor([[1, 2, 3], [4, 5, 9]])
    p = flopsight.profile(nn.Embedding(10, 4, sparse=True), indices, backward=True)
    # the sparse gradient keeps the 6 rows unsummed: no arithmetic
    assert p.backward.flops == 0
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("mode", "forward", "backward"), [
    # 6 gathered rows of 4 added into their bag; each bag gradient added back into its 3 rows
    ("sum", 6 * 4, 6 * 4),
    # mean also divides the [2, 4] output, and the [2, 4] gradient
    ("mean", 6 * 4 + 2 * 4, 6 * 4 + 2 * 4),
    # max compares the 6 rows; the gradient goes to the one argmax row per element
    ("max", 6 * 4, 2 * 4),
])
def test_embedding_bag(device, mode, forward, backward) -> None:
    indices = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)  # 2 bags of 3 rows
    p = flopsight.profile(nn.EmbeddingBag(10, 4, mode=mode, device=device), indices, backward=True)
    assert (p.forward.flops, p.backward.flops) == (forward, backward)
    assert p.uncounted_ops == {}


# Losses -----------------------------------------------------------------------------------------


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
