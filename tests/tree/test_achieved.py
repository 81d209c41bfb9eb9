"""Achieved FLOPS, MFU and HFU against a hand computation, on fixed plain-data timings."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

import flopsight
from flopsight.records import ModuleTiming, TimingResult, summarize
from flopsight.timing import measure_time
from flopsight.tree import achieved


def fixed_timing(forward: float, backward: float | None, modules: dict[str, float], device: str = "cpu",
                 device_name: str = "cpu", dtype: str = "float32") -> TimingResult:
    iteration = forward + (backward or 0.0)
    return TimingResult(
        device=device, device_name=device_name, dtype=dtype, warmup=0, repeat=1,
        forward=summarize([forward]), iteration=summarize([iteration]),
        backward=None if backward is None else summarize([backward]),
        modules={name: ModuleTiming(name, 1, summarize([s])) for name, s in modules.items()},
        batch_size=4,
    )


def linear_profile(backward: bool) -> flopsight.Profile:
    model = nn.Sequential(nn.Linear(32, 16), nn.ReLU())
    return flopsight.profile(model, torch.randn(4, 32), backward=backward)


def test_mfu_matches_a_hand_computation() -> None:
    p = linear_profile(backward=False)
    # Linear 4x32 -> 16: 4*16*32 MACs = 2048, 2 FLOPs per MAC plus the bias adds 4*16.
    linear_flops = 2 * 4 * 16 * 32 + 4 * 16
    assert p.module("0").forward.flops == linear_flops
    timing = fixed_timing(forward=2e-3, backward=None, modules={"": 2e-3, "0": 1e-3, "1": 5e-4})
    a = achieved(p, timing, peak_tflops=0.5)
    assert a.model_flops == p.forward.flops
    assert a.forward_flops_per_s == pytest.approx(p.forward.flops / 2e-3)
    assert a.mfu == pytest.approx(p.forward.flops / 2e-3 / 0.5e12)
    assert a.hfu is None and a.peak_source == "user"
    assert a.modules["0"].forward_flops_per_s == pytest.approx(linear_flops / 1e-3)


def test_training_mfu_uses_measured_backward_or_says_it_estimated() -> None:
    timing = fixed_timing(forward=1e-3, backward=2e-3, modules={})
    measured = linear_profile(backward=True)
    a = achieved(measured, timing, peak_tflops=1.0)
    flops = measured.forward.flops + measured.backward.flops
    assert a.model_flops == flops and not a.backward_estimated
    assert a.mfu == pytest.approx(flops / 3e-3 / 1e12)
    assert a.backward_flops_per_s == pytest.approx(measured.backward.flops / 2e-3)
    forward_only = linear_profile(backward=False)
    b = achieved(forward_only, timing, peak_tflops=1.0)
    assert b.backward_estimated and b.model_flops == 3 * forward_only.forward.flops


def test_hfu_adds_recomputed_flops_under_checkpointing() -> None:
    class Checkpointed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(16, 16), nn.Tanh())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return checkpoint(self.inner, x, use_reentrant=False)

    model = Checkpointed()
    p = flopsight.profile(model, torch.randn(4, 16, requires_grad=True), backward=True)
    assert p.recompute.flops > 0
    timing = fixed_timing(forward=1e-3, backward=3e-3, modules={})
    a = achieved(p, timing, peak_tflops=2.0)
    model_flops = p.forward.flops + p.backward.flops
    assert a.mfu == pytest.approx(model_flops / 4e-3 / 2e12)
    assert a.hfu == pytest.approx((model_flops + p.recompute.flops) / 4e-3 / 2e12)
    assert a.hfu > a.mfu


def test_peak_comes_from_the_table_on_a_known_gpu_and_is_unknown_on_cpu() -> None:
    p = linear_profile(backward=False)
    gpu = fixed_timing(1e-3, None, {}, device="cuda", device_name="NVIDIA H100 80GB HBM3", dtype="bfloat16")
    a = achieved(p, gpu)
    assert a.peak_tflops == 989.5 and a.peak_source == "H100 SXM bfloat16"
    assert a.mfu == pytest.approx(p.forward.flops / 1e-3 / 989.5e12)
    cpu = achieved(p, fixed_timing(1e-3, None, {}))
    assert cpu.peak_tflops is None and cpu.mfu is None
    with pytest.raises(ValueError):
        achieved(p, gpu, peak_tflops=0)


def test_measured_run_gives_positive_achieved_flops() -> None:
    model = nn.Sequential(nn.Linear(32, 16), nn.ReLU())
    x = torch.randn(4, 32)
    a = achieved(flopsight.profile(model, x), measure_time(model, x, warmup=1, repeat=3), peak_tflops=1.0)
    assert a.forward_flops_per_s is not None and a.forward_flops_per_s > 0
    assert a.mfu is not None and 0 < a.mfu < 1
    assert set(a.modules) == {"", "0", "1"}
