"""Matrix products: mm, bmm, addmm and friends. One MAC per (batch, m, n, k).

The add* ops compute beta * input + alpha * product. Beside the product they cost, per output
element: 1 FLOP for the add (none when beta == 0: the input is ignored, not read), 1 for beta's
multiply when beta is not 0 or 1, and 1 for alpha's when alpha is not 1.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .base import OpCost, matmul_cost, prod
from .registry import aten, register_cost



def matmul_macs(m: int, n: int, k: int, batch: int = 1) -> int:
    """MACs of ``batch`` products of [m, k] @ [k, n]."""
    return batch * m * n * k


def scaled_add_flops(outputs: int, kwargs: dict[str, Any]) -> int:
    """FLOPs of ``beta * input + alpha * product`` beyond the product, over ``outputs`` elements."""
    alpha, beta = kwargs.get("alpha", 1), kwargs.get("beta", 1)
    flops = outputs if alpha != 1 else 0
    if beta != 0:
        flops += outputs if beta == 1 else 2 * outputs
    return flops


def _added(bias: torch.Tensor, kwargs: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    """The input tensor when it is read: beta == 0 ignores it."""
    return () if kwargs.get("beta", 1) == 0 else (bias,)


@register_cost(aten.mm, aten._int_mm)
def mm_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [m, k] @ b: [k, n] -> [m, n]."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k), inputs=(a, b), out=out)


@register_cost(aten.addmm, aten.addmm_)
def addmm_cost(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """beta * bias + alpha * (a: [m, k] @ b: [k, n]) -> [m, n]."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(
        macs=matmul_macs(m, n, k), inputs=(*_added(bias, kwargs), a, b), out=out,
        extra_flops=scaled_add_flops(m * n, kwargs),
    )


@register_cost(aten._addmm_activation)
def addmm_activation_cost(
    bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """Fused addmm + relu/gelu: addmm's scaled add, then the activation, one FLOP per output element."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(
        macs=matmul_macs(m, n, k), inputs=(*_added(bias, kwargs), a, b), out=out,
        extra_flops=scaled_add_flops(m * n, kwargs) + m * n,
    )


@register_cost(aten.bmm)
def bmm_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [batch, m, k] @ b: [batch, k, n] -> [batch, m, n]."""
    batch, m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k, batch), inputs=(a, b), out=out)


@register_cost(aten.baddbmm, aten.baddbmm_)
def baddbmm_cost(
    bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """beta * bias + alpha * (a: [batch, m, k] @ b: [batch, k, n]) -> [batch, m, n]."""
    batch, m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(
        macs=matmul_macs(m, n, k, batch), inputs=(*_added(bias, kwargs), a, b), out=out,
        extra_flops=scaled_add_flops(batch * m * n, kwargs),
    )


@register_cost(aten.addbmm, aten.addbmm_)
def addbmm_cost(
    bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """beta * bias + alpha * sum over batch of a: [batch, m, k] @ b: [batch, k, n] -> [m, n]."""
    batch, m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(
        macs=matmul_macs(m, n, k, batch), inputs=(*_added(bias, kwargs), a, b), out=out,
        extra_flops=scaled_add_flops(m * n, kwargs),
    )


@register_cost(aten.mv)
def mv_cost(a: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [m, k] @ x: [k] -> [m]."""
    m, k = a.shape
    return matmul_cost(macs=matmul_macs(m, 1, k), inputs=(a, x), out=out)


@register_cost(aten.addmv, aten.addmv_)
def addmv_cost(bias: torch.Tensor, a: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """beta * bias + alpha * (a: [m, k] @ x: [k]) -> [m]."""
    m, k = a.shape
    return matmul_cost(
        macs=matmul_macs(m, 1, k), inputs=(*_added(bias, kwargs), a, x), out=out,
        extra_flops=scaled_add_flops(m, kwargs),
    )


@register_cost(aten.addr, aten.addr_)
def addr_cost(bias: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """beta * bias + alpha * (x: [m] outer y: [n]), priced as addmm with k = 1 (BLAS ger)."""
    m, n = x.shape[0], y.shape[0]
    return matmul_cost(
        macs=matmul_macs(m, n, 1), inputs=(*_added(bias, kwargs), x, y), out=out,
        extra_flops=scaled_add_flops(m * n, kwargs),
    )


@register_cost(aten.dot, aten.vdot)
def dot_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [k] . b: [k] -> scalar."""
    return matmul_cost(macs=a.shape[0], inputs=(a, b), out=out)


@register_cost(aten._scaled_mm)
def scaled_mm_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Low-precision a: [m, k] @ b: [k, n] with scales; the scaling is folded into the product."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k), inputs=(a, b), out=out)


@register_cost(aten._trilinear)
def trilinear_cost(
    i1: torch.Tensor, i2: torch.Tensor, i3: torch.Tensor, expand1: Sequence[int], expand2: Sequence[int],
    expand3: Sequence[int], sumdim: Sequence[int], *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    """sum over ``sumdim`` of i1 * i2 * i3 (F.bilinear), in aten's order: i1 * i2 first, contracting
    the summed dims i3 does not have, then that result * i3 over the remaining summed dims.

    F.bilinear, x1: [N, I], W: [O, I, J], x2: [N, J]: N*O*I*J + N*O*J MACs.
    """
    rank = i1.dim() + len(expand1)
    s1, s2, s3 = (_unsqueezed(t.shape, e, rank) for t, e in ((i1, expand1), (i2, expand2), (i3, expand3)))
    first = [max(a, b) for a, b in zip(s1, s2)]
    first_contracted = {d for d in sumdim if s3[d] == 1}
    partial = [1 if d in first_contracted else size for d, size in enumerate(first)]
    second = [max(a, b) for a, b in zip(partial, s3)]
    return matmul_cost(macs=prod(first) + prod(second), inputs=(i1, i2, i3), out=out)


def _unsqueezed(shape: Sequence[int], expand: Sequence[int], rank: int) -> list[int]:
    sizes = iter(shape)
    return [1 if d in expand else next(sizes) for d in range(rank)]


@register_cost(aten._grouped_mm)
def grouped_mm_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Grouped products (mixture-of-experts layers): each group is an ordinary matmul.

    a: [tokens, K] @ b: [G, K, N] with offsets splitting the tokens -> [tokens, N];
    a: [G, M, K] @ b: [G, K, N] -> [G, M, N]; a: [M, K_total] @ b: [K_total, N] with offsets
    splitting K (a weight gradient) -> [G, M, N]. In every case each output element sums over
    its group's K, so MACs = output elements x K per group, or M x N x K_total for split K.
    """
    if a.dim() == 2 and b.dim() == 2:
        macs = a.shape[0] * a.shape[1] * b.shape[1]
    else:
        macs = out.numel() * a.shape[-1]
    return matmul_cost(macs=macs, inputs=(a, b), out=out)
