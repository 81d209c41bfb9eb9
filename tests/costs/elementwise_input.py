"""The [2, 3, 4, 5] input the elementwise tests (pointwise ops, dropout, normalization) share."""

from __future__ import annotations

import torch

SHAPE = (2, 3, 4, 5)
N = 2 * 3 * 4 * 5  # 120 elements


def random_input(device: str, grad: bool = False) -> torch.Tensor:
    """A random tensor of SHAPE on ``device``."""
    return torch.randn(*SHAPE, device=device, requires_grad=grad)
