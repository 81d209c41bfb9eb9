"""Helpers for the per-op formula tests: run one callable under ``flopsight.profile``."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
from torch import nn

import flopsight


class Call(nn.Module):
    """A module whose forward is ``fn(*inputs)``; extra modules ride along as children so their
    parameters are trainable leaves of the profiled model."""

    def __init__(self, fn: Callable[..., Any], **children: nn.Module) -> None:
        super().__init__()
        self.fn = fn
        for name, child in children.items():
            self.add_module(name, child)

    def forward(self, *inputs: Any) -> Any:
        return self.fn(*inputs)


def profile_call(fn: Callable[..., Any], *inputs: Any, backward: bool = False, **kwargs: Any) -> flopsight.Profile:
    """Profile one call of ``fn(*inputs)``."""
    return flopsight.profile(Call(fn), *inputs, backward=backward, **kwargs)


def ops(p: flopsight.Profile, phase: str = "forward") -> dict[str, tuple[int, int, int]]:
    """{op name: (calls, macs, flops)} for one phase, for readable assertions."""
    return {name: (t.calls, t.macs, t.flops) for name, t in p.by_op(phase).items()}


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)
