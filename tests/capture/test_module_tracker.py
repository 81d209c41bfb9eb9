"""The one module tracker: the exact event sequence instruments hear, forward and backward."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from flopsight.capture import ModuleListener, ModuleTracker


class Recorder(ModuleListener):
    def __init__(self, *, backward: bool = False) -> None:
        self.wants_backward = backward
        self.events: list[tuple[str, str]] = []

    def module_entered(self, path: str, module: nn.Module, args: tuple[Any, ...], recompute: bool) -> None:
        self.events.append(("recompute enter" if recompute else "enter", path))

    def module_left(self, path: str, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                    output: Any, recompute: bool) -> None:
        self.events.append(("recompute leave" if recompute else "leave", path))

    def backward_entered(self, path: str) -> None:
        self.events.append(("backward enter", path))

    def backward_left(self, path: str) -> None:
        self.events.append(("backward leave", path))


class Block(nn.Module):
    def __init__(self, checkpointed: bool = False) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 4)
        self.fc2 = nn.Linear(4, 4)
        self.checkpointed = checkpointed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.checkpointed:
            return checkpoint(lambda y: self.fc2(self.fc1(y)), x, use_reentrant=False)
        return self.fc2(self.fc1(x))


def run(model: nn.Module, listener: Recorder, *, backward: bool, **options: Any) -> ModuleTracker:
    tracker = ModuleTracker(model, **options)
    tracker.subscribe(listener)
    tracker.install()
    try:
        out = model(torch.randn(2, 4, requires_grad=True))
        if backward:
            out.sum().backward()
    finally:
        tracker.remove()
    return tracker


def test_forward_scopes_nest_in_named_modules_paths() -> None:
    listener = Recorder()
    tracker = run(Block(), listener, backward=False)
    assert listener.events == [("enter", ""), ("enter", "fc1"), ("leave", "fc1"), ("enter", "fc2"),
                               ("leave", "fc2"), ("leave", "")]
    assert tracker.forward_calls == {"": 1, "fc1": 1, "fc2": 1}


def test_backward_scopes_run_in_reverse_order_of_the_forward() -> None:
    listener = Recorder(backward=True)
    run(Block(), listener, backward=True)
    backward = [e for e in listener.events if e[0].startswith("backward")]
    # The root and fc2 share one output: both are entered when its gradient is ready (fc2's
    # hook was registered first, as fc2 returned first). fc2's input gradient is fc1's output
    # gradient, so fc1 is entered before fc2's weight gradients are accumulated; the root is
    # left with its input's gradient, after fc1's parameters'.
    assert backward == [("backward enter", "fc2"), ("backward enter", ""), ("backward enter", "fc1"),
                        ("backward leave", "fc2"), ("backward leave", "fc1"), ("backward leave", "")]


def test_activation_checkpointing_recomputes_under_the_recompute_flag() -> None:
    listener = Recorder()
    tracker = run(Block(checkpointed=True), listener, backward=True)
    forward = [("enter", ""), ("enter", "fc1"), ("leave", "fc1"), ("enter", "fc2"), ("leave", "fc2"), ("leave", "")]
    recomputed = [("recompute enter", "fc1"), ("recompute leave", "fc1"), ("recompute enter", "fc2"),
                  ("recompute leave", "fc2")]
    assert listener.events == forward + recomputed
    assert tracker.forward_calls == {"": 1, "fc1": 1, "fc2": 1}  # a recomputation is not a call


def test_ignored_modules_hide_their_subtree_from_the_stack_but_not_from_listeners() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
    seen: list[str | None] = []

    class Top(ModuleListener):
        def module_entered(self, path: str, module: nn.Module, args: tuple[Any, ...], recompute: bool) -> None:
            seen.append(tracker.top)

    tracker = ModuleTracker(model, ignore_types=(nn.Sequential,))
    tracker.subscribe(Top())
    tracker.install()
    try:
        model(torch.randn(1, 4))
    finally:
        tracker.remove()
    # The root is a Sequential too: everything under it is ignored (None), but still heard.
    assert seen == [None, None, None, None, None]
    assert tracker.top is ModuleTracker.OUTSIDE


def test_a_forward_that_raises_leaves_every_scope_and_remove_takes_every_hook() -> None:
    class Boom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.fc(x)
            raise RuntimeError("boom")

    listener = Recorder()
    before = (dict(torch.nn.modules.module._global_forward_pre_hooks), dict(torch.nn.modules.module._global_forward_hooks))
    with pytest.raises(RuntimeError, match="boom"):
        run(Boom(), listener, backward=False)
    assert listener.events == [("enter", ""), ("enter", "fc"), ("leave", "fc"), ("leave", "")]
    after = (dict(torch.nn.modules.module._global_forward_pre_hooks), dict(torch.nn.modules.module._global_forward_hooks))
    assert after == before


def test_root_only_tracks_the_model_as_a_whole_with_hooks_on_the_root_alone() -> None:
    listener = Recorder(backward=True)
    model = Block()
    tracker = ModuleTracker(model, root_only=True)
    tracker.subscribe(listener)
    tracker.install()
    try:
        assert not torch.nn.modules.module._global_forward_hooks  # nothing global
        model(torch.randn(2, 4, requires_grad=True)).sum().backward()
    finally:
        tracker.remove()
    assert listener.events == [("enter", ""), ("leave", ""), ("backward enter", ""), ("backward leave", "")]
    assert not model._forward_hooks and not model._forward_pre_hooks


def test_modules_outside_the_model_are_not_heard() -> None:
    listener = Recorder()
    other = nn.Linear(4, 4)

    class Calls(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return other(self.fc(x))

    run(Calls(), listener, backward=False)
    assert listener.events == [("enter", ""), ("enter", "fc"), ("leave", "fc"), ("leave", "")]
