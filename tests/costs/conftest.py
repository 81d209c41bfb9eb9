"""Fixtures for the per-op formula tests.

``profile_op(fn, *inputs)`` profiles one call of ``fn`` wrapped in a module (op_runner.Call);
``per_op(profile)`` gives ``{op name: (calls, macs, flops)}`` for one phase, so a test can say
which aten ops ran and what each cost.
"""

from __future__ import annotations

from typing import Callable

import pytest
import torch

import flopsight
from op_runner import op_table, profile_call

ProfileOp = Callable[..., flopsight.Profile]
PerOp = Callable[..., dict[str, tuple[int, int, int]]]


@pytest.fixture
def profile_op() -> ProfileOp:
    return profile_call


@pytest.fixture
def per_op() -> PerOp:
    return op_table


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)
