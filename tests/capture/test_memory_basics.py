"""The memory instrument on a small MLP: figures derived by hand, and PyTorch's MemTracker."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import flopsight

F32 = 4  # bytes per float32 element


def mlp(device: str = "cpu") -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8)).to(device)


PARAMS = (16 * 32 + 32 + 32 * 8 + 8) * F32  # 3,232
INPUT = 4 * 16 * F32  # x [4, 16]
HIDDEN = 4 * 32 * F32  # each of h1 = x W1^T + b1 and h2 = relu(h1), [4, 32]
OUTPUT = 4 * 8 * F32  # y [4, 8]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_forward_only_holds_no_activation_and_peaks_at_the_relu(device: str) -> None:
    # as-run: each storage's own bytes (a meta run defaults to the CUDA target, tests/capture/test_memory_cuda_target.py)
    with torch.no_grad():  # an inference run: autograd saves nothing
        p = flopsight.profile(mlp(device), torch.randn(4, 16, device=device), memory=True, memory_target="as-run")
    memory = p.memory
    assert memory is not None and memory.target == device
    # At the ReLU: parameters, x, h1 (its input) and h2 (its output) are live.
    assert memory.peak_bytes == PARAMS + INPUT + 2 * HIDDEN
    assert (memory.peak_module, memory.peak_phase) == ("1", flopsight.Phase.FORWARD)
    assert memory.activation_bytes == 0  # nothing is saved for a backward under no grad
    assert memory.parameter_bytes == PARAMS and memory.input_bytes == INPUT and memory.output_bytes == OUTPUT
    assert p.module("0").memory.output_bytes == HIDDEN  # type: ignore[union-attr]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_backward_keeps_the_relu_output_as_the_only_activation(device: str) -> None:
    p = flopsight.profile(mlp(device), torch.randn(4, 16, device=device), backward=True, memory=True,
                          memory_target="as-run")
    memory = p.memory
    assert memory is not None
    # ReLU saves its result h2 (the second Linear saves the same h2); h1 is freed after the ReLU.
    assert memory.activation_bytes == HIDDEN
    assert p.module("1").memory.activation_bytes == HIDDEN  # type: ignore[union-attr]
    assert p.module("0").memory.activation_bytes == 0  # type: ignore[union-attr]
    assert p.module("").memory.activation_bytes == HIDDEN  # type: ignore[union-attr]
    assert memory.gradient_bytes == PARAMS  # one gradient per parameter, none for x


def test_the_peak_agrees_with_pytorchs_mem_tracker_on_cpu() -> None:
    mem_tracker = pytest.importorskip("torch.distributed._tools.mem_tracker")
    model, x = mlp(), torch.randn(4, 16)
    tracker = mem_tracker.MemTracker()
    tracker.track_external(model, x)
    with tracker:  # the output held through the backward, as flopsight's run and most loops hold it
        output = model(x)
        output.sum().backward()
    reference = tracker.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]
    model.zero_grad(set_to_none=True)
    p = flopsight.profile(model, x, backward=True, memory=True)
    assert p.memory is not None and p.memory.peak_bytes == reference


def test_memory_survives_a_json_round_trip_and_renders_the_same() -> None:
    p = flopsight.profile(mlp(), torch.randn(4, 16), backward=True, memory=True)
    back = flopsight.Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back.memory == p.memory and back.memory.record == p.memory.record  # type: ignore[union-attr]
    assert back.module("1").memory == p.module("1").memory
    assert str(back) == str(p)
    assert "activations" in str(p) and "Memory\n------" in str(p)


def test_without_memory_nothing_changes_in_the_report() -> None:
    p = flopsight.profile(mlp(), torch.randn(4, 16))
    assert p.memory is None and p.module("0").memory is None
    assert "memory" not in p.to_dict() and "activations" not in str(p)
