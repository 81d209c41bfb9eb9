"""Sequence parallelism (a norm on sequence shards, torchtitan's plan) on a fake world of 4: the
tensor-parallel block gathers the sequence before its column-wise layer and reduce-scatters it
after the row-wise one, forward and backward; FLOPs are the local shards'. All by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from flopsight.distributed import fake_world

TP, BATCH, SEQ, WIDTH, HIDDEN, F32 = 4, 2, 8, 32, 64, 4


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(WIDTH)
        self.up = nn.Linear(WIDTH, HIDDEN)
        self.down = nn.Linear(HIDDEN, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(torch.relu(self.up(self.norm(x))))


@pytest.fixture(scope="module")
def profile() -> flopsight.Profile:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, SequenceParallel, parallelize_module

    with fake_world(TP, 1):
        mesh = init_device_mesh("cpu", (TP,), mesh_dim_names=("tp",))
        model = Block()
        parallelize_module(model, mesh, {"norm": SequenceParallel(), "up": ColwiseParallel(input_layouts=Shard(1)),
                                         "down": RowwiseParallel(output_layouts=Shard(1))})
        # this rank's sequence shard: SEQ / TP tokens
        return flopsight.profile(model, torch.randn(BATCH, SEQ // TP, WIDTH), backward=True)


def test_the_sequence_is_gathered_and_scattered_back(profile: flopsight.Profile) -> None:
    full_sequence = BATCH * SEQ * WIDTH * F32
    moved = {(kind.value, profile.process_groups[group].label): (t.calls, t.payload_bytes, t.bus_bytes)
             for (kind, group), t in profile.communication().items()}
    scale = (TP - 1) / TP
    # forward: all-gather before up, reduce-scatter after down; backward: the reverse of each
    assert moved == {("all_gather", "tp"): (2, 2 * full_sequence, 2 * scale * full_sequence),
                     ("reduce_scatter", "tp"): (2, 2 * full_sequence, 2 * scale * full_sequence)}


def test_flops_are_the_local_shards(profile: flopsight.Profile) -> None:
    tokens, local_hidden = BATCH * SEQ, HIDDEN // TP  # the gathered sequence through 1/TP of the MLP
    assert profile.forward.macs == tokens * WIDTH * local_hidden + tokens * local_hidden * WIDTH
    norm = 2 * WIDTH  # SequenceParallel keeps the norm's parameters whole
    assert profile.local_params == norm + (WIDTH * local_hidden + local_hidden) + (local_hidden * WIDTH + WIDTH)
    assert profile.params == norm + WIDTH * HIDDEN + HIDDEN + HIDDEN * WIDTH + WIDTH
