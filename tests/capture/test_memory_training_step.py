"""A whole training step: forward, backward and a real optimizer step, its state counted as the
optimizer allocates it, and everything put back afterwards."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import flopsight
from flopsight.errors import InputError


def mlp(device: str = "cpu") -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8)).to(device)


PARAM_BYTES = (16 * 32 + 32 + 32 * 8 + 8) * 4  # 3,232 bytes of float32 in 4 tensors


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("foreach", [False, True])
def test_adamw_keeps_two_moments_and_a_step_per_parameter(device: str, foreach: bool) -> None:
    model = mlp(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=foreach)
    p = flopsight.profile(model, torch.randn(4, 16, device=device), backward=True, optimizer=optimizer, memory=True,
                          memory_target="as-run")
    assert p.memory is not None
    # exp_avg and exp_avg_sq like each parameter, and one float32 step per parameter tensor
    assert p.memory.optimizer_bytes == 2 * PARAM_BYTES + 4 * 4
    assert p.memory.gradient_bytes == PARAM_BYTES
    assert p.memory.peak_phase is flopsight.Phase.OPTIMIZER
    assert p.metadata["optimizer"] == "AdamW"


def test_on_meta_the_cuda_target_holds_each_moment_in_512_byte_blocks() -> None:
    model = mlp("meta")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    p = flopsight.profile(model, torch.randn(4, 16, device="meta"), backward=True, optimizer=optimizer, memory=True)
    assert p.memory is not None and p.memory.target.startswith("cuda")
    # W1 2,048 and W2 1,024 bytes fill whole blocks; b1 (128) and b2 (32) take one 512-byte block
    # each, as does each 4-byte step (a CPU tensor beside a CUDA model; counted here all the same).
    moments = 2048 + 512 + 1024 + 512
    assert p.memory.optimizer_bytes == 2 * moments + 4 * 512


@pytest.mark.parametrize("foreach", [False, True])
def test_the_peak_of_a_training_step_equals_mem_trackers(foreach: bool) -> None:
    mem_tracker = pytest.importorskip("torch.distributed._tools.mem_tracker")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 512), nn.GELU(), nn.Linear(512, 256), nn.LayerNorm(256))
    x = torch.randn(4, 256)
    reference_model = copy.deepcopy(model)
    reference_optimizer = torch.optim.AdamW(reference_model.parameters(), lr=1e-3, foreach=foreach)
    tracker = mem_tracker.MemTracker()
    tracker.track_external(reference_model, reference_optimizer, x)
    with tracker:
        output = reference_model(x)
        output.sum().backward()
        reference_optimizer.step()
    reference = tracker.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=foreach)
    p = flopsight.profile(model, x, backward=True, optimizer=optimizer, memory=True)
    assert p.memory is not None and p.memory.peak_bytes == reference


def test_the_step_leaves_weights_gradients_and_optimizer_state_as_they_were() -> None:
    model = mlp()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x = torch.randn(4, 16)
    model(x).sum().backward()
    optimizer.step()  # a state and gradients of the user's own to keep
    weights = copy.deepcopy(model.state_dict())
    grads = [q.grad.clone() for q in model.parameters()]  # type: ignore[union-attr]
    state = copy.deepcopy(optimizer.state_dict())
    flopsight.profile(model, x, backward=True, optimizer=optimizer, memory=True)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(g, q.grad) for g, q in zip(grads, model.parameters()))  # type: ignore[arg-type]
    after = optimizer.state_dict()
    assert after["param_groups"] == state["param_groups"]
    for key, entry in state["state"].items():
        assert all(torch.equal(entry[name], after["state"][key][name]) for name in entry)


def test_a_frozen_layer_has_no_gradient_and_no_optimizer_state() -> None:
    model = mlp()
    model[0].requires_grad_(False)
    optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    p = flopsight.profile(model, torch.randn(4, 16), backward=True, optimizer=optimizer, memory=True)
    trainable = (32 * 8 + 8) * 4  # the second Linear only
    assert p.memory is not None
    assert p.memory.gradient_bytes == trainable
    assert p.memory.optimizer_bytes == 2 * trainable + 2 * 4


def test_counts_are_the_same_with_an_optimizer_step() -> None:
    model, x = mlp(), torch.randn(4, 16)
    plain = flopsight.profile(model, x, backward=True)
    stepped = flopsight.profile(model, x, backward=True, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert stepped.to_dict()["root"] == plain.to_dict()["root"]


@pytest.mark.parametrize(
    "kwargs, message",
    [({"optimizer": "adam"}, "torch.optim.Optimizer"), ({"backward": False}, "add backward=True")],
)
def test_a_misused_optimizer_is_one_clear_error(kwargs: dict[str, object], message: str) -> None:
    model = mlp()
    options = {"backward": True, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1), **kwargs}
    with pytest.raises(InputError, match=message):
        flopsight.profile(model, torch.randn(4, 16), **options)  # type: ignore[arg-type]
