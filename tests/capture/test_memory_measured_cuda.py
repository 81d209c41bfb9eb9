"""On a real CUDA device the memory report carries torch.cuda's own figures beside the simulated
ones. The arithmetic that makes them comparable is tested everywhere; the agreement (the issue's
targets: allocated peak within 2 %, reserved within 5 %) only where a GPU is present."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import flopsight
from flopsight.report.memory import render_memory
from flopsight.tree.memory import summarize_memory


def mlp(device: str) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 256)).to(device)


def test_measured_figures_replace_the_starting_allocations_by_what_the_record_held() -> None:
    p = flopsight.profile(mlp("cpu"), torch.randn(64, 256), backward=True, memory=True)
    assert p.memory is not None and p.memory.measured_peak_bytes is None  # no CUDA device: nothing measured
    record = p.memory.record
    # As torch.cuda would report a run that started with 5 MiB of the user's own tensors on the
    # device besides the model (held = parameters + input, what the record held before any op).
    held = p.memory.parameter_bytes + p.memory.input_bytes
    record.measured = {"start_allocated": held + 5 * 2**20, "peak_allocated": p.memory.peak_bytes + 5 * 2**20 + 4096,
                       "peak_reserved": 8 * 2**20}
    summary = summarize_memory(record).summary
    assert summary.measured_peak_bytes == p.memory.peak_bytes + 4096
    assert summary.measured_reserved_bytes == 8 * 2**20
    again = type(summary).from_dict(json.loads(json.dumps(summary.to_dict())))
    assert (again.measured_peak_bytes, again.measured_reserved_bytes) == (p.memory.peak_bytes + 4096, 8 * 2**20)


def test_the_section_shows_the_measured_peak_and_how_far_the_simulation_is() -> None:
    p = flopsight.profile(mlp("cpu"), torch.randn(64, 256), backward=True, memory=True)
    assert p.memory is not None
    held = p.memory.parameter_bytes + p.memory.input_bytes
    p.memory.record.measured = {"start_allocated": held, "peak_allocated": p.memory.peak_bytes * 2,
                                "peak_reserved": 2**30}
    p.memory = summarize_memory(p.memory.record).summary
    text = render_memory(p)
    assert "Measured peak:" in text and "simulated -50%" in text
    assert "1 GiB (torch.cuda.max_memory_reserved)" in text.split("Measured reserved:")[1]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("optimizer", [False, True])
def test_on_cuda_the_simulated_peaks_meet_the_measured_ones(optimizer: bool) -> None:
    model = mlp("cuda")
    step = torch.optim.AdamW(model.parameters()) if optimizer else None
    p = flopsight.profile(model, torch.randn(64, 256, device="cuda"), backward=True, optimizer=step, memory=True)
    memory = p.memory
    assert memory is not None and memory.measured_peak_bytes is not None
    assert abs(memory.peak_bytes - memory.measured_peak_bytes) <= 0.02 * memory.measured_peak_bytes
    assert memory.reserved_bytes is not None and memory.measured_reserved_bytes is not None
    assert abs(memory.reserved_bytes - memory.measured_reserved_bytes) <= 0.05 * memory.measured_reserved_bytes
