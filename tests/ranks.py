"""Run a function on N gloo ranks in spawned processes, as a real distributed job would.

Rendezvous goes through a file, not a TCP port picked beforehand, so two runs at once (or any
other process) cannot take each other's port. Each rank's return value comes back pickled.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Callable

import torch.distributed as dist
import torch.multiprocessing as mp


def run_on_ranks(work: Callable[[int], Any], world: int, folder: Path) -> list[Any]:
    """``work(rank)`` on each of ``world`` gloo ranks; their results, by rank."""
    folder.mkdir(parents=True, exist_ok=True)
    results = [Path(folder, f"rank{rank}.pkl") for rank in range(world)]
    try:
        mp.spawn(_rank, args=(work, world, str(folder)), nprocs=world, join=True)
    except mp.ProcessExitedException:
        # A rank killed by a signal after it wrote its result (gloo's threads, seen once as
        # "terminate called without an active exception" at exit) did all its work; a rank
        # that died before writing it did not, and fails the run.
        if not all(result.exists() for result in results):
            raise
    return [pickle.loads(result.read_bytes()) for result in results]


def _rank(rank: int, work: Callable[[int], Any], world: int, folder: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
    try:
        result = work(rank)
        # Every rank done before any tears down: gloo aborts a process whose peer left mid-way.
        dist.barrier()
    finally:
        dist.destroy_process_group()
    Path(folder, f"rank{rank}.pkl").write_bytes(pickle.dumps(result))
