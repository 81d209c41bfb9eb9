"""The calls that return bare numbers warn when an op had no cost formula: never a silent 0."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from flopsight.compat.calflops import calculate_flops
from flopsight.compat.deepspeed import get_model_profile
from flopsight.uncounted_warning import UncountedOpsWarning


class Cholesky(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gram = self.proj(x).T @ self.proj(x) + torch.eye(4)
        return torch.linalg.cholesky_ex(gram).L


def test_the_op_has_no_formula() -> None:
    assert "aten.linalg_cholesky_ex.default" in flopsight.profile(Cholesky(), torch.randn(8, 4)).uncounted_ops


def test_calflops_warns_naming_the_op() -> None:
    with pytest.warns(UncountedOpsWarning, match=r"linalg_cholesky_ex\.default \(1 call\)"):
        calculate_flops(Cholesky(), args=[torch.randn(8, 4)], print_results=False)


def test_deepspeed_warns_naming_the_op() -> None:
    with pytest.warns(UncountedOpsWarning, match="register_cost"):
        get_model_profile(Cholesky(), args=[torch.randn(8, 4)], print_profile=False, warm_up=0)


def test_flops_profiler_warns_when_the_window_closes() -> None:
    model = Cholesky()
    profiler = flopsight.FlopsProfiler(model)
    profiler.start_profile()
    model(torch.randn(8, 4))
    with pytest.warns(UncountedOpsWarning, match="1 op ran with no cost formula"):
        profiler.stop_profile()
    profiler.end_profile()


def test_no_warning_when_everything_is_counted() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UncountedOpsWarning)
        calculate_flops(nn.Linear(4, 4), args=[torch.randn(2, 4)], print_results=False)
