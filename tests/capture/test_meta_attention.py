"""On meta, SDPA goes to the fused CPU kernel only where the CPU would pick it: a mask that
requires grad (a learned position bias: T5, Swin) makes the CPU run the math path."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight


class LearnedBias(nn.Module):
    def __init__(self, seq: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.randn(1, 1, seq, seq))

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, q, q, attn_mask=self.bias)


@pytest.mark.parametrize("grad_mode", [torch.enable_grad, torch.no_grad, torch.inference_mode])
def test_mask_that_requires_grad_counts_as_on_the_cpu(grad_mode: Any) -> None:
    batch, heads, seq, dim = 2, 2, 4, 8
    figures = {}
    for device in ("cpu", "meta"):
        with torch.device(device):
            model, q = LearnedBias(seq), torch.randn(batch, heads, seq, dim)
        with grad_mode():
            p = flopsight.profile(model, q)
        figures[device] = (p.forward.macs, p.forward.flops, sorted(p.by_op()))
    assert figures["cpu"] == figures["meta"]
    assert figures["meta"][0] == 2 * batch * heads * seq * seq * dim  # QK^T and PV


def test_mask_that_requires_grad_on_meta_with_backward() -> None:
    batch, heads, seq, dim = 1, 2, 4, 8
    with torch.device("meta"):
        model, q = LearnedBias(seq), torch.randn(batch, heads, seq, dim, requires_grad=True)
    p = flopsight.profile(model, q, backward=True)
    assert p.forward.macs == 2 * batch * heads * seq * seq * dim
    assert p.backward.macs == 2 * p.forward.macs  # two gradients per product (q is k and v too)
