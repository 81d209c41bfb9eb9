"""Matrix products: every entry point reaches mm/bmm/addmm/... and costs one MAC per (batch, m, n, k)."""

from __future__ import annotations

import operator

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight

DEVICES = ["cpu", "meta"]


def _inputs(device: str, *shapes: tuple[int, ...]) -> list[torch.Tensor]:
    return [torch.randn(*shape, device=device) for shape in shapes]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("matmul", [operator.matmul, torch.matmul], ids=["@", "torch.matmul"])
@pytest.mark.parametrize(
    ("a_shape", "b_shape", "macs", "op"),
    [
        # [3, 4] @ [4, 5]: m*n*k = 3*5*4
        ((3, 4), (4, 5), 3 * 5 * 4, "aten.mm.default"),
        # [2, 3, 4] @ [4, 5]: the batch folds into the rows, [6, 4] @ [4, 5]
        ((2, 3, 4), (4, 5), 6 * 5 * 4, "aten.mm.default"),
        # [2, 1, 3, 4] @ [6, 4, 5]: batch broadcasts to [2, 6], 12 products of 3x4 @ 4x5
        ((2, 1, 3, 4), (6, 4, 5), 2 * 6 * 3 * 5 * 4, "aten.bmm.default"),
        # [2, 3, 5, 4] @ [2, 3, 4, 7]: 6 products of 5x4 @ 4x7
        ((2, 3, 5, 4), (2, 3, 4, 7), 2 * 3 * 5 * 7 * 4, "aten.bmm.default"),
        # [4] @ [4, 5]: a row vector, [1, 4] @ [4, 5]
        ((4,), (4, 5), 1 * 5 * 4, "aten.mm.default"),
        # [3, 4] @ [4]: matrix-vector
        ((3, 4), (4,), 3 * 4, "aten.mv.default"),
        # [4] @ [4]: dot product
        ((4,), (4,), 4, "aten.dot.default"),
    ],
)
def test_matmul_broadcasting(profile_op, per_op, device, matmul, a_shape, b_shape, macs, op) -> None:
    p = profile_op(matmul, *_inputs(device, a_shape, b_shape))
    assert per_op(p) == {op: (1, macs, 2 * macs)}
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("equation", "shapes", "macs"),
    [
        # QK^T: b=2, h=3, q=5, k=7, d=4 -> 2*3*5*7*4
        ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 7, 4)], 2 * 3 * 5 * 7 * 4),
        # PV: b=2, h=3, q=5, k=7, d=6 -> 2*3*5*6*7
        ("bhqk,bhkd->bhqd", [(2, 3, 5, 7), (2, 3, 7, 6)], 2 * 3 * 5 * 6 * 7),
        ("ij,jk->ik", [(3, 4), (4, 5)], 3 * 5 * 4),
        # a chain contracts left to right: (2x3 @ 3x4) then (2x4 @ 4x5)
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)], 2 * 4 * 3 + 2 * 5 * 4),
    ],
)
def test_einsum(profile_op, device, equation, shapes, macs) -> None:
    p = profile_op(lambda *ts: torch.einsum(equation, *ts), *_inputs(device, *shapes))
    assert (p.forward.macs, p.forward.flops) == (macs, 2 * macs)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_mm_and_bmm(profile_op, per_op, device) -> None:
    p = profile_op(torch.mm, *_inputs(device, (3, 4), (4, 5)))
    assert per_op(p) == {"aten.mm.default": (1, 60, 120)}  # 3*5*4
    p = profile_op(torch.bmm, *_inputs(device, (2, 3, 4), (2, 4, 5)))
    assert per_op(p) == {"aten.bmm.default": (1, 120, 240)}  # 2*3*5*4


@pytest.mark.parametrize("device", DEVICES)
def test_addmm_bias_add_is_one_flop_per_output(profile_op, per_op, device) -> None:
    bias, a, b = _inputs(device, (5,), (3, 4), (4, 5))
    p = profile_op(torch.addmm, bias, a, b)
    # MACs 3*5*4 = 60; FLOPs 2*60 + the bias add over the [3, 5] output = 135
    assert per_op(p) == {"aten.addmm.default": (1, 60, 2 * 60 + 3 * 5)}


@pytest.mark.parametrize("device", DEVICES)
def test_baddbmm(profile_op, per_op, device) -> None:
    bias, a, b = _inputs(device, (2, 3, 5), (2, 3, 4), (2, 4, 5))
    p = profile_op(torch.baddbmm, bias, a, b)
    # MACs 2*3*5*4 = 120; bias add over [2, 3, 5] = 30
    assert per_op(p) == {"aten.baddbmm.default": (1, 120, 2 * 120 + 30)}


@pytest.mark.parametrize("device", DEVICES)
def test_addmv_addbmm_addr(profile_op, per_op, device) -> None:
    bias, a, x = _inputs(device, (3,), (3, 4), (4,))
    # [3, 4] @ [4] = 12 MACs, + 3 bias adds
    assert per_op(profile_op(torch.addmv, bias, a, x)) == {"aten.addmv.default": (1, 12, 24 + 3)}
    bias, a, b = _inputs(device, (3, 5), (2, 3, 4), (2, 4, 5))
    # sum over a batch of 2 of 3x4 @ 4x5 = 120 MACs, + a [3, 5] bias add
    assert per_op(profile_op(torch.addbmm, bias, a, b)) == {"aten.addbmm.default": (1, 120, 240 + 15)}
    bias, x, y = _inputs(device, (3, 4), (3,), (4,))
    # an outer product is a k=1 matmul: 3*4 MACs, + a [3, 4] bias add
    assert per_op(profile_op(torch.addr, bias, x, y)) == {"aten.addr.default": (1, 12, 24 + 12)}


# beta * input + alpha * product, per output element beside the product's 2 FLOPs per MAC:
# the add (none if beta == 0), beta's multiply (if beta not in (0, 1)), alpha's (if alpha != 1).
SCALINGS = [
    # (kwargs, extra FLOPs per output element)
    ({}, 1),  # add only
    ({"alpha": 2.0}, 2),  # alpha multiply + add
    ({"beta": 0.5}, 2),  # beta multiply + add
    ({"beta": 0.5, "alpha": 2.0}, 3),  # both multiplies + add
    ({"beta": 0}, 0),  # input ignored: no add
    ({"beta": 0, "alpha": 0.125}, 1),  # a scaled product (old attention: baddbmm(empty, q, k^T, beta=0, alpha=scale))
    ({"beta": 1, "alpha": 1}, 1),  # the defaults spelled out
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("scaling", "per_output"), SCALINGS, ids=[str(s) for s, _ in SCALINGS])
@pytest.mark.parametrize(
    ("fn", "shapes", "macs", "outputs", "op"),
    [
        # [3, 4] @ [4, 5]: 60 MACs, [3, 5] output
        (torch.addmm, [(3, 5), (3, 4), (4, 5)], 3 * 5 * 4, 3 * 5, "aten.addmm.default"),
        # 2 x [3, 4] @ [4, 5]: 120 MACs, [2, 3, 5] output
        (torch.baddbmm, [(2, 3, 5), (2, 3, 4), (2, 4, 5)], 2 * 3 * 5 * 4, 2 * 3 * 5, "aten.baddbmm.default"),
        # sum over 2 of [3, 4] @ [4, 5]: 120 MACs, [3, 5] output
        (torch.addbmm, [(3, 5), (2, 3, 4), (2, 4, 5)], 2 * 3 * 5 * 4, 3 * 5, "aten.addbmm.default"),
        # [3, 4] @ [4]: 12 MACs, [3] output
        (torch.addmv, [(3,), (3, 4), (4,)], 3 * 4, 3, "aten.addmv.default"),
        # [3] outer [4]: 12 MACs (k = 1), [3, 4] output
        (torch.addr, [(3, 4), (3,), (4,)], 3 * 4, 3 * 4, "aten.addr.default"),
    ],
    ids=["addmm", "baddbmm", "addbmm", "addmv", "addr"],
)
def test_alpha_and_beta_scale_the_product_and_the_input(
    profile_op, per_op, device, scaling, per_output, fn, shapes, macs, outputs, op
) -> None:
    p = profile_op(lambda *ts: fn(*ts, **scaling), *_inputs(device, *shapes))
    assert per_op(p) == {op: (1, macs, 2 * macs + per_output * outputs)}


@pytest.mark.parametrize("device", DEVICES)
def test_beta_zero_does_not_read_the_input(profile_op, device) -> None:
    bias, a, b = _inputs(device, (3, 5), (3, 4), (4, 5))
    p = profile_op(lambda *ts: torch.addmm(*ts, beta=0), bias, a, b)
    # reads a [3, 4] and b [4, 5] (32 floats, 4 bytes each), writes [3, 5]; bias is ignored
    assert (p.forward.bytes_read, p.forward.bytes_written) == ((12 + 20) * 4, 15 * 4)


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_variants_are_counted(profile_op, per_op, device) -> None:
    bias, a, b = _inputs(device, (3, 5), (3, 4), (4, 5))
    p = profile_op(lambda c, a, b: c.clone().addmm_(a, b), bias, a, b)
    assert per_op(p) == {"aten.addmm_.default": (1, 60, 120 + 15)}
    bias, a, b = _inputs(device, (2, 3, 5), (2, 3, 4), (2, 4, 5))
    p = profile_op(lambda c, a, b: c.clone().baddbmm_(a, b), bias, a, b)
    assert per_op(p) == {"aten.baddbmm_.default": (1, 120, 240 + 30)}
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize(("x_shape", "rows"), [((3, 4), 3), ((2, 3, 4), 2 * 3)], ids=["2d", "3d"])
def test_linear(profile_op, device, bias, x_shape, rows) -> None:
    x = torch.randn(*x_shape, device=device)
    w = torch.randn(5, 4, device=device)
    b = torch.randn(5, device=device) if bias else None
    p = profile_op(lambda x: F.linear(x, w, b), x)
    macs = rows * 5 * 4  # rows x in 4 x out 5
    assert p.forward.macs == macs
    assert p.forward.flops == 2 * macs + (rows * 5 if bias else 0)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_linear_backward(device) -> None:
    layer = nn.Linear(4, 5, device=device)
    x = torch.randn(2, 3, 4, device=device, requires_grad=True)
    p = flopsight.profile(layer, x, backward=True)
    rows = 2 * 3
    # forward: 6 rows x 4 -> 5 = 120 MACs, + 30 bias adds
    assert (p.forward.macs, p.forward.flops) == (120, 240 + 30)
    # backward: dX = dY @ W (6*4*5) and dW = dY^T @ X (5*4*6); db sums dY over the rows (6*5)
    assert p.backward.macs == rows * 4 * 5 + 5 * 4 * rows
    assert p.backward.flops == 2 * 240 + rows * 5
    # without an input gradient only dW is computed
    p = flopsight.profile(layer, x.detach(), backward=True)
    assert p.backward.macs == 5 * 4 * rows


@pytest.mark.parametrize("device", DEVICES)
def test_bilinear(device) -> None:
    layer = nn.Bilinear(3, 4, 5, device=device)
    p = flopsight.profile(layer, torch.randn(2, 3, device=device), torch.randn(2, 4, device=device))
    # aten's _trilinear: x1 [N=2, I=3] * W [O=5, I, J=4] summed over I (2*5*3*4),
    # then that [N, O, J] * x2 [N, J] summed over J (2*5*4)
    macs = 2 * 5 * 3 * 4 + 2 * 5 * 4
    assert p.forward.macs == macs
    assert p.forward.flops == 2 * macs + 2 * 5  # + bias over the [2, 5] output
    assert p.uncounted_ops == {}


def test_cpu_and_meta_agree_on_a_matmul_chain(profile_op) -> None:
    def chain(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bij,bjk->bik", a @ b.transpose(-1, -2), c)

    shapes = ((2, 3, 4), (2, 5, 4), (2, 5, 6))
    cpu = profile_op(chain, *_inputs("cpu", *shapes))
    meta = profile_op(chain, *_inputs("meta", *shapes))
    assert cpu.forward == meta.forward
    # 2 x (3x4 @ 4x5) + 2 x (3x5 @ 5x6)
    assert cpu.forward.macs == 2 * 3 * 5 * 4 + 2 * 3 * 6 * 5


class _GroupedMM(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor, offs=None) -> torch.Tensor:
        return torch._grouped_mm(a, b, offs)


def _meta(*shape: int) -> torch.Tensor:
    return torch.empty(*shape, device="meta", dtype=torch.bfloat16)


def test_grouped_mm_tokens_split_by_offsets() -> None:
    # 12 tokens routed to 3 experts (4 each), K = 8, N = 16: every token does one 8 x 16 product.
    offs = torch.tensor([4, 8, 12], dtype=torch.int32, device="meta")
    p = flopsight.profile(_GroupedMM(), _meta(12, 8), _meta(3, 8, 16), offs)
    assert p.forward.macs == 12 * 8 * 16
    assert p.forward.flops == 2 * 12 * 8 * 16


def test_grouped_mm_batched_groups() -> None:
    # 3 groups of [5, 8] @ [8, 16].
    p = flopsight.profile(_GroupedMM(), _meta(3, 5, 8), _meta(3, 8, 16))
    assert p.forward.macs == 3 * 5 * 16 * 8
