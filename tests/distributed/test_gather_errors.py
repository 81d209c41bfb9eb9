"""``gather`` refuses in one line what it cannot do: no process group, or a profile measured
outside a distributed run; ``FlopsProfiler.gather`` while its window is open."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from flopsight.distributed import fake_world
from flopsight.errors import InputError


def test_gather_without_a_process_group_is_refused() -> None:
    profile = flopsight.profile(nn.Linear(2, 2), torch.zeros(1, 2))
    with pytest.raises(InputError, match="needs torch.distributed initialized"):
        flopsight.gather(profile)


def test_gather_of_a_profile_measured_outside_a_job_is_refused() -> None:
    profile = flopsight.profile(nn.Linear(2, 2), torch.zeros(1, 2))
    assert profile.distributed is None
    with fake_world(2, 0), pytest.raises(InputError, match="not measured in a distributed run"):
        flopsight.gather(profile)


def test_a_profiler_gathers_only_after_its_window() -> None:
    model = nn.Linear(2, 2)
    with fake_world(2, 0):
        profiler = flopsight.FlopsProfiler(model, timing_repeat=0)
        profiler.start_profile()
        model(torch.zeros(1, 2))
        with pytest.raises(InputError, match="after stop_profile"):
            profiler.gather()
        profiler.stop_profile()
        assert profiler.profile.distributed is not None
        assert profiler.profile.distributed.mesh == {"dp": 2}
