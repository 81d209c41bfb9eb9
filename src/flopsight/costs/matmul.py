"""Matrix products: mm, bmm, addmm and friends. One MAC per (batch, m, n, k)."""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, matmul_cost
from .registry import register_cost

aten = torch.ops.aten


def matmul_macs(m: int, n: int, k: int, batch: int = 1) -> int:
    """MACs of ``batch`` products of [m, k] @ [k, n]."""
    return batch * m * n * k


@register_cost(aten.mm, aten._int_mm)
def mm_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [m, k] @ b: [k, n] -> [m, n]."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k), inputs=(a, b), out=out)


@register_cost(aten.addmm)
def addmm_cost(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """bias + a: [m, k] @ b: [k, n]; the bias add is one FLOP per output element."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k), inputs=(bias, a, b), out=out, extra_flops=m * n)


@register_cost(aten._addmm_activation)
def addmm_activation_cost(
    bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """Fused addmm + relu/gelu: bias add and activation, one FLOP each per output element."""
    m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k), inputs=(bias, a, b), out=out, extra_flops=2 * m * n)


@register_cost(aten.bmm)
def bmm_cost(a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [batch, m, k] @ b: [batch, k, n] -> [batch, m, n]."""
    batch, m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k, batch), inputs=(a, b), out=out)


@register_cost(aten.baddbmm)
def baddbmm_cost(
    bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """bias + a: [batch, m, k] @ b: [batch, k, n]; one add per output element."""
    batch, m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(
        macs=matmul_macs(m, n, k, batch), inputs=(bias, a, b), out=out, extra_flops=batch * m * n
    )


@register_cost(aten.addbmm)
def addbmm_cost(
    bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """bias + sum over batch of a: [batch, m, k] @ b: [batch, k, n] -> [m, n]."""
    batch, m, k = a.shape
    n = b.shape[-1]
    return matmul_cost(macs=matmul_macs(m, n, k, batch), inputs=(bias, a, b), out=out, extra_flops=m * n)


@register_cost(aten.mv)
def mv_cost(a: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """a: [m, k] @ x: [k] -> [m]."""
    m, k = a.shape
    return matmul_cost(macs=matmul_macs(m, 1, k), inputs=(a, x), out=out)


@register_cost(aten.addmv)
def addmv_cost(bias: torch.Tensor, a: torch.Tensor, x: torch.Tensor, *args: Any, out: Any, **kwargs: Any) -> OpCost:
    """bias + a: [m, k] @ x: [k]."""
    m, k = a.shape
    return matmul_cost(macs=matmul_macs(m, 1, k), inputs=(bias, a, x), out=out, extra_flops=m)


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


