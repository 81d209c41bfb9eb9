"""The plain figures of a simulated job: its mesh and, per pipeline stage, what one rank of that
stage holds, computes and sends. No torch here: the figures serialize and read back as is.

Counts are per rank and per step (one optimizer step over the rank's whole batch); a stage's
FLOPs per step are its per-microbatch FLOPs times the microbatches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..records.distributed import DistributedInfo

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class MeshShape:
    """The job's parallel degrees; the world is their product."""

    pp: int
    dp: int
    tp: int

    @property
    def world_size(self) -> int:
        return self.pp * self.dp * self.tp

    @property
    def ranks_per_stage(self) -> int:
        return self.dp * self.tp

    def stage_of(self, rank: int) -> int:
        """Pipeline stage of ``rank``: pp is the outermost mesh dim."""
        return rank // self.ranks_per_stage

    def coordinate(self, rank: int) -> dict[str, int]:
        """``rank``'s index along pp, dp and tp (row-major, tp innermost).

        Example:
            >>> MeshShape(pp=2, dp=2, tp=2).coordinate(5)
            {'pp': 1, 'dp': 0, 'tp': 1}
        """
        return {"pp": rank // self.ranks_per_stage, "dp": rank // self.tp % self.dp, "tp": rank % self.tp}

    def describe(self, rank: int) -> DistributedInfo:
        """Where ``rank`` sits in the simulated job, as a Profile records it."""
        return DistributedInfo(rank=rank, world_size=self.world_size, backend="fake",
                               mesh={"pp": self.pp, "dp": self.dp, "tp": self.tp},
                               mesh_coordinate=self.coordinate(rank), pipeline_stage=self.stage_of(rank))

    def to_dict(self) -> dict[str, int]:
        return {"pp": self.pp, "dp": self.dp, "tp": self.tp, "world_size": self.world_size}


@dataclass(frozen=True, slots=True)
class StageFigures:
    """One pipeline stage, as seen by the rank simulated for it.

    Attributes:
        stage: its index, 0 first.
        layers: the model's decoder layers it runs, [start, stop).
        ranks: the job's ranks in it, [first, stop).
        simulated_rank: the rank that was run (with rank R's dp and tp coordinates).
        local_params: parameter elements that rank stores (its FSDP and TP shards).
        params: the stage's parameters unsharded (the whole stage's model).
        forward_flops, backward_flops: per microbatch, as the Profile counts them.
        send_forward_bytes: hidden states sent to the next stage per microbatch (0 on the last).
        send_backward_bytes: their gradient sent to the previous stage per microbatch (0 on the
            first, and without backward).
    """

    stage: int
    layers: tuple[int, int]
    ranks: tuple[int, int]
    simulated_rank: int
    local_params: int
    params: int
    forward_flops: int
    backward_flops: int
    send_forward_bytes: int
    send_backward_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage, "layers": list(self.layers), "ranks": list(self.ranks),
            "simulated_rank": self.simulated_rank, "local_params": self.local_params, "params": self.params,
            "forward_flops": self.forward_flops, "backward_flops": self.backward_flops,
            "send_forward_bytes": self.send_forward_bytes, "send_backward_bytes": self.send_backward_bytes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageFigures:
        return cls(
            stage=int(data["stage"]), layers=(int(data["layers"][0]), int(data["layers"][1])),
            ranks=(int(data["ranks"][0]), int(data["ranks"][1])), simulated_rank=int(data["simulated_rank"]),
            local_params=int(data["local_params"]), params=int(data["params"]),
            forward_flops=int(data["forward_flops"]), backward_flops=int(data["backward_flops"]),
            send_forward_bytes=int(data["send_forward_bytes"]), send_backward_bytes=int(data["send_backward_bytes"]),
        )


@dataclass(frozen=True, slots=True)
class JobFigures:
    """A simulated job: its mesh, the rank asked for, the inputs and every stage's figures.

    Attributes:
        mesh: pp x dp x tp.
        rank: the rank whose Profile the simulation returns.
        fsdp: parameters sharded over dp (else replicated).
        batch_size: sequences per data-parallel rank per step (the global batch is dp times it).
        seq_len: tokens per sequence.
        microbatches: how many microbatches a step's batch is cut into (1 without pp).
        bubble_fraction: share of a step each stage idles, (pp - 1) / (m + pp - 1).
        stages: one per pipeline stage, first to last.
    """

    mesh: MeshShape
    rank: int
    fsdp: bool
    batch_size: int
    seq_len: int
    microbatches: int
    bubble_fraction: float
    stages: tuple[StageFigures, ...]

    @property
    def rank_stage(self) -> StageFigures:
        """The stage that ``rank`` belongs to."""
        return self.stages[self.mesh.stage_of(self.rank)]

    @property
    def step_flops(self) -> int:
        """FLOPs of one step over every rank of the job: each stage's dp x tp ranks, each
        running its microbatches forward and backward."""
        per_rank = [(s.forward_flops + s.backward_flops) * self.microbatches for s in self.stages]
        return sum(per_rank) * self.mesh.ranks_per_stage

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION, "mesh": self.mesh.to_dict(), "rank": self.rank, "fsdp": self.fsdp,
            "batch_size": self.batch_size, "seq_len": self.seq_len, "microbatches": self.microbatches,
            "bubble_fraction": self.bubble_fraction, "step_flops": self.step_flops,
            "stages": [stage.to_dict() for stage in self.stages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobFigures:
        mesh = data["mesh"]
        return cls(
            mesh=MeshShape(pp=int(mesh["pp"]), dp=int(mesh["dp"]), tp=int(mesh["tp"])), rank=int(data["rank"]),
            fsdp=bool(data["fsdp"]), batch_size=int(data["batch_size"]), seq_len=int(data["seq_len"]),
            microbatches=int(data["microbatches"]), bubble_fraction=float(data["bubble_fraction"]),
            stages=tuple(StageFigures.from_dict(stage) for stage in data["stages"]),
        )
