"""Normalizations and softmax, per element of the input:
    normalize with batch statistics 4 (mean, subtract, variance, scale), with stored ones 2,
    + 1 for an affine weight, + 1 for a bias; backward: input 8, weight 2, bias 1;
    softmax and log_softmax 5, backward 3;
    RMS: 3 (square, mean, scale) + 2 per row (eps add, rsqrt) + 1 for the weight.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from elementwise_input import N, SHAPE, random_input as _x
from flopsight.costs import REGISTRY

aten = torch.ops.aten
DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "per_element"), [
    (lambda: nn.LayerNorm(5), 4 + 1 + 1),
    (lambda: nn.LayerNorm(5, bias=False), 4 + 1),
    (lambda: nn.LayerNorm(5, elementwise_affine=False), 4),
    (lambda: nn.LayerNorm((4, 5)), 4 + 1 + 1),
], ids=["affine", "no-bias", "no-affine", "2d-shape"])
def test_layer_norm(per_op, device, module, per_element) -> None:
    p = flopsight.profile(module().to(device), _x(device))
    assert per_op(p) == {"aten.native_layer_norm.default": (1, 0, N * per_element)}


@pytest.mark.parametrize("device", DEVICES)
def test_layer_norm_backward(per_op, device) -> None:
    p = flopsight.profile(nn.LayerNorm(5, device=device), _x(device, grad=True), backward=True)
    # input 8 + weight 2 + bias 1
    assert per_op(p, "backward") == {"aten.native_layer_norm_backward.default": (1, 0, N * (8 + 2 + 1))}
    # no input gradient: only weight and bias
    p = flopsight.profile(nn.LayerNorm(5, device=device), _x(device), backward=True)
    assert p.backward.flops == N * (2 + 1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("groups", [1, 3])
def test_group_norm(per_op, device, groups) -> None:
    p = flopsight.profile(nn.GroupNorm(groups, 3, device=device), _x(device, grad=True), backward=True)
    # the group count does not change the per-element work
    assert per_op(p) == {"aten.native_group_norm.default": (1, 0, N * (4 + 1 + 1))}
    assert per_op(p, "backward") == {"aten.native_group_norm_backward.default": (1, 0, N * (8 + 2 + 1))}


@pytest.mark.parametrize("device", DEVICES)
def test_batch_norm_train_and_eval(per_op, device) -> None:
    norm = nn.BatchNorm2d(3, device=device)
    p = flopsight.profile(norm, _x(device, grad=True), backward=True)
    # train: batch statistics, 4 + weight + bias; the num_batches_tracked += 1 is integer
    assert per_op(p) == {"aten.native_batch_norm.default": (1, 0, N * 6), "aten.add_.Tensor": (1, 0, 0)}
    assert per_op(p, "backward") == {"aten.native_batch_norm_backward.default": (1, 0, N * (8 + 2 + 1))}
    p = flopsight.profile(norm.eval(), _x(device))
    # eval: stored statistics, 2 + weight + bias
    assert per_op(p) == {"aten.native_batch_norm.default": (1, 0, N * 4)}


@pytest.mark.parametrize("device", DEVICES)
def test_instance_norm(device) -> None:
    p = flopsight.profile(nn.InstanceNorm2d(3, affine=True, device=device), _x(device))
    # batch norm over a [1, 2*3, 4, 5] view, statistics computed, affine applied
    assert p.forward.flops == N * (4 + 1 + 1)


# RMS norm: torch 2.13 runs the composite rms_norm on CPU and meta (pow, mean, add, rsqrt, mul, mul);
# CUDA runs the fused _fused_rms_norm, whose formula must give the same numbers.

ROWS = 2 * 3 * 4  # rows of 5 normalized by RMSNorm(5)


@pytest.mark.parametrize("device", DEVICES)
def test_rms_norm_decomposes_on_cpu_and_meta(per_op, device) -> None:
    p = flopsight.profile(nn.RMSNorm(5, device=device), _x(device))
    assert per_op(p) == {
        "aten.pow.Tensor_Scalar": (1, 0, N),  # square
        "aten.mean.dim": (1, 0, N),
        "aten.add_.Scalar": (1, 0, ROWS),  # + eps, per row
        "aten.rsqrt.default": (1, 0, ROWS),
        "aten.mul.Tensor": (2, 0, 2 * N),  # x * rsqrt, * weight
    }
    assert p.forward.flops == N * (3 + 1) + ROWS * 2


@pytest.mark.parametrize(("affine", "x_grad", "forward", "backward"), [
    # input gradient 8 + 1 (times the weight) per element + 3 per row, weight gradient 2 per element
    (True, True, N * 4 + ROWS * 2, N * (8 + 1) + ROWS * 3 + N * 2),
    (False, True, N * 3 + ROWS * 2, N * 8 + ROWS * 3),
    (True, False, N * 4 + ROWS * 2, N * 2),
], ids=["affine", "no-affine", "weight-grad-only"])
def test_rms_norm_backward_decomposed(affine, x_grad, forward, backward) -> None:
    p = flopsight.profile(nn.RMSNorm(5, elementwise_affine=affine), _x("cpu", grad=x_grad), backward=True)
    assert (p.forward.flops, p.backward.flops) == (forward, backward)


@pytest.mark.parametrize("normalized_shape", [(5,), (4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_fused_rms_norm_formula_equals_the_decomposed_ops(normalized_shape, affine) -> None:
    """Same model, same counts: the fused op CUDA runs costs what CPU's composite costs."""
    x = _x("cpu", grad=True)
    module = nn.RMSNorm(normalized_shape, elementwise_affine=affine)
    profiled = flopsight.profile(module, x, backward=True)
    weight = module.weight
    y = torch.empty_like(x)
    rstd = torch.empty(*SHAPE[: 4 - len(normalized_shape)], *([1] * len(normalized_shape)))
    fused = REGISTRY.resolve(aten._fused_rms_norm.default)
    assert fused(x, list(normalized_shape), weight, 1e-6, out=(y, rstd)).flops == profiled.forward.flops
    fused_backward = REGISTRY.resolve(aten._fused_rms_norm_backward.default)
    mask = [True, affine]
    cost = fused_backward(y, x, list(normalized_shape), rstd, weight, mask, out=(x, weight))
    assert cost.flops == profiled.backward.flops


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("module", "op", "backward_op"), [
    (nn.Softmax(-1), "aten._softmax.default", "aten._softmax_backward_data.default"),
    (nn.LogSoftmax(-1), "aten._log_softmax.default", "aten._log_softmax_backward_data.default"),
])
def test_softmax(per_op, device, module, op, backward_op) -> None:
    p = flopsight.profile(module, _x(device, grad=True), backward=True)
    # max, subtract, exp, sum, divide (or log): 5; backward 3
    assert per_op(p) == {op: (1, 0, 5 * N)}
    assert per_op(p, "backward") == {backward_op: (1, 0, 3 * N)}


WEIGHT_NORMS = {
    "utils.weight_norm": nn.utils.weight_norm,
    "parametrizations.weight_norm": nn.utils.parametrizations.weight_norm,
}


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("api", sorted(WEIGHT_NORMS))
def test_weight_norm_forward_and_backward(per_op, device, api) -> None:
    """wav2vec2's positional conv: w = g * v / ||v||, one norm per output channel (dim=0)."""
    torch.manual_seed(0)
    model = nn.Sequential(WEIGHT_NORMS[api](nn.Conv1d(4, 6, 3))).to(device)
    x = torch.randn(2, 4, 8, device=device, requires_grad=True)
    p = flopsight.profile(model, x, backward=True)
    assert p.uncounted_ops == {}
    v, norms = 6 * 4 * 3, 6  # v: [6, 4, 3]; g and the norms: [6, 1, 1]
    # forward: square + accumulate + scale per element of v (3 x 72); sqrt + g / norm per norm
    assert per_op(p)["aten._weight_norm_interface.default"] == (1, 0, 3 * v + 2 * norms)
    # backward: sum(grad_w * v) (2) and (g/n) * grad_w - (g s / n^3) * v (3) per element;
    # g / n, g * s, n * n, the divide, s / n per norm
    assert per_op(p, "backward")["aten._weight_norm_interface_backward.default"] == (1, 0, 5 * v + 5 * norms)
    # the conv still costs what an unnormalized one does: out [2, 6, 6] x in 4 x kernel 3
    conv_macs = 2 * 6 * 6 * 4 * 3
    assert per_op(p)["aten.convolution.default"] == (1, conv_macs, 2 * conv_macs + 2 * 6 * 6)
