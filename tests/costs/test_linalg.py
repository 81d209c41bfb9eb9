"""Triangular solve: n^2 FLOPs per right-hand side vector (n (n - 1) / 2 multiplies and
subtractions each, n divisions), n (n - 1) when unitriangular; no MACs."""

from __future__ import annotations

import pytest
import torch

DEVICES = ["cpu", "meta"]


def _triangular(device: str, *shape: int) -> torch.Tensor:
    a = torch.randn(*shape).tril() + 4 * torch.eye(shape[-1])
    return a.to(device)


@pytest.mark.parametrize("device", DEVICES)
def test_solve_triangular_left(profile_op, device) -> None:
    # A: [2, 4, 4], B: [2, 4, 3]: 2 x 3 = 6 vectors of length 4, each 4*3 mul+sub + 4 div = 16
    a, b = _triangular(device, 2, 4, 4), torch.randn(2, 4, 3, device=device)
    p = profile_op(lambda a, b: torch.linalg.solve_triangular(a, b, upper=False), a, b)
    assert (p.forward.macs, p.forward.flops) == (0, 6 * 16)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_solve_triangular_right_unitriangular_broadcast(profile_op, device) -> None:
    # X A = B, A: [5, 5] broadcast over B: [3, 2, 5]: 3 x 2 = 6 vectors of length 5,
    # each 5*4 = 20 (no divisions on a unit diagonal)
    a, b = _triangular(device, 5, 5), torch.randn(3, 2, 5, device=device)
    p = profile_op(lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True), a, b)
    assert (p.forward.macs, p.forward.flops) == (0, 6 * 20)
    assert p.uncounted_ops == {}
