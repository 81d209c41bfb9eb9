"""What holds for every memory profile, on every model of ``memory_models.CASES``: the tree adds
up, no module peaks above the run, the peak is its categories, memory changes no count and
leaves the model as it was, and the figures survive JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from torch import nn

import flopsight
from flopsight.tree import Profile
from memory_models import CASES

META = [name for name, case in CASES.items() if case.needs is None]  # transformers models stay on CPU
RUNS = [(name, "cpu") for name in CASES] + [(name, "meta") for name in META]


def profile(name: str, device: str = "cpu", *, memory: bool = True, target: str | None = None) -> Profile:
    case = CASES[name]
    if case.needs:
        pytest.importorskip(case.needs)
    inputs = tuple(x.to(device) for x in case.inputs())
    return flopsight.profile(case.build().to(device), *inputs, backward=True, loss_fn=case.loss_fn, memory=memory,
                             memory_target=target)


def counted_nodes(p: Profile) -> list[Any]:
    """Every node once: a shared module's other positions are aliases with no figures."""
    return [node for node in p.root.walk() if node.alias_of is None]


@pytest.fixture(scope="module", params=RUNS, ids=[f"{name}-{device}" for name, device in RUNS])
def measured(request: pytest.FixtureRequest) -> Profile:
    return profile(*request.param)


def test_the_root_holds_every_modules_own_activations(measured: Profile) -> None:
    assert measured.memory is not None
    own = sum(node.memory.own_activation_bytes for node in counted_nodes(measured))
    assert measured.root.memory is not None
    assert measured.root.memory.activation_bytes == own == measured.memory.activation_bytes


def test_a_parent_holds_its_childrens_activations(measured: Profile) -> None:
    for node in counted_nodes(measured):
        children = sum(child.memory.activation_bytes for child in node.children if child.alias_of is None)
        assert node.memory.activation_bytes == node.memory.own_activation_bytes + children, node.name


def test_no_module_peaks_above_the_run(measured: Profile) -> None:
    assert measured.memory is not None
    assert all(node.memory.peak_bytes <= measured.memory.peak_bytes for node in counted_nodes(measured))


def test_the_peak_is_the_sum_of_what_is_live_at_it(measured: Profile) -> None:
    assert measured.memory is not None
    assert measured.memory.peak_bytes == sum(measured.memory.at_peak.values())
    # Held through the run, so live at the peak whole.
    for category in ("parameter", "buffer", "input"):
        assert measured.memory.at_peak[category] == getattr(measured.memory, f"{category}_bytes")


def test_memory_survives_a_json_round_trip(measured: Profile) -> None:
    back = Profile.from_dict(json.loads(json.dumps(measured.to_dict())))
    assert back.memory == measured.memory
    assert back.memory is not None and measured.memory is not None
    assert back.memory.record == measured.memory.record
    assert [(n.name, n.memory) for n in back.root.walk()] == [(n.name, n.memory) for n in measured.root.walk()]


def without_memory(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: without_memory(value) for key, value in data.items() if key not in ("memory", "memory_target")}
    if isinstance(data, list):
        return [without_memory(item) for item in data]
    return data


@pytest.mark.parametrize(("name", "device"), RUNS)
def test_memory_changes_no_count(name: str, device: str) -> None:
    plain, measured = profile(name, device, memory=False), profile(name, device, target="as-run")
    assert measured.forward == plain.forward and measured.backward == plain.backward
    assert measured.root.recompute == plain.root.recompute
    assert without_memory(measured.to_dict()) == without_memory(plain.to_dict())
    # On meta the CUDA target runs CUDA's dropout and RMSNorm kernels: other ops and bytes moved,
    # the same MACs and FLOPs.
    as_cuda = profile(name, device)
    for phase in ("forward", "backward"):
        ours, theirs = getattr(as_cuda, phase), getattr(plain, phase)
        assert (ours.macs, ours.flops, ours.masked_flops) == (theirs.macs, theirs.flops, theirs.masked_flops)


def grads_and_state(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[torch.Tensor | None]]:
    state = {key: value.clone() for key, value in model.state_dict().items()}
    return state, [None if p.grad is None else p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("name", list(CASES))
def test_a_memory_profile_leaves_the_state_dict_and_gradients_unchanged(name: str) -> None:
    case = CASES[name]
    if case.needs:
        pytest.importorskip(case.needs)
    model = case.build()
    torch.manual_seed(2)
    for index, parameter in enumerate(model.parameters()):  # some gradients set, some not
        if parameter.requires_grad and index % 2 == 0:
            parameter.grad = torch.randn_like(parameter)
    state, grads = grads_and_state(model)
    flopsight.profile(model, *case.inputs(), backward=True, loss_fn=case.loss_fn, memory=True)
    after_state, after_grads = grads_and_state(model)
    assert state.keys() == after_state.keys()
    for key, value in state.items():  # batch-norm statistics too
        assert torch.equal(value, after_state[key]), key
    for old, new in zip(grads, after_grads):
        assert (old is None and new is None) or (old is not None and new is not None and torch.equal(old, new))
