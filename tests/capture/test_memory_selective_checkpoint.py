"""Selective activation checkpointing: what the policy saves is held, what it recomputes is not."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import CheckpointPolicy, checkpoint, create_selective_checkpoint_contexts

import flopsight

F32 = 4


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 256)
        self.fc2 = nn.Linear(256, 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def save_matmuls(ctx: Any, op: Any, *args: Any, **kwargs: Any) -> CheckpointPolicy:
    matmuls = (torch.ops.aten.mm.default, torch.ops.aten.addmm.default)
    return CheckpointPolicy.MUST_SAVE if op in matmuls else CheckpointPolicy.PREFER_RECOMPUTE


class Checkpointed(nn.Module):
    def __init__(self, selective: bool) -> None:
        super().__init__()
        self.block = Block()
        self.selective = selective

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.selective:
            return checkpoint(self.block, x, use_reentrant=False)
        contexts = functools.partial(create_selective_checkpoint_contexts, save_matmuls)
        return checkpoint(self.block, x, use_reentrant=False, context_fn=contexts)


def profile_block(*, selective: bool, device: str) -> flopsight.Profile:
    torch.manual_seed(0)
    x = torch.randn(8, 64, device=device)
    return flopsight.profile(Checkpointed(selective=selective).to(device), x, backward=True, memory=True,
                             memory_target="as-run")


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_the_policy_keeps_the_matmul_outputs_and_recomputes_the_relu(device: str) -> None:
    p = profile_block(selective=True, device=device)
    assert p.memory is not None
    # Saved by the policy: fc1's addmm output h [8, 256] (fc2's addmm output is the model's
    # output, counted as output). Recomputed in backward: the ReLU, one FLOP per element of h.
    assert p.memory.activation_bytes == 8 * 256 * F32
    assert p.metadata["memory_target"] == device  # as-run: the run's own device
    assert p.module("block.fc1").memory.activation_bytes == 8 * 256 * F32  # type: ignore[union-attr]
    assert p.recompute.flops == 8 * 256


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_full_checkpoint_holds_only_its_input(device: str) -> None:
    p = profile_block(selective=False, device=device)
    assert p.memory is not None
    # The checkpoint keeps x, an input of the model: no activation of its own. In backward torch
    # recomputes until every saved tensor is back: fc1 (2 x MACs + its bias) and the ReLU, whose
    # output fc2 saved; fc2 itself is not rerun (nothing it makes is saved).
    assert p.memory.activation_bytes == 0
    assert p.recompute.flops == 2 * 8 * 64 * 256 + 8 * 256 + 8 * 256
