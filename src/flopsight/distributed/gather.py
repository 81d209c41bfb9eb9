"""Every rank's figures on one rank: the job's per-rank table, totals and mesh.

Each rank sends a few hundred bytes (its ``RankFigures``, not its module tree) through
torch.distributed's own ``gather_object``, on the default group or the one given.
"""

from __future__ import annotations

from typing import Any

import torch.distributed as dist

from ..errors import InputError
from ..records.distributed import DistributedInfo
from ..tree import Profile
from ..tree.job import JobProfile, RankFigures

__all__ = ["gather"]


def gather(profile: Profile, *, dst: int = 0, group: Any = None) -> JobProfile | None:
    """Collect every rank's figures on rank ``dst``: call it on every rank.

    Args:
        profile: this rank's profile (``flopsight.profile`` in the distributed run).
        dst: the rank that receives the job.
        group: the process group to gather over (default: the whole world).

    Returns:
        On ``dst``, the ``JobProfile`` (per-rank table, totals, mesh); None on other ranks.

    Example (under ``torchrun --nproc-per-node 2``)::

        prof = flopsight.profile(model, batch, backward=True)
        job = flopsight.gather(prof)
        if job is not None:
            print(flopsight.report.render_job(job))
    """
    if not (dist.is_available() and dist.is_initialized()):
        raise InputError("gather() needs torch.distributed initialized (init_process_group) on every rank")
    info = profile.distributed
    if info is None:
        raise InputError("this profile was not measured in a distributed run; gather() collects one profile per rank")
    figures = RankFigures.of(profile).to_dict()
    world = dist.get_world_size(group)
    received: list[Any] | None = [None] * world if dist.get_rank() == dst else None
    dist.gather_object(figures, received, dst=dst, group=group)
    if received is None:
        return None
    ranks = [RankFigures.from_dict(item) for item in received]
    job_info = info if group is None else DistributedInfo(rank=info.rank, world_size=world, backend=info.backend,
                                                          mesh=info.mesh, mesh_coordinate=info.mesh_coordinate)
    return JobProfile.from_ranks(ranks, job_info, metadata=profile.metadata)
