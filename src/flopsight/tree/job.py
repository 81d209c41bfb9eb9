"""A whole distributed job: each rank's figures side by side, the mesh, and the job's totals.

Plain data, no torch. ``JobProfile.from_profiles`` reads one ``Profile`` per rank (gathered
from a real run, or simulated: one rank per distinct pipeline stage standing for every rank
of its stage). Totals follow DeepSpeed's reading of "per GPU" and "of model":

- ``params_of_model``: the global unique parameter count: each stage's global (logical) count,
  summed over pipeline stages. A parameter sharded or replicated across ranks counts once.
- FLOPs, MACs, payload and bus bytes of the job: summed over every rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import InputError
from ..records import OpCost
from ..records.communication import Collective, CommTotals, ProcessGroupInfo
from ..records.distributed import DistributedInfo
from .profile import Profile

JOB_SCHEMA_VERSION = 1

# One row of a rank's communication: (kind, group label, group size).
CommRowKey = tuple[Collective, str, int]


@dataclass(slots=True)
class RankFigures:
    """One rank's figures (of the profile measured on it, or of the rank standing for it).

    ``params`` is the global count of the parameters this rank's stage holds shards of;
    ``local_params`` / ``local_param_bytes`` what it holds. ``comm`` sums its collectives by
    (kind, group label, group size), every module and phase together.
    """

    rank: int
    mesh_coordinate: dict[str, int] = field(default_factory=dict)
    pipeline_stage: int | None = None
    params: int = 0
    local_params: int = 0
    local_param_bytes: int = 0
    forward: OpCost = field(default_factory=OpCost)
    backward: OpCost = field(default_factory=OpCost)
    recompute: OpCost = field(default_factory=OpCost)
    peak_memory_bytes: int | None = None
    comm: dict[CommRowKey, CommTotals] = field(default_factory=dict)
    simulated_as: int | None = None  # the rank whose run these figures are, when not this one

    @property
    def total_flops(self) -> int:
        return self.forward.flops + self.backward.flops + self.recompute.flops

    @property
    def bus_bytes(self) -> float:
        return sum(t.bus_bytes for t in self.comm.values())

    @property
    def payload_bytes(self) -> int:
        return sum(t.payload_bytes for t in self.comm.values())

    @classmethod
    def of(cls, profile: Profile) -> "RankFigures":
        """The figures of the rank ``profile`` was measured on."""
        info = profile.distributed
        return cls(
            rank=info.rank if info is not None else 0,
            mesh_coordinate=dict(info.mesh_coordinate) if info is not None else {},
            pipeline_stage=info.pipeline_stage if info is not None else None,
            params=profile.params,
            local_params=profile.local_params,
            local_param_bytes=profile.local_param_bytes,
            forward=profile.forward,
            backward=profile.backward,
            recompute=profile.recompute,
            peak_memory_bytes=None if profile.memory is None else profile.memory.peak_bytes,
            comm=comm_rows(profile),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "mesh_coordinate": dict(self.mesh_coordinate), "pipeline_stage": self.pipeline_stage,
            "params": self.params, "local_params": self.local_params, "local_param_bytes": self.local_param_bytes,
            "forward": self.forward.to_dict(), "backward": self.backward.to_dict(),
            "recompute": self.recompute.to_dict(), "peak_memory_bytes": self.peak_memory_bytes,
            "comm": [{"kind": kind.value, "group": label, "group_size": size, **t.to_dict()}
                     for (kind, label, size), t in self.comm.items()],
            "simulated_as": self.simulated_as,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RankFigures":
        stage, peak, like = data.get("pipeline_stage"), data.get("peak_memory_bytes"), data.get("simulated_as")
        return cls(
            rank=int(data["rank"]),
            mesh_coordinate={str(k): int(v) for k, v in data.get("mesh_coordinate", {}).items()},
            pipeline_stage=None if stage is None else int(stage),
            params=int(data.get("params", 0)), local_params=int(data.get("local_params", 0)),
            local_param_bytes=int(data.get("local_param_bytes", 0)),
            forward=OpCost.from_dict(data.get("forward", {})), backward=OpCost.from_dict(data.get("backward", {})),
            recompute=OpCost.from_dict(data.get("recompute", {})),
            peak_memory_bytes=None if peak is None else int(peak),
            comm={(Collective(row["kind"]), str(row["group"]), int(row["group_size"])): CommTotals.from_dict(row)
                  for row in data.get("comm", [])},
            simulated_as=None if like is None else int(like),
        )


def comm_rows(profile: Profile) -> dict[CommRowKey, CommTotals]:
    """A profile's collectives by (kind, group label, group size): the same row on every rank,
    though each rank's "dp" group is its own process group."""
    rows: dict[CommRowKey, CommTotals] = {}
    for (kind, name), totals in profile.communication().items():
        group = profile.process_groups.get(name, ProcessGroupInfo(name=name, size=0))
        key = (kind, group.label, group.size)
        rows[key] = rows.get(key, CommTotals()) + totals
    return rows


@dataclass(slots=True)
class JobProfile:
    """Every rank of a job, and the job's mesh and totals.

    Attributes:
        ranks: one ``RankFigures`` per rank, by rank.
        world_size, backend, mesh: the job (``mesh`` names each parallel dimension's size).
        pipeline_bubble: the fraction of a step each stage idles, when the job is pipelined
            and its schedule is known (GPipe / 1F1B: (pp-1)/(m+pp-1) for m microbatches).
        metadata: the first rank's profile metadata (conventions, model, inputs).
        microbatches: with a pipeline, the microbatches each step runs; each rank's figures
            are then those of one microbatch, and a step's are ``microbatches`` times them.
    """

    ranks: list[RankFigures]
    world_size: int
    backend: str = ""
    mesh: dict[str, int] = field(default_factory=dict)
    pipeline_bubble: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    microbatches: int = 1

    @classmethod
    def from_profiles(cls, profiles: Iterable[Profile], *, world_size: int | None = None,
                      stand_ins: dict[int, int] | None = None, pipeline_bubble: float | None = None) -> "JobProfile":
        """The job of ``profiles``, one per rank (each carrying ``distributed``).

        ``stand_ins`` maps a rank with no profile of its own to the rank whose profile stands
        for it (a simulated job runs one rank per distinct stage)."""
        profiles = list(profiles)
        if not profiles:
            raise InputError("a job needs at least one rank's profile")
        first = min(profiles, key=lambda p: p.distributed.rank if p.distributed is not None else 0)
        info = first.distributed or DistributedInfo(rank=0, world_size=1)
        return cls.from_ranks([RankFigures.of(p) for p in profiles], info, metadata=first.metadata,
                              world_size=world_size, stand_ins=stand_ins, pipeline_bubble=pipeline_bubble)

    @classmethod
    def from_ranks(cls, measured_ranks: Iterable[RankFigures], info: DistributedInfo, *, metadata: dict[str, Any],
                   world_size: int | None = None, stand_ins: dict[int, int] | None = None,
                   pipeline_bubble: float | None = None) -> "JobProfile":
        """The job of each rank's figures; ``info`` (any rank's) gives the world and mesh."""
        measured = {figures.rank: figures for figures in measured_ranks}
        world = world_size if world_size is not None else info.world_size
        ranks: list[RankFigures] = []
        for rank in range(world):
            source = rank if rank in measured else (stand_ins or {}).get(rank)
            if source is None or source not in measured:
                raise InputError(f"no profile for rank {rank} of {world}: gather every rank, or say which rank stands for it")
            figures = measured[source]
            if source != rank:
                figures = RankFigures.from_dict({**figures.to_dict(), "rank": rank, "simulated_as": source,
                                                 "mesh_coordinate": _coordinate(rank, info.mesh)})
            ranks.append(figures)
        return cls(ranks=ranks, world_size=world, backend=info.backend, mesh=dict(info.mesh),
                   pipeline_bubble=pipeline_bubble, metadata=dict(metadata))

    def size(self, dim: str) -> int:
        return self.mesh.get(dim, 1)

    @property
    def model_parallel_size(self) -> int:
        """DeepSpeed's mp_size: the ranks one copy of the model is split over (tp x pp x ...),
        every mesh dimension but data parallel (dp, and FSDP's shard dim, which hold copies or
        shards of the same parameters)."""
        size = 1
        for name, extent in self.mesh.items():
            if name not in _DATA_PARALLEL:
                size *= extent
        return size

    @property
    def data_parallel_size(self) -> int:
        size = 1
        for name, extent in self.mesh.items():
            if name in _DATA_PARALLEL:
                size *= extent
        return size

    @property
    def params_of_model(self) -> int:
        """Global unique parameters: each pipeline stage's global count, stages summed."""
        by_stage: dict[int | None, int] = {}
        for figures in self.ranks:
            by_stage.setdefault(figures.pipeline_stage, figures.params)
        return sum(by_stage.values())

    @property
    def forward(self) -> OpCost:
        return _sum_costs(r.forward for r in self.ranks)

    @property
    def backward(self) -> OpCost:
        return _sum_costs(r.backward for r in self.ranks)

    @property
    def total_flops(self) -> int:
        return sum(r.total_flops for r in self.ranks)

    @property
    def step_flops(self) -> int:
        """FLOPs of one training step of the whole job: every microbatch of every rank."""
        return self.microbatches * self.total_flops

    def communication(self) -> dict[CommRowKey, CommTotals]:
        """The job's collectives summed over ranks, by (kind, group label, group size)."""
        totals: dict[CommRowKey, CommTotals] = {}
        for figures in self.ranks:
            for key, t in figures.comm.items():
                totals[key] = totals.get(key, CommTotals()) + t
        return dict(sorted(totals.items(), key=lambda item: -item[1].bus_bytes))

    def to_dict(self) -> dict[str, Any]:
        return {"job_schema_version": JOB_SCHEMA_VERSION, "world_size": self.world_size, "backend": self.backend,
                "mesh": dict(self.mesh), "pipeline_bubble": self.pipeline_bubble, "metadata": self.metadata,
                "microbatches": self.microbatches,
                "summary": {"params_of_model": self.params_of_model, "total_flops": self.total_flops},
                "ranks": [r.to_dict() for r in self.ranks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobProfile":
        version = data.get("job_schema_version")
        if version != JOB_SCHEMA_VERSION:
            raise InputError(f"job profile schema version {version!r} is not supported (expected {JOB_SCHEMA_VERSION})")
        bubble = data.get("pipeline_bubble")
        return cls(ranks=[RankFigures.from_dict(r) for r in data["ranks"]], world_size=int(data["world_size"]),
                   backend=str(data.get("backend", "")), mesh={str(k): int(v) for k, v in data.get("mesh", {}).items()},
                   pipeline_bubble=None if bubble is None else float(bubble), metadata=dict(data.get("metadata", {})),
                   microbatches=int(data.get("microbatches", 1)))


# Mesh dimensions over which ranks hold copies or shards of the same parameters.
_DATA_PARALLEL = frozenset({"dp", "dp_replicate", "dp_shard", "fsdp", "world"})


def _coordinate(rank: int, mesh: dict[str, int]) -> dict[str, int]:
    """A rank's index along each dimension of a row-major mesh (the first dimension outermost)."""
    coordinate: dict[str, int] = {}
    rest = rank
    for name in reversed(list(mesh)):
        coordinate[name] = rest % mesh[name]
        rest //= mesh[name]
    return dict(reversed(list(coordinate.items())))


def _sum_costs(costs: Iterable[OpCost]) -> OpCost:
    total = OpCost()
    for cost in costs:
        total = total + cost
    return total
