"""``fake_world``: a whole job's process group in one process, gone again on exit."""

from __future__ import annotations

import sys

import pytest
import torch.distributed as dist

from flopsight.distributed import fake_world
from flopsight.errors import InputError


def test_this_process_is_the_rank_asked_for_in_a_world_of_any_size() -> None:
    with fake_world(1024, rank=5):
        assert (dist.get_world_size(), dist.get_rank(), dist.get_backend()) == (1024, 5, "fake")
    assert not dist.is_initialized()


def test_it_leaves_no_trace_when_the_block_raises() -> None:
    hook = sys.excepthook
    with pytest.raises(ZeroDivisionError):
        with fake_world(8, rank=3):
            1 / 0
    assert not dist.is_initialized()
    assert sys.excepthook is hook


def test_an_initialized_process_group_is_refused_and_kept() -> None:
    with fake_world(2, rank=0):
        with pytest.raises(InputError, match="already initialized"):
            with fake_world(4, rank=1):
                pass
        assert dist.get_world_size() == 2  # the outer world is untouched
    assert not dist.is_initialized()


@pytest.mark.parametrize(("world", "rank"), [(0, 0), (4, 4), (4, -1)])
def test_sizes_out_of_range_are_refused(world: int, rank: int) -> None:
    with pytest.raises(InputError):
        with fake_world(world, rank=rank):
            pass
    assert not dist.is_initialized()
