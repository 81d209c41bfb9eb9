"""How the distributed reports name a mesh, a rank's place in it, and the rank itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:
    from ..records.distributed import DistributedInfo

__all__ = ["coordinate_text", "mesh_text", "rank_text", "span_text"]


def mesh_text(mesh: Mapping[str, int]) -> str:
    """``{"dp": 2, "tp": 4}`` -> ``"dp=2 tp=4"``."""
    return " ".join(f"{name}={size}" for name, size in mesh.items())


def coordinate_text(coordinate: Mapping[str, int]) -> str:
    """``{"dp": 0, "tp": 3}`` -> ``"dp0 tp3"``."""
    return " ".join(f"{name}{index}" for name, index in coordinate.items())


def span_text(coordinates: Iterable[Mapping[str, int]]) -> str:
    """The smallest box of mesh indices holding every coordinate: ``"dp0-1 tp0-3"``; a dimension
    they share reads as one index (``"dp1 tp0-3"``)."""
    lowest: dict[str, int] = {}
    highest: dict[str, int] = {}
    for coordinate in coordinates:
        for name, index in coordinate.items():
            lowest[name] = min(lowest.get(name, index), index)
            highest[name] = max(highest.get(name, index), index)
    return " ".join(name + (str(low) if low == highest[name] else f"{low}-{highest[name]}")
                    for name, low in lowest.items())


def rank_text(info: DistributedInfo) -> str:
    """``"3 of 8 (nccl; mesh dp=2 tp=4, at dp0 tp3)"``, with the pipeline stage when there is one."""
    backend = "fake: a simulated job" if info.simulated else info.backend
    details = [backend] if backend else []
    if info.mesh:
        at = f", at {coordinate_text(info.mesh_coordinate)}" if info.mesh_coordinate else ""
        details.append(f"mesh {mesh_text(info.mesh)}{at}")
    if info.pipeline_stage is not None:
        details.append(f"pipeline stage {info.pipeline_stage}")
    return f"{info.rank} of {info.world_size}" + (f" ({'; '.join(details)})" if details else "")
