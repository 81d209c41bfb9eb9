"""grid_sample: 2 FLOPs per tap per output element (bilinear 4 taps, bicubic 16, trilinear 8,
nearest 0); no MACs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("mode", "per_output"), [("bilinear", 8), ("bicubic", 32), ("nearest", 0)])
def test_grid_sample_2d(profile_op, device, mode, per_output) -> None:
    # x: [2, 3, 8, 8] sampled at a [2, 5, 4] grid -> out [2, 3, 5, 4]: 120 outputs
    x, grid = torch.randn(2, 3, 8, 8, device=device), torch.rand(2, 5, 4, 2, device=device) * 2 - 1
    p = profile_op(lambda x, g: F.grid_sample(x, g, mode=mode, align_corners=False), x, grid)
    assert (p.forward.macs, p.forward.flops) == (0, 120 * per_output)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_grid_sample_3d_trilinear(profile_op, device) -> None:
    # x: [1, 2, 4, 4, 4] at a [1, 3, 2, 2] grid -> out [1, 2, 3, 2, 2]: 24 outputs, 8 taps x 2
    x, grid = torch.randn(1, 2, 4, 4, 4, device=device), torch.rand(1, 3, 2, 2, 3, device=device) * 2 - 1
    p = profile_op(lambda x, g: F.grid_sample(x, g, mode="bilinear", align_corners=True), x, grid)
    assert (p.forward.macs, p.forward.flops) == (0, 24 * 16)
    assert p.uncounted_ops == {}
