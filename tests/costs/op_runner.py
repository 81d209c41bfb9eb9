"""Run one callable under ``flopsight.profile``: a module whose forward calls it."""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

import flopsight
from flopsight.costs.data_movement import is_data_movement


class Call(nn.Module):
    """A module whose forward is ``fn(*inputs)``."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *inputs: Any) -> Any:
        return self.fn(*inputs)


def profile_call(fn: Callable[..., Any], *inputs: Any, backward: bool = False, **kwargs: Any) -> flopsight.Profile:
    """Profile one call of ``fn(*inputs)``; with backward=True autograd differentiates the
    inputs that require grad."""
    return flopsight.profile(Call(fn), *inputs, backward=backward, **kwargs)


def op_table(profile: flopsight.Profile, phase: str = "forward") -> dict[str, tuple[int, int, int]]:
    """``{op name: (calls, macs, flops)}`` of one phase, without the ops that only move data
    (0 FLOPs by definition: which copies a kernel makes is torch's choice, not a count)."""
    return {name: (t.calls, t.macs, t.flops) for name, t in profile.by_op(phase).items() if not is_data_movement(name)}
