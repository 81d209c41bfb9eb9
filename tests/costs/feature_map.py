"""The [2, 3, 8, 8] feature map (batch, channels, height, width) the reduction, pooling and
interpolation tests share."""

from __future__ import annotations

import torch

SHAPE = (2, 3, 8, 8)
N = 2 * 3 * 8 * 8  # 384 elements


def random_feature_map(device: str, *shape: int, grad: bool = False) -> torch.Tensor:
    """A random tensor of ``shape`` (SHAPE if none is given) on ``device``."""
    return torch.randn(*(shape or SHAPE), device=device, requires_grad=grad)
