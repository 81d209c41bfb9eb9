"""``hf.submodule``: a submodule's inputs captured inside the whole forward, the model left as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flopsight.errors import InputError
from flopsight.hf.inputs import ModelInputs
from flopsight.hf.submodule import capture_submodule_inputs, profile_submodule


class _Two(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(4, 8)
        self.second = nn.Linear(8, 3)
        self.unused = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor, *, scale: float = 1.0) -> torch.Tensor:
        return self.second(self.first(x) * scale)


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_pre_hooks) + len(m._forward_hooks) for m in model.modules())


def test_captures_the_submodule_inputs_and_removes_its_hook() -> None:
    model = _Two()
    inputs = ModelInputs({"x": torch.ones(5, 4), "scale": 2.0})
    submodule, args, kwargs = capture_submodule_inputs(model, "second", inputs, device="cpu")
    assert submodule is model.second and kwargs == {}
    assert args[0].shape == (5, 8)
    assert torch.equal(args[0], model.first(torch.ones(5, 4)) * 2.0)
    assert _hooks(model) == 0
    result = profile_submodule(submodule, args, kwargs, device="cpu")
    assert result.forward.macs == 5 * 8 * 3  # [5, 8] @ [8, 3]
    assert result.params == 8 * 3 + 3


def test_a_submodule_the_forward_never_calls_is_refused_and_leaves_no_hook() -> None:
    model = _Two()
    with pytest.raises(InputError, match="does not call it"):
        capture_submodule_inputs(model, "unused", ModelInputs({"x": torch.ones(1, 4)}), device="cpu")
    assert _hooks(model) == 0


def test_an_unknown_path_lists_the_nearest() -> None:
    with pytest.raises(InputError, match="nearest: second"):
        capture_submodule_inputs(_Two(), "secnd", ModelInputs({"x": torch.ones(1, 4)}), device="cpu")
