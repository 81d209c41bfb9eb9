"""Where a run sat in a distributed job: its rank, the world, the mesh. Plain data, no torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DistributedInfo:
    """The rank a profile was measured on, and the job around it.

    Attributes:
        rank: this process's global rank.
        world_size: ranks in the job.
        backend: the process group backend ("nccl", "gloo", "fake" for a simulated job).
        mesh: each parallel dimension's size, by name ("dp", "tp", "pp", ...), from the
            DeviceMesh of the model's sharded parameters (and the pipeline split, if any);
            a data-parallel replica (DDP) with no mesh reads ``{"dp": world_size}``.
        mesh_coordinate: this rank's index along each mesh dimension.
        pipeline_stage: the stage this rank runs, when the model is split into stages.
    """

    rank: int
    world_size: int
    backend: str = ""
    mesh: dict[str, int] = field(default_factory=dict)
    mesh_coordinate: dict[str, int] = field(default_factory=dict)
    pipeline_stage: int | None = None

    @property
    def simulated(self) -> bool:
        return self.backend == "fake"

    def size(self, dim: str) -> int:
        """The size of mesh dimension ``dim``; 1 when the job does not use it."""
        return self.mesh.get(dim, 1)

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "world_size": self.world_size, "backend": self.backend, "mesh": dict(self.mesh),
                "mesh_coordinate": dict(self.mesh_coordinate), "pipeline_stage": self.pipeline_stage}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DistributedInfo":
        stage = data.get("pipeline_stage")
        return cls(rank=int(data["rank"]), world_size=int(data["world_size"]), backend=str(data.get("backend", "")),
                   mesh={str(k): int(v) for k, v in data.get("mesh", {}).items()},
                   mesh_coordinate={str(k): int(v) for k, v in data.get("mesh_coordinate", {}).items()},
                   pipeline_stage=None if stage is None else int(stage))
