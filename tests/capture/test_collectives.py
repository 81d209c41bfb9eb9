"""The communication instrument, op by op, in one process on PyTorch's fake process group of 4:
each collective's payload and bus bytes by hand (NCCL's conventions), functional and eager, and
a collective issued outside any module charged to the root."""

from __future__ import annotations

from typing import Iterator

import pytest
import torch
import torch.distributed as dist
import torch.distributed._functional_collectives as funcol
from torch import nn

import flopsight
from flopsight.records.communication import Collective

WORLD, F32 = 4, 4
# the names torch 2.13 keeps; older releases have only the deprecated ones
ALL_GATHER = getattr(funcol, "all_gather_single", None) or funcol.all_gather_tensor
REDUCE_SCATTER = getattr(funcol, "reduce_scatter_single", None) or funcol.reduce_scatter_tensor


@pytest.fixture
def world() -> Iterator[None]:
    from torch.testing._internal.distributed.fake_pg import FakeStore

    dist.init_process_group("fake", store=FakeStore(), rank=1, world_size=WORLD)
    try:
        yield
    finally:
        dist.destroy_process_group()


class Collectives(nn.Module):
    """One of each: x is [8, 4] fp32 = 128 bytes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        group = dist.group.WORLD
        gathered = ALL_GATHER(x, 0, group)  # [32, 4]: 512 bytes gathered
        scattered = REDUCE_SCATTER(gathered, "sum", 0, group)  # 512 bytes in
        summed = funcol.all_reduce(scattered, "sum", group)  # 128 bytes
        exchanged = funcol.all_to_all_single(summed, None, None, group)  # 128 bytes
        dist.broadcast(exchanged, src=0)  # 128 bytes, eager
        return exchanged


def _moved(profile: flopsight.Profile) -> dict[str, tuple[int, int, float]]:
    return {kind.value: (t.calls, t.payload_bytes, t.bus_bytes) for (kind, _), t in profile.communication().items()}


def test_each_collective_moves_its_payload_and_bus_bytes(world: None) -> None:
    profile = flopsight.profile(Collectives(), torch.randn(8, 4))
    n, tensor, gathered = WORLD, 8 * 4 * F32, WORLD * 8 * 4 * F32
    assert _moved(profile) == {
        "all_gather": (1, gathered, (n - 1) / n * gathered),
        "reduce_scatter": (1, gathered, (n - 1) / n * gathered),
        "all_reduce": (1, tensor, 2 * (n - 1) / n * tensor),
        "all_to_all": (1, tensor, (n - 1) / n * tensor),
        "broadcast": (1, tensor, float(tensor)),
    }
    (group,) = profile.process_groups.values()
    assert (group.size, group.mesh_dim, group.ranks) == (WORLD, "world", (0, 1, 2, 3))
    assert profile.distributed is not None and profile.distributed.rank == 1


def test_a_collective_outside_every_module_is_the_roots(world: None) -> None:
    model = nn.Linear(4, 4)
    profiler = flopsight.FlopsProfiler(model, timing_repeat=0)
    profiler.start_profile()
    loss = model(torch.randn(2, 4)).sum()
    dist.all_reduce(loss.detach())  # the user's own, between forward and backward
    profiler.stop_profile()
    comm = profiler.profile.root.own_comm
    assert [(phase.value, kind) for phase, per_key in comm.items() for kind, _ in per_key] == [
        ("forward", Collective.ALL_REDUCE)]


class GatherAndScatter(nn.Module):
    """This rank (1) is not the root: it sends its piece to rank 0 and receives one back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dist.gather(x, None, dst=0)
        piece = torch.empty_like(x)
        dist.scatter(piece, None, src=0)
        return piece


def test_gather_and_scatter_move_every_ranks_piece_on_every_rank(world: None) -> None:
    profile = flopsight.profile(GatherAndScatter(), torch.randn(8, 4))
    whole = WORLD * 8 * 4 * F32  # S: the gathered (or scattered) whole, not this rank's piece
    assert _moved(profile) == {"gather": (1, whole, float(whole)), "scatter": (1, whole, float(whole))}
