"""The CPU timing tests' invariants on CUDA (events, one synchronize per iteration).

Skipped where no GPU is present; run on a machine with one and record device and figures in
docs/timing.md.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from flopsight.timing import achieved, measure_time

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def cuda_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(256, 512), nn.GELU(), nn.Sequential(nn.Linear(512, 512), nn.ReLU()), nn.Linear(512, 8)).cuda()


def test_cuda_timings_positive_and_parent_covers_children() -> None:
    model = cuda_mlp()
    t = measure_time(model, torch.randn(64, 256, device="cuda"), warmup=2, repeat=5, backward=True)
    assert t.device == "cuda" and t.device_name == torch.cuda.get_device_name()
    assert t.forward.median > 0 and t.backward is not None and t.backward.median > 0
    children = ["0", "1", "2", "3"]
    for i in range(t.repeat):
        own = t.module("").forward.samples[i]
        assert own >= sum(t.module(c).forward.samples[i] for c in children) - 1e-5
    for m in t.modules.values():
        assert m.forward.median > 0 and m.backward is not None and m.backward.median >= 0


def test_cuda_training_step_restores_state_and_gives_mfu() -> None:
    model = cuda_mlp()
    optimizer = torch.optim.AdamW(model.parameters())
    x = torch.randn(64, 256, device="cuda")
    weights = [p.detach().clone() for p in model.parameters()]
    t = measure_time(model, x, warmup=1, repeat=3, optimizer=optimizer)
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))
    assert all(p.grad is None for p in model.parameters()) and not optimizer.state
    a = achieved(flopsight.profile(model, x, backward=True), t, peak_tflops=100.0)
    assert a.mfu is not None and 0 < a.mfu < 1


def test_cuda_tracked_loop_times_steps_and_gives_mfu() -> None:
    model = cuda_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(64, 256, device="cuda")
    with flopsight.track(model, steps=range(1, 3), time_steps=range(3, 7)) as tracker:
        for _ in range(7):
            tracker.step()
            model(x).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
    timing = tracker.timing
    assert timing is not None and timing.device == "cuda" and timing.repeat == 2
    assert 0 < timing.forward.median and timing.backward is not None
    assert timing.forward.median + timing.backward.median <= timing.iteration.median
    assert set(timing.modules) == {name for name, _ in model.named_modules()}
    a = tracker.achieved(peak_tflops=100.0)
    assert a is not None and a.mfu is not None and 0 < a.mfu < 1


def test_cuda_profiler_replays_the_window_outside_counting() -> None:
    model = cuda_mlp()
    x = torch.randn(64, 256, device="cuda")
    with torch.no_grad(), flopsight.FlopsProfiler(model, timing_repeat=5) as prof:
        model(x)
    timing = prof.timing
    assert timing is not None and timing.device == "cuda"
    assert prof.get_total_duration() == timing.forward.median < prof.window_duration
