"""The roofline in the markdown report: the step on its GPU and a predicted column per module."""

from __future__ import annotations

import torch

import flopsight
from flopsight.report import RenderOptions, render


def test_markdown_carries_the_prediction() -> None:
    model = torch.nn.Linear(4096, 4096, device="meta", dtype=torch.bfloat16)
    profile = flopsight.profile(model, input_shape=(8192, 4096)).roofline("h100-sxm")
    text = render(profile, "markdown", RenderOptions())
    # compute-bound: (2 x 8192 x 4096^2 matmul + 8192 x 4096 bias adds) / 989.5e12 = 277.83 us
    step_us = (2 * 8192 * 4096**2 + 8192 * 4096) / 989.5e12 * 1e6
    assert f"{step_us:.2f} us" == "277.83 us"
    assert "- Predicted on H100 SXM (bfloat16, roofline, every op its own kernel): step 277.83 us" in text
    assert "| Predicted (H100 SXM) | Share of time |" in text
    assert "| `(model)` | Linear |" in text and "| 277.83 us | 100% |" in text


def test_markdown_without_a_roofline_has_no_prediction() -> None:
    profile = flopsight.profile(torch.nn.Linear(4, 4), input_shape=(2, 4))
    text = render(profile, "markdown", RenderOptions())
    assert "Predicted" not in text
