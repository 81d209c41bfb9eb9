"""track()'s timed steps: the user's own steps, run without counting, timed per module."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import flopsight
import zoo
from flopsight.training import track
from test_profiler_timing import ManyTinyOps
from test_training import FailsOnCall, installed, train


def test_default_times_as_many_steps_right_after_the_counted_ones() -> None:
    model = zoo.TinyCNN().train()
    twin = copy.deepcopy(model)
    torch.manual_seed(2)
    xs = [torch.randn(2, 3, 8, 8) for _ in range(10)]
    with track(model, steps=range(2, 6)) as tracker:
        train(model, xs, tracker)
    assert installed() == (0, 0, 0, 0)
    assert tracker.time_steps == [6, 7, 8, 9]
    timing = tracker.timing
    # steps 6 and 8 hooked at the root only (whole step), 7 and 9 at every module
    assert timing is not None and timing.repeat == 2 and timing.warmup == 6
    assert len(timing.iteration.samples) == 2  # one sample per step, never a running total
    assert all(len(m.forward.samples) == 2 for m in timing.modules.values())
    for f, b, step in zip(timing.forward.samples, timing.backward.samples, timing.iteration.samples):  # type: ignore[union-attr]
        assert 0 < f and 0 < b and f + b <= step  # the step also holds the optimizer step
    assert set(timing.modules) == {name for name, _ in model.named_modules()}
    assert timing.batch_size == 2 and timing.samples_per_s == pytest.approx(2 / timing.iteration.median)
    children = [m for name, m in timing.modules.items() if name and "." not in name]
    assert sum(m.forward.median for m in children) <= timing.module("").forward.median * 1.05
    train(twin, xs)  # the same loop unprofiled: timed steps changed nothing either
    for (name, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert torch.equal(a, b), name


def test_achieved_divides_counted_flops_by_timed_latency() -> None:
    model = zoo.TinyCNN().train()
    xs = [torch.randn(2, 3, 8, 8) for _ in range(6)]
    with track(model, steps=[1, 2], time_steps=[3, 4, 5]) as tracker:
        train(model, xs, tracker)
    profile, timing = tracker.profile, tracker.timing
    assert timing is not None and timing.repeat == 2 and timing.modules
    achieved = tracker.achieved(peak_tflops=2.0)
    assert achieved is not None
    model_flops = profile.forward.flops + profile.backward.flops
    assert achieved.model_flops == model_flops
    assert achieved.iteration_flops_per_s == pytest.approx(model_flops / timing.iteration.median)
    assert achieved.mfu == pytest.approx(model_flops / timing.iteration.median / 2e12)
    text = tracker.summary(peak_tflops=2.0)
    assert "Timed steps 3, 4, 5 (no counting; whole-step median over 2)" in text and "MFU" in text


def test_timed_steps_carry_no_counting_overhead() -> None:
    model = ManyTinyOps()
    xs = [torch.randn(2, 4) for _ in range(8)]
    with track(model, steps=range(1, 4), time_steps=range(4, 8)) as tracker:
        train(model, xs, tracker)
    timing = tracker.timing
    assert timing is not None and timing.repeat == 2
    counted = sorted(tracker.step_durations)[len(tracker.step_durations) // 2]
    assert timing.iteration.median < counted / 2


def test_no_timed_steps_and_bad_arguments() -> None:
    model = zoo.TinyCNN()
    with track(model, steps=[0], time_steps=()) as tracker:
        train(model, [torch.randn(2, 3, 8, 8)] * 3, tracker)
    assert tracker.timing is None and tracker.achieved() is None
    assert "counting overhead included; no timed step" in tracker.summary()
    with pytest.raises(flopsight.InputError, match=r"steps \[3\] are both counted and timed"):
        track(model, steps=[2, 3], time_steps=[3, 4])
    with pytest.raises(flopsight.InputError, match="time_steps must be non-negative"):
        track(model, steps=[2], time_steps=[-1])


def test_a_timed_step_that_raises_is_dropped_and_leaves_nothing_behind() -> None:
    model = FailsOnCall(3)
    with pytest.raises(RuntimeError, match="boom"), track(model, steps=[0], time_steps=[1, 2]) as tracker:
        train(model, [torch.randn(2, 4)] * 3, tracker)
    assert installed() == (0, 0, 0, 0)
    assert tracker.timing is not None and tracker.timing.repeat == 1  # step 1 only
    assert tracker.timing.modules == {}  # step 2 would have timed the modules


def test_meta_model_times_nothing() -> None:
    with torch.device("meta"):
        model = nn.Linear(4, 4)
    with track(model, steps=[0], time_steps=[1]) as tracker:
        for _ in range(2):
            tracker.step()
            model(torch.randn(2, 4, device="meta")).sum().backward()
    assert tracker.timing is None and tracker.profile.forward.macs == 2 * 4 * 4


def test_token_throughput_from_integer_inputs() -> None:
    model = zoo.TinyLlama()
    ids = [torch.randint(0, 50, (2, 12)) for _ in range(4)]
    with track(model, steps=[1], time_steps=[2, 3]) as tracker:
        train(model, ids, tracker)
    timing = tracker.timing
    assert timing is not None and timing.tokens == 24
    assert timing.tokens_per_s == pytest.approx(24 / timing.iteration.median)
