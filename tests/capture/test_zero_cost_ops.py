"""Ops with no FLOPs are not missing formulas: collectives are recorded by call count as
communication, copies and profiler markers are free.

The collectives run for real: two gloo processes on 127.0.0.1, each profiling a module whose
forward calls c10d collectives (dist.all_reduce, dist.all_gather) and a functional collective.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.distributed as dist
from torch import nn

import flopsight
from flopsight.costs import COMMUNICATION, REGISTRY
from flopsight.report.summary import render_summary
from ranks import run_on_ranks

WORLD = 2


class Collectives(nn.Module):
    """A linear layer, then the sums and gathers of data parallelism, inside one forward."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed._functional_collectives as funcol

        y = self.proj(x)
        with torch.profiler.record_function("sync"):
            dist.all_reduce(y)
        gathered = [torch.empty_like(y) for _ in range(WORLD)]
        dist.all_gather(gathered, y)
        summed = funcol.all_reduce(y, "sum", dist.group.WORLD)
        return torch.cat(gathered) + summed.sum()


def _profile_rank(rank: int) -> dict[str, object]:
    torch.manual_seed(0)
    return flopsight.profile(Collectives(), torch.randn(2, 4)).to_dict()


@pytest.fixture(scope="module")
def rank_profiles(tmp_path_factory: pytest.TempPathFactory) -> list[flopsight.Profile]:
    results = run_on_ranks(_profile_rank, WORLD, tmp_path_factory.mktemp("ranks"))
    return [flopsight.Profile.from_dict(result) for result in results]


def test_collectives_are_recorded_not_uncounted(rank_profiles: list[flopsight.Profile]) -> None:
    for profile in rank_profiles:
        assert profile.uncounted_ops == {}
        # dist.all_reduce and dist.all_gather go through c10d's ops; funcol.all_reduce issues the
        # functional op (its wait runs inside AsyncCollectiveTensor's dispatch, below the mode)
        assert profile.communication_ops == {
            "c10d.allreduce_.default": 1,
            "c10d.allgather_.default": 1,
            "_c10d_functional.all_reduce.default": 1,
        }
        # the collectives cost nothing: [2, 4] @ [4, 3] (24 MACs) + bias (6), the gathered
        # [4, 3] + a scalar (12), and the sum of [2, 3] (6)
        assert (profile.forward.macs, profile.forward.flops) == (24, 2 * 24 + 6 + 12 + 6)


def test_communication_ops_are_listed_in_the_summary(rank_profiles: list[flopsight.Profile]) -> None:
    lines = render_summary(rank_profiles[0]).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Communication ops:"))
    assert lines[start].endswith("3 (0 FLOPs; collectives and waits)")
    assert [line.split() for line in lines[start + 1:start + 4]] == [
        ["_c10d_functional.all_reduce.default:", "1", "call"],
        ["c10d.allgather_.default:", "1", "call"],
        ["c10d.allreduce_.default:", "1", "call"],
    ]


def test_record_function_markers_are_free() -> None:
    class Marked(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            with torch.profiler.record_function("marked"):
                return x * 2

    p = flopsight.profile(Marked(), torch.randn(3, 4))
    assert p.uncounted_ops == {}
    assert p.communication_ops == {}
    assert p.forward.flops == 3 * 4  # the multiply only


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_masked_scatter_backward_is_free(device: str) -> None:
    mask = torch.tensor([[True, False, True], [False, True, False]], device=device)
    source = torch.randn(6, device=device, requires_grad=True)

    class Scatter(nn.Module):
        def forward(self, x: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
            return x.masked_scatter(mask, src)

    p = flopsight.profile(Scatter(), torch.zeros(2, 3, device=device), source, backward=True)
    assert p.uncounted_ops == {}


def test_fsdp_copies_are_free_and_found_by_name() -> None:
    """fsdp's ops exist once fully_shard is imported; the registry matches them by name then."""
    import torch.distributed.fsdp  # noqa: F401  (defines torch.ops.fsdp)

    for op in ("all_gather_copy_in", "split_with_sizes_copy", "chunk_cat", "copy_"):
        assert REGISTRY.resolve(getattr(torch.ops.fsdp, op).default) is True
    for op in (torch.ops._c10d_functional.reduce_scatter_tensor.default, torch.ops.c10d.reduce_scatter_.default,
               torch.ops._c10d_functional.broadcast.default, torch.ops._c10d_functional.all_gather_into_tensor.default):
        assert REGISTRY.resolve(op) is COMMUNICATION


def test_communication_ops_survive_json() -> None:
    p = flopsight.profile(nn.Linear(2, 2), torch.randn(1, 2))
    p.communication_ops["c10d.allreduce_.default"] = 3
    assert flopsight.Profile.from_dict(json.loads(json.dumps(p.to_dict()))).communication_ops == {
        "c10d.allreduce_.default": 3
    }
