"""tree/memory_timeline.py: the bytes live per category at each op, against the summary and by hand."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import flopsight
import zoo
from flopsight.records.memory import Category
from flopsight.tree.memory import live_bytes
from flopsight.tree.memory_timeline import memory_timeline

F32 = 4
PARAMS = (16 * 32 + 32 + 32 * 8 + 8) * F32  # Linear(16, 32), Linear(32, 8)
INPUT = 4 * 16 * F32  # x [4, 16]
HIDDEN = 4 * 32 * F32  # h1 = fc1(x) and h2 = relu(h1), [4, 32] each


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))


@pytest.fixture(scope="module")
def trained() -> flopsight.Profile:
    torch.manual_seed(0)
    return flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (2, 6)), backward=True, memory=True)


@pytest.mark.parametrize("backward", [False, True])
def test_the_total_peaks_at_the_summarys_peak_where_it_says(backward: bool) -> None:
    p = flopsight.profile(mlp(), torch.randn(4, 16), backward=backward, memory=True)
    memory = p.memory
    assert memory is not None
    timeline = memory_timeline(memory.record)
    total = timeline.total
    peak = max(range(len(total)), key=total.__getitem__)
    assert total[peak] == memory.peak_bytes
    assert (timeline.paths[peak], timeline.phases[peak]) == (memory.peak_module, memory.peak_phase)
    assert {c: values[peak] for c, values in timeline.by_category.items()} == memory.at_peak


def test_categories_sum_to_everything_live_at_every_tick(trained: flopsight.Profile) -> None:
    memory = trained.memory
    assert memory is not None
    timeline = memory_timeline(memory.record)
    ticks = len(memory.record.paths)
    assert list(timeline.by_category) == [str(c) for c in Category]
    assert all(len(values) == ticks for values in timeline.by_category.values())
    assert timeline.total == live_bytes(memory.record)[1:]  # the summary's own count, op by op
    assert timeline.paths == memory.record.paths and timeline.phases == memory.record.phases
    assert set(timeline.phases) == {flopsight.Phase.FORWARD, flopsight.Phase.BACKWARD}


def test_the_relu_tick_by_hand() -> None:
    with torch.no_grad():  # an inference run: no graph holds h2 after the forward
        p = flopsight.profile(mlp(), torch.randn(4, 16), memory=True)
    assert p.memory is not None
    timeline = memory_timeline(p.memory.record)
    relu = [i for i, path in enumerate(timeline.paths) if path == "1"]
    assert relu  # the ReLU's ops (the op and what autograd adds around it)
    for tick in relu:
        live = {c: values[tick] for c, values in timeline.by_category.items() if values[tick]}
        # Inference: h1 (freed after the ReLU) and h2 (after fc2) are temporaries.
        assert live == {"parameter": PARAMS, "input": INPUT, "temporary": 2 * HIDDEN}


def test_the_json_carries_it_and_reading_back_derives_it_again(trained: flopsight.Profile) -> None:
    data = json.loads(json.dumps(trained.to_dict()))
    assert trained.memory is not None
    written = data["memory"]["timeline"]
    assert written == memory_timeline(trained.memory.record).to_dict()
    assert list(written) == ["paths", "phases", *[str(c) for c in Category]]
    assert written["phases"][0] == "forward" and len(written["paths"]) == len(written["parameter"])
    again = flopsight.Profile.from_dict(data)
    assert again.to_dict() == data
    data["memory"]["timeline"] = {"paths": ["ignored"]}  # derived: reading never uses it
    assert flopsight.Profile.from_dict(data).to_dict() == again.to_dict()


def test_without_memory_there_is_no_timeline() -> None:
    assert "memory" not in flopsight.profile(mlp(), torch.randn(4, 16)).to_dict()
