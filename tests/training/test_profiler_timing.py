"""FlopsProfiler's latencies come from a replay of the window's calls, never from the window.

Also: the window prices a meta model's attention as ``flopsight.profile`` does, and lets eager
flex_attention run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight
import zoo
from flopsight.training import FlopsProfiler
from test_training import FailsOnCall


class ManyTinyOps(nn.Module):
    """Hundreds of tiny elementwise ops: cheap to run, slow under any dispatch mode."""

    def __init__(self, blocks: int = 40) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Tanh()) for _ in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x) * 0.5 + 1.0
        return x


class ModeSpy(nn.Module):
    """Records the grad, inference and autocast modes of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.seen: list[tuple[bool, bool, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled(), torch.is_autocast_enabled("cpu")))
        return self.linear(x)


def test_duration_is_a_replay_without_counting_overhead() -> None:
    model, x = ManyTinyOps(), torch.randn(2, 4)
    with torch.no_grad(), FlopsProfiler(model, timing_warmup=2, timing_repeat=7) as prof:
        model(x)
    timing = prof.timing
    assert timing is not None and timing.repeat == 7 and len(timing.forward.samples) == 7
    assert prof.get_total_duration() == timing.forward.median
    # 40 blocks x 6 ops: the counting mode costs tens of microseconds per op, the ops a few.
    assert prof.get_total_duration() < prof.window_duration / 2
    assert prof.timing is timing  # measured once per window


def test_replay_runs_under_the_modes_of_the_recorded_call() -> None:
    model, x = ModeSpy(), torch.randn(2, 8)
    cases: list[tuple[Any, tuple[bool, bool, bool]]] = [
        (torch.enable_grad, (True, False, False)),
        (torch.no_grad, (False, False, False)),
        (torch.inference_mode, (False, True, False)),
        (lambda: torch.autocast("cpu", dtype=torch.bfloat16), (True, False, True)),
    ]
    for make_context, expected in cases:
        model.seen.clear()
        prof = FlopsProfiler(model, timing_warmup=1, timing_repeat=3)
        with make_context():
            prof.start_profile()
            model(x)
            prof.stop_profile()
        assert prof.get_total_duration() > 0
        # the window's call, 1 warm-up, 3 timed with no hook, 3 timed per module
        assert model.seen == [expected] * (1 + 1 + 3 + 3), make_context


def test_two_calls_in_a_window_are_timed_as_one_iteration() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
    with torch.no_grad(), FlopsProfiler(model, timing_repeat=4) as prof:
        model(torch.randn(2, 8))
        model(torch.randn(3, 8))
    timing = prof.timing
    assert timing is not None
    assert timing.module("").calls == 2 and timing.module("0").calls == 2
    assert timing.batch_size == 2 + 3
    single = flopsight.measure_time(model, torch.randn(2, 8), repeat=4)
    assert single.module("").calls == 1  # the same model alone: one call per iteration


def test_replay_leaves_the_model_and_rng_as_they_were() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Dropout(0.5)).train()
    x = torch.randn(4, 8)
    with FlopsProfiler(model) as prof:
        model(x)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    assert prof.get_total_duration() > 0
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    assert all(p.grad is None for p in model.parameters())


def test_timing_repeat_zero_replays_nothing() -> None:
    model, x = ModeSpy(), torch.randn(2, 8)
    with FlopsProfiler(model, timing_repeat=0) as prof:
        model(x)
    assert prof.timing is None
    assert prof.get_total_duration() == prof.window_duration > 0
    assert len(model.seen) == 1
    with pytest.raises(flopsight.InputError, match="timing_repeat"):
        FlopsProfiler(model, timing_repeat=-1)


def test_print_model_profile_has_per_module_latency(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = zoo.TinyCNN().eval()
    with torch.no_grad(), FlopsProfiler(model, timing_repeat=3) as prof:
        model(torch.randn(2, 3, 8, 8))
    prof.print_model_profile(module_depth=1)
    out = capsys.readouterr().out
    assert "median of 3 replayed forwards, no counting" in out
    latency = out.split("Latency (separate timing run, no counting)")[1]
    assert "fwd latency" in latency
    timing = prof.timing
    assert timing is not None
    for name in [n for n in timing.modules if n and "." not in n]:  # depth 1 rows
        assert name in latency
    achieved = prof.achieved(peak_tflops=1.0)
    assert achieved is not None and achieved.mfu is not None
    assert achieved.forward_flops_per_s == pytest.approx(prof.get_total_flops() / timing.forward.median)


def test_meta_model_is_not_replayed() -> None:
    with torch.device("meta"):
        model = nn.Linear(8, 8)
    with FlopsProfiler(model) as prof:
        model(torch.randn(2, 8, device="meta"))
    assert prof.timing is None and prof.achieved() is None
    assert prof.get_total_duration() == prof.window_duration


def test_reading_the_duration_inside_an_open_window_counts_nothing_more() -> None:
    model, x = ModeSpy(), torch.randn(2, 8)
    one = flopsight.profile(model, x).forward
    model.seen.clear()
    prof = FlopsProfiler(model, timing_repeat=2)
    prof.start_profile()
    try:
        model(x)
        assert prof.get_total_duration() > 0  # replays 1 + 2 + 2 times, uncounted
        assert prof.profile.forward == one and prof.profile.module("").calls == 1
        model(x)
        assert prof.profile.forward == one + one
        assert prof.timing is not None and prof.timing.module("").calls == 2  # a new call: timed again
    finally:
        prof.end_profile()
    assert len(model.seen) == 2 + 5 + 2 * 5  # two calls; one replay of the first, one of both


class MetaAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(32, 96)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).view(2, 16, 3, 4, 8).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def test_meta_window_prices_attention_as_profile_does() -> None:
    with torch.device("meta"):
        model = MetaAttention()
    x = torch.randn(2, 16, 32, device="meta")
    expected = flopsight.profile(model, x)
    with FlopsProfiler(model) as prof:
        model(x)
    assert prof.profile.by_op("forward") == expected.by_op("forward")
    assert any("flash_attention_for_cpu" in op for op in expected.by_op("forward"))


flex = pytest.importorskip("torch.nn.attention.flex_attention")


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile")
def test_window_counts_eager_flex_attention_and_restores_the_flag() -> None:
    class Flex(nn.Module):
        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return flex.flex_attention(q, k, v)  # type: ignore[no-any-return]

    q, k, v = (torch.randn(1, 2, 16, 8) for _ in range(3))
    expected = flopsight.profile(Flex(), q, k, v)
    with FlopsProfiler(Flex(), timing_repeat=0) as prof:
        prof.model(q, k, v)
    assert prof.profile.forward == expected.forward and prof.profile.forward.macs == 2 * 2 * 16 * 16 * 8
    assert flex._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG is False


def test_duration_after_a_raised_forward_in_an_open_window_replays_the_good_calls_only() -> None:
    model, x = FailsOnCall(2), torch.randn(2, 4)
    prof = FlopsProfiler(model, timing_warmup=0, timing_repeat=2)
    prof.start_profile()
    try:
        model(x)
        with pytest.raises(RuntimeError, match="boom"):
            model(x)
        timing = prof.timing  # the window is inert now: the replay records nothing more
        assert timing is not None and timing.module("").calls == 1
        assert model.calls == 2 + 2 * 2  # no hook, then per module
    finally:
        prof.end_profile()
    assert torch._C._len_torch_dispatch_stack() == 0
    assert not nn.modules.module._global_forward_hooks and not nn.modules.module._global_forward_pre_hooks
