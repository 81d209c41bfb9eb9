"""Roofline prediction by hand: a large bf16 GEMM is compute-bound, an add is memory-bound, no op
beats either floor, modules add up to the step, and a saved prediction reads back the same."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import flopsight
from flopsight import Phase
from flopsight.errors import InputError
from flopsight.tree import Profile
from flopsight.tree.gpus import GpuSpec
import zoo

H100_BF16 = 989.5e12  # NVIDIA H100 SXM dense BF16 FLOP/s
H100_BYTES = 3.35e12  # HBM3 bytes/s


class Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


def gemm_profile() -> Profile:
    with torch.device("meta"):
        model = nn.Linear(8192, 8192, bias=False, dtype=torch.bfloat16)
    x = torch.empty(8192, 8192, dtype=torch.bfloat16, device="meta")
    return flopsight.profile(model, x)


def test_a_large_bf16_gemm_on_h100_is_compute_bound_at_flops_over_peak() -> None:
    p = gemm_profile().roofline(gpu="h100-sxm")
    (op,) = p.predicted_ops()
    # [8192, 8192] @ [8192, 8192]: 2 x 8192^3 FLOPs; reads two bf16 matrices and writes one
    flops = 2 * 8192**3
    moved = 3 * 8192 * 8192 * 2
    assert op.bound == "compute"
    assert op.predicted_s == pytest.approx(flops / H100_BF16, rel=1e-12)
    assert op.memory_s == pytest.approx(moved / H100_BYTES, rel=1e-12)
    assert op.intensity == pytest.approx(flops / moved)
    summary = p.prediction
    assert summary is not None and summary.step_s == pytest.approx(flops / H100_BF16, rel=1e-12)
    assert summary.mfu == pytest.approx(1.0)  # nothing but one compute-bound GEMM


def test_an_fp32_add_on_h100_is_memory_bound_at_bytes_over_bandwidth() -> None:
    a = torch.empty(4096, 4096, device="meta")
    p = flopsight.profile(Add(), a, a).roofline(gpu="h100-sxm")
    (op,) = p.predicted_ops()
    # reads two [4096, 4096] fp32 tensors, writes one: 3 x 4096^2 x 4 bytes; 4096^2 FLOPs
    assert op.bound == "memory"
    assert op.predicted_s == pytest.approx(3 * 4096**2 * 4 / H100_BYTES, rel=1e-12)
    assert op.compute_s == pytest.approx(4096**2 / 67e12, rel=1e-12)  # fp32 peak, no TF32
    assert p.root.roofline is not None and p.root.roofline.compute_bound_share == 0


def test_efficiencies_scale_the_floors_and_are_refused_outside_0_1() -> None:
    base = gemm_profile()
    slow = base.roofline(gpu="h100-sxm", compute_efficiency=0.5, memory_efficiency=0.8)
    assert slow.prediction is not None
    assert slow.prediction.step_s == pytest.approx(2 * 8192**3 / (0.5 * H100_BF16), rel=1e-12)
    assert slow.prediction.mfu == pytest.approx(0.5)
    for bad in (0, -0.1, 1.01, float("nan"), True):
        with pytest.raises(InputError):
            base.roofline(gpu="h100-sxm", compute_efficiency=bad)
        with pytest.raises(InputError):
            base.roofline(gpu="h100-sxm", memory_efficiency=bad)


def test_dtype_and_tf32_choose_the_peak() -> None:
    a = torch.empty(64, 64, device="meta")
    p = flopsight.profile(nn.Linear(64, 64, device="meta"), a)
    assert p.roofline("a100-80gb").roofline_target.peak_tflops == 19.5  # type: ignore[union-attr]
    assert p.roofline("a100-80gb", tf32=True).roofline_target.peak_tflops == 156.0  # type: ignore[union-attr]
    assert p.roofline("a100-80gb", dtype="bf16").roofline_target.peak_tflops == 312.0  # type: ignore[union-attr]
    with pytest.raises(InputError, match="no dense float32 peak for B200"):
        p.roofline("b200")


def test_an_unknown_gpu_is_refused_and_a_users_spec_is_taken() -> None:
    p = gemm_profile()
    with pytest.raises(InputError, match="unknown GPU 'nosuch'"):
        p.roofline("nosuch")
    mine = GpuSpec("Lab GPU", {"bfloat16": 100.0}, memory_bytes_per_s=1e12)
    predicted = p.roofline(mine).prediction
    assert predicted is not None and predicted.step_s == pytest.approx(2 * 8192**3 / 100e12)


@pytest.fixture(scope="module")
def trained() -> Profile:
    return flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (2, 6)), backward=True).roofline("h100-sxm")


def test_no_op_is_predicted_below_either_floor(trained: Profile) -> None:
    target = trained.roofline_target
    assert target is not None
    ops = trained.predicted_ops()
    assert ops and {o.phase for o in ops} == {Phase.FORWARD, Phase.BACKWARD}
    for op in ops:
        floor = max(op.flops / (target.peak_tflops * 1e12), op.bytes / target.memory_bytes_per_s)
        assert op.predicted_s >= floor and op.predicted_s == pytest.approx(floor, rel=1e-12)


def test_modules_add_up_to_the_step(trained: Profile) -> None:
    summary = trained.prediction
    assert summary is not None
    own = sum(node.roofline.own_step_s for node in trained.modules() if node.roofline is not None)
    assert own == pytest.approx(summary.step_s, rel=1e-12)
    assert summary.step_s == pytest.approx(sum(o.predicted_s for o in trained.predicted_ops()), rel=1e-12)
    assert summary.step_s == pytest.approx(summary.predicted_s[Phase.FORWARD] + summary.predicted_s[Phase.BACKWARD])
    for node in trained.modules():
        assert node.roofline is not None
        children = [c for c in node.children if c.alias_of is None]
        for phase in (Phase.FORWARD, Phase.BACKWARD):
            below = sum(c.roofline.predicted_s[phase] for c in children if c.roofline is not None)
            assert node.roofline.predicted_s[phase] == pytest.approx(node.roofline.own_s[phase] + below, rel=1e-12)
    assert summary.mfu is not None and 0 < summary.mfu <= 1
    assert summary.model_flops == trained.forward.flops + trained.backward.flops


def test_the_original_is_left_without_a_roofline() -> None:
    p = gemm_profile()
    p.roofline("h100")
    assert p.roofline_target is None and p.prediction is None and p.root.roofline is None
    assert p.predicted_ops() == [] and "roofline" not in p.to_dict()


def test_json_round_trip_keeps_the_prediction(trained: Profile) -> None:
    data = json.loads(json.dumps(trained.to_dict()))
    assert data["roofline"]["predicted_s"]["step"] == pytest.approx(trained.prediction.step_s)  # type: ignore[union-attr]
    assert data["root"]["roofline"]["predicted_s"]["forward"] > 0
    back = Profile.from_dict(data)
    assert back.prediction == trained.prediction
    assert back.to_dict() == trained.to_dict()
    assert [o.predicted_s for o in back.predicted_ops()] == [o.predicted_s for o in trained.predicted_ops()]
