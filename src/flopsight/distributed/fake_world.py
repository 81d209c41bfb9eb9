"""A whole distributed job's process group in one process: PyTorch's "fake" backend.

The fake backend (``torch.testing._internal.distributed.fake_pg``) answers every collective at
once without moving a byte, so ``init_device_mesh``, ``parallelize_module`` and ``fully_shard``
build exactly the shards, meshes and collectives that one rank of a real job of any size would,
with no peer processes. Combined with fake tensors (no storage), one CPU process stands in for
rank R of a 1,024-GPU job.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

import torch.distributed as dist

from ..errors import InputError


@contextlib.contextmanager
def fake_world(world_size: int, rank: int = 0) -> Iterator[None]:
    """Make this process rank ``rank`` of a ``world_size``-rank job on the fake backend.

    The process group is destroyed on exit, also when the block raises: afterwards
    ``torch.distributed.is_initialized()`` is False again.

    Args:
        world_size: how many ranks the simulated job has (at least 1).
        rank: which of them this process plays, ``0 <= rank < world_size``.

    Raises:
        InputError: a process group is already initialized (the fake one would replace a real
            job's), or the sizes are out of range.

    Example:
        >>> import torch.distributed as dist
        >>> with fake_world(1024, rank=5):
        ...     dist.get_world_size(), dist.get_rank()
        (1024, 5)
        >>> dist.is_initialized()
        False
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise InputError(f"world_size must be a positive int, got {world_size!r}")
    if not isinstance(rank, int) or not 0 <= rank < world_size:
        raise InputError(f"rank must be in 0..{world_size - 1}, got {rank!r}")
    if dist.is_initialized():
        raise InputError("a torch.distributed process group is already initialized; "
                         "simulate in a process that has none (destroy_process_group() first)")
    # Imported here: torch.testing._internal is heavy and only the simulation needs it.
    from torch.testing._internal.distributed.fake_pg import FakeStore

    # init_process_group installs a rank-prefixing sys.excepthook that destroy does not remove.
    excepthook = sys.excepthook
    _forget_meshes()
    dist.init_process_group("fake", store=FakeStore(), rank=rank, world_size=world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()
        sys.excepthook = excepthook
        _forget_meshes()


def _forget_meshes() -> None:
    """Empty DTensor's caches keyed by device meshes.

    A mesh equals any other of the same shape, names and rank map, also one of an earlier,
    destroyed world (``DeviceMesh.__eq__``), so a cached sharding of an earlier world would
    hand this one's DTensors a mesh whose process groups are gone ("Could not resolve the
    process group"). One job per process never meets this; several simulated worlds do.
    Emptying a cache only costs recomputation.
    """
    from torch.distributed.tensor import _redistribute, debug

    # DTensor's own way to empty both sharding caches, the Python one and the C++ fast path's.
    clear_sharding_caches: Any = debug._clear_sharding_prop_cache  # untyped
    clear_sharding_caches()
    transform_infos: Any = getattr(_redistribute, "_gen_transform_infos", None)  # private: may move
    if transform_infos is not None:
        transform_infos.cache_clear()
    planners: Any = getattr(_redistribute, "clear_redistribute_planner_cache", None)  # keyed by mesh too
    if planners is not None:
        planners()
