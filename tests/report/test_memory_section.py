"""The memory section: the figures it prints are the profile's, under each target."""

from __future__ import annotations

import torch
from torch import nn

import flopsight
from flopsight.report.memory import render_memory
from flopsight.report.units import format_bytes


def mlp(device: str) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8)).to(device)


def lines(text: str) -> dict[str, str]:
    return {label: value.strip() for label, value in (line.split(":", 1) for line in text.splitlines())}


def test_the_cuda_target_adds_reserved_context_and_device_total() -> None:
    model = mlp("meta")
    optimizer = torch.optim.AdamW(model.parameters())
    p = flopsight.profile(model, torch.randn(4, 16, device="meta"), backward=True, optimizer=optimizer, memory=True,
                          cuda_context_bytes=500 * 2**20)
    memory = p.memory
    assert memory is not None and memory.reserved_bytes is not None
    shown = lines(render_memory(p))
    assert shown["Target"].startswith("cuda (simulated on meta): as a CUDA device holds it")
    assert shown["Peak"] == f"{format_bytes(memory.peak_bytes)}, in the optimizer step"
    assert shown["Reserved (estimate)"].startswith(format_bytes(memory.reserved_bytes))
    assert shown["CUDA context"].startswith("500 MiB")
    assert shown["Device total"].startswith(format_bytes(memory.reserved_bytes + 500 * 2**20))
    assert shown["Optimizer state"] == format_bytes(memory.optimizer_bytes)


def test_a_cpu_run_states_its_own_kernels_and_no_allocator_lines() -> None:
    p = flopsight.profile(mlp("cpu"), torch.randn(4, 16), backward=True, memory=True)
    shown = lines(render_memory(p))
    assert shown["Target"] == "cpu: what the run's kernels allocated"
    assert "Reserved (estimate)" not in shown and "CUDA context" not in shown
    assert shown["Peak"].endswith("in the backward of 0 (Linear)")
    # every category live at the peak is listed with its bytes, and they add up to the peak
    assert p.memory is not None
    assert sum(p.memory.at_peak.values()) == p.memory.peak_bytes
    for key, value in p.memory.at_peak.items():
        if value:
            assert format_bytes(value) in shown["Live at the peak"], key
