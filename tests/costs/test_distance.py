"""Pairwise distances (cdist): difference, power and sum per feature, then the root."""

from __future__ import annotations

import pytest
import torch

DEVICES = ["cpu", "meta"]


def _x(device: str, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("p_norm", "flops"), [
    # 2 x 4 distances over 3 features: difference, power, sum per feature, then the square root
    (2.0, 2 * 4 * 3 * 3 + 2 * 4),
    (1.0, 2 * 4 * 3 * 3),  # no root for p = 1
])
def test_cdist(profile_op, device, p_norm, flops) -> None:
    p = profile_op(lambda a, b: torch.cdist(a, b, p=p_norm), _x(device, 2, 3), _x(device, 4, 3))
    assert p.forward.flops == flops
    assert p.uncounted_ops == {}
