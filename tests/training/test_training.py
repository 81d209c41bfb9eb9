"""Counting inside the user's own loop: FlopsProfiler (DeepSpeed's meanings) and track()."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

import flopsight
import zoo
from flopsight.training import FlopsProfiler, track


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def installed() -> tuple[int, ...]:
    """Everything a counting window could leave behind in torch."""
    module = nn.modules.module
    return (
        torch._C._len_torch_dispatch_stack(),
        len(module._global_forward_hooks),
        len(module._global_forward_pre_hooks),
        len(module._global_forward_hooks_always_called),
    )


class Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inner(x)
        raise RuntimeError("boom")


class FailsOnCall(nn.Module):
    """A Linear(4, 4) whose ``failing``-th call raises "boom"."""

    def __init__(self, failing: int) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.failing = failing
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.failing:
            raise RuntimeError("boom")
        return self.linear(x)  # type: ignore[no-any-return]


def test_totals_agree_with_flopsight_profile() -> None:
    model, x = mlp(), torch.randn(2, 8)
    expected = flopsight.profile(model, x)
    prof = FlopsProfiler(model)
    prof.start_profile()
    try:
        model(x)
    finally:
        prof.stop_profile()
    assert prof.get_total_macs() == expected.forward.macs == 2 * 8 * 16 + 2 * 16 * 4
    assert prof.get_total_flops() == expected.forward.flops
    assert prof.get_total_params() == expected.params
    assert prof.profile.to_dict()["root"] == expected.to_dict()["root"]
    duration = prof.get_total_duration()
    assert isinstance(duration, float) and duration > 0
    assert installed() == (0, 0, 0, 0)


def test_as_string() -> None:
    model = nn.Linear(1000, 1000)
    with FlopsProfiler(model) as prof:
        model(torch.randn(3, 1000))
    assert prof.get_total_flops(as_string=True) == "6 M"  # 2 x 3M MACs + 3K bias adds
    assert prof.get_total_macs(as_string=True) == "3 MMACs"
    assert prof.get_total_params(as_string=True) == "1 M"
    assert str(prof.get_total_duration(as_string=True)).endswith("s")


def test_counts_are_per_step_never_cumulative() -> None:
    model, x = mlp(), torch.randn(2, 8)
    prof = FlopsProfiler(model)
    per_step = []
    for _ in range(2):
        prof.start_profile()
        model(x)
        prof.stop_profile()
        per_step.append((prof.get_total_flops(), prof.get_total_macs(), prof.profile.to_dict()["root"]))
    assert per_step[0] == per_step[1]
    prof.start_profile()
    prof.start_profile()  # a second start discards the open window
    model(x)
    prof.stop_profile()
    assert prof.get_total_macs() == per_step[0][1]


def test_two_calls_in_one_window_count_twice_and_reset_starts_from_zero() -> None:
    model, x = mlp(), torch.randn(2, 8)
    one = flopsight.profile(model, x).forward.macs
    prof = FlopsProfiler(model)
    prof.start_profile()
    model(x)
    model(x)
    prof.stop_profile()
    assert prof.get_total_macs() == 2 * one
    prof.start_profile()
    model(x)
    prof.reset_profile()
    model(x)
    prof.stop_profile()
    assert prof.get_total_macs() == one
    prof.end_profile()
    with pytest.raises(flopsight.InputError, match="start_profile"):
        prof.get_total_flops()


def test_backward_in_the_window_is_measured() -> None:
    model, x = mlp(), torch.randn(2, 8)
    expected = flopsight.profile(model, x, backward=True)
    with FlopsProfiler(model) as prof:
        model(x).sum().backward()
    assert prof.get_total_flops() == expected.forward.flops  # DeepSpeed's meaning: forward
    assert prof.profile.backward == expected.backward
    # fc2 dW [16, 2] @ [2, 4] and dX [2, 4] @ [4, 16], 128 MACs each; fc1 dW [8, 2] @ [2, 16],
    # 256 MACs, and no dX (the input needs no grad).
    assert prof.profile.backward.macs == 128 + 128 + 256
    assert prof.profile.backward_measured


def test_print_model_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = zoo.TinyCNN().eval()
    with FlopsProfiler(model) as prof:
        model(torch.randn(2, 3, 8, 8))
    prof.print_model_profile(profile_step=3, module_depth=1, top_modules=2)
    out = capsys.readouterr().out
    assert "Profile step:           3" in out and "Per module" in out and "depth 1:" in out
    path = tmp_path / "p.txt"
    prof.print_model_profile(detailed=False, output_file=str(path))
    assert capsys.readouterr().out == ""
    assert "Per module" not in path.read_text() and "Forward MACs:" in path.read_text()


def test_forward_that_raises_leaves_nothing_behind() -> None:
    model = Exploding()
    before = installed()
    prof = FlopsProfiler(model)
    prof.start_profile()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            model(torch.randn(2, 4))
        assert torch._C._len_torch_dispatch_stack() == before[0]  # the mode is popped at once
    finally:
        prof.end_profile()
    assert installed() == before
    with pytest.raises(RuntimeError, match="boom"), FlopsProfiler(model):
        model(torch.randn(2, 4))
    assert installed() == before


def test_exception_already_being_handled_is_not_taken_for_a_failed_forward() -> None:
    model, x = mlp(), torch.randn(2, 8)
    with FlopsProfiler(model) as prof:
        try:
            raise ValueError("handled by the caller")
        except ValueError:
            model(x)
    assert prof.get_total_macs() == flopsight.profile(model, x).forward.macs
    assert not prof.profile.metadata["forward_raised"]


def train(model: nn.Module, xs: list[torch.Tensor], tracker: Any = None) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for x in xs:
        if tracker is not None:
            tracker.step()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        opt.zero_grad()


def test_track_averages_equal_one_step_and_training_is_unchanged() -> None:
    model = zoo.TinyCNN().train()
    twin = copy.deepcopy(model)
    torch.manual_seed(1)
    xs = [torch.randn(2, 3, 8, 8) for _ in range(8)]
    expected = flopsight.profile(copy.deepcopy(model), xs[0], backward=True)
    with track(model, steps=range(2, 6)) as tracker:
        train(model, xs, tracker)
    assert installed() == (0, 0, 0, 0)
    assert len(tracker.step_profiles) == 4 and len(tracker.step_durations) == 4
    average = tracker.profile
    assert average.metadata["steps_averaged"] == 4 and average.metadata["counted_steps"] == [2, 3, 4, 5]
    for step in tracker.step_profiles:
        assert step.to_dict()["root"] == average.to_dict()["root"]  # not 4 x one step
    assert average.forward == expected.forward
    assert average.backward == expected.backward
    assert average.forward.macs == zoo.cnn_forward_macs(2, 8)
    train(twin, xs)  # the same loop unprofiled: identical weights and batch-norm statistics
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert not a.isnan().any() and torch.equal(a, b), name
    text = tracker.summary()
    assert text.startswith("Per-step average over steps 2, 3, 4, 5") and "Backward MACs:" in text


def test_track_measures_recomputation_under_checkpointing() -> None:
    class Checkpointed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return checkpoint(self.block, x, use_reentrant=False)  # type: ignore[no-any-return]

    model, x = Checkpointed(), torch.randn(2, 8)
    expected = flopsight.profile(model, x, backward=True)
    with track(model, steps=[1]) as tracker:
        train(model, [x, x, x], tracker)
    assert tracker.profile.recompute == expected.recompute
    # The checkpointed block's forward runs again in backward, up to the last tensor backward
    # saved (non-reentrant checkpoint stops early): the first [2, 8] @ [8, 8] and the GELU, whose
    # output is the second Linear's saved input; the second product is not rerun.
    assert tracker.profile.recompute.macs == 2 * 8 * 8


def test_track_cleans_up_when_a_tracked_step_raises() -> None:
    model = Exploding()
    with pytest.raises(RuntimeError, match="boom"), track(model, steps=[0]) as tracker:
        tracker.step()
        model(torch.randn(2, 4))
    assert installed() == (0, 0, 0, 0)


def test_track_before_any_counted_step_and_bad_steps() -> None:
    model = mlp()
    with track(model, steps=[5]) as tracker:
        train(model, [torch.randn(2, 8)] * 2, tracker)
    with pytest.raises(flopsight.InputError, match="no counted step"):
        tracker.profile
    with pytest.raises(flopsight.InputError, match="non-negative"):
        track(model, steps=[])


def test_deepspeed_engine_order_reads_totals_before_ending(capsys: pytest.CaptureFixture[str]) -> None:
    # DeepSpeed's engine: start, forward, read and print, end_profile; no stop_profile.
    model, x = mlp(), torch.randn(2, 8)
    expected = flopsight.profile(model, x)
    prof = FlopsProfiler(model)
    prof.start_profile()
    try:
        model(x)
        assert prof.get_total_macs() == expected.forward.macs
        assert prof.get_total_flops() == expected.forward.flops  # reading counted nothing more
        assert prof.get_total_duration() > 0
        prof.print_model_profile()
        model(x)
        assert prof.get_total_macs() == 2 * expected.forward.macs  # still counting
    finally:
        prof.end_profile()
    assert "Forward MACs:" in capsys.readouterr().out
    assert installed() == (0, 0, 0, 0)


def test_ignore_list_leaves_those_modules_uncounted() -> None:
    model, x = mlp(), torch.randn(2, 8)
    prof = FlopsProfiler(model)
    prof.start_profile(ignore_list=[nn.Linear])
    try:
        model(x)
    finally:
        prof.stop_profile()
    assert prof.get_total_macs() == 0
    assert prof.get_total_flops() == flopsight.profile(model, x, ignore_modules=[nn.Linear]).forward.flops
    with pytest.raises(flopsight.InputError, match="ignore_list"):
        prof.start_profile(ignore_list=["Linear"])  # type: ignore[list-item]
    assert installed() == (0, 0, 0, 0)


def test_track_average_carries_uncounted_communication_and_bounded_calls_per_step() -> None:
    from flopsight.records import CaptureResult
    from flopsight.training.tracker import _average

    wait, ring, flash = "_c10d_functional.wait_tensor.default", "custom.ring.default", "aten._flash_attention_forward.default"
    steps = [CaptureResult(backward_measured=True, uncounted={ring: 2}, communication={wait: 4}, bounded={flash: 2}),
             CaptureResult(backward_measured=True, uncounted={ring: 2}, communication={wait: 4})]
    average = _average(mlp(), steps, (), [0, 1])
    assert average.uncounted_ops == {ring: 2}
    assert average.communication_ops == {wait: 4}
    assert average.bounded_ops == {flash: 1}  # ran in one step of two: still listed, never averaged away
