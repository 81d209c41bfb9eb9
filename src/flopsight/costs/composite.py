"""Composite ops priced whole, where the mode sees them undivided and cannot decompose them.

A tensor subclass that implements an op itself (a jagged nested tensor's ``linear``) hands the
op to the mode whole, and its parts run inside the subclass, unseen. Such an op is priced here
by what it computes, on the dense values the subclass holds.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, matmul_cost, prod
from .registry import aten, register_cost


def dense_values(t: torch.Tensor) -> torch.Tensor:
    """The dense tensor a nested tensor packs its sequences into; a plain tensor itself."""
    return t.values() if t.is_nested else t


@register_cost(aten.linear)
def linear_cost(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *, out: Any) -> OpCost:
    """x: [..., in] @ weight^T: [in, out] (+ bias): one MAC per (row, in, out), one add per output."""
    values = dense_values(x)
    out_features, in_features = weight.shape if weight.dim() == 2 else (1, weight.shape[0])
    rows = values.numel() // max(in_features, 1)
    outputs = rows * out_features
    inputs = (values, weight) if bias is None else (values, weight, bias)
    return matmul_cost(macs=rows * in_features * out_features, inputs=inputs,
                       out=dense_values(out), extra_flops=0 if bias is None else outputs)


def _component_shapes(t: torch.Tensor) -> list[list[int]]:
    """The shape of each tensor a strided nested tensor holds."""
    return [[int(d) for d in row] for row in t._nested_tensor_size().tolist()]


@register_cost(aten.matmul)
def matmul_cost_whole(a: torch.Tensor, b: torch.Tensor, *, out: Any) -> OpCost:
    """Broadcast a @ b: each output element sums over k = a's last dim. Nested tensors (the CPU
    attention of jagged tensors) multiply their components pairwise."""
    if out.is_nested and type(out) is torch.Tensor:
        macs = sum(prod(shape) * k for shape, k in zip(
            _component_shapes(out), (shape[-1] for shape in _component_shapes(a))))
        return OpCost(macs=macs, flops=2 * macs)
    values = dense_values(out)
    return matmul_cost(macs=values.numel() * a.shape[-1], inputs=(a, b), out=values)
