"""Fused elementwise chains: the bytes a fusing compiler would not move, by hand.

Every expected figure is derived in the test from the tensors' sizes (float32: 4 bytes per
element) and the model stated in capture/fusion.py.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import flopsight
from flopsight.records import Phase
from flopsight.report.roofline import render_roofline
from flopsight.tree import Profile

F32 = 4


def fused(profile: Profile, module: str, phase: Phase = Phase.FORWARD) -> dict[str, int]:
    node = profile.module(module)
    return {op.split(".")[1]: t.fused_bytes for op, t in node.own_ops.get(phase, {}).items()}


class RMSNorm(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(variance + 1e-6) * self.weight


class NormThenLinear(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = RMSNorm(width)
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.norm(x))


def test_an_rms_norm_chain_keeps_its_intermediates_on_chip() -> None:
    rows, width = 4, 8
    full, per_row = rows * width * F32, rows * F32
    profile = flopsight.profile(NormThenLinear(width), input_shape=(rows, width))
    assert fused(profile, "norm") == {
        "pow": full,  # x^2 is read by mean alone: never written
        "mean": full + per_row,  # reads x^2 from registers; its variance goes to add alone
        "add": per_row + per_row,  # reads the variance, writes what rsqrt alone reads
        "rsqrt": per_row + per_row,
        # x * r: reads r (x comes from outside the chain), writes what the second mul alone reads;
        # (x * r) * w: reads it; writes the norm's output, which the Linear (another module) reads
        "mul": per_row + full + full,
    }
    assert fused(profile, "proj") == {"mm": 0}  # a matmul is no part of a chain


def test_fused_moves_only_what_enters_and_leaves_the_chain() -> None:
    rows, width = 4, 8
    full = rows * width * F32
    profile = flopsight.profile(NormThenLinear(width), input_shape=(rows, width))
    ops = profile.module("norm").own_ops[Phase.FORWARD].values()
    moved = sum(t.bytes_read + t.bytes_written - t.fused_bytes for t in ops)
    # x read by pow and by the first mul (ops are still priced one by one), the weight, the output
    assert moved == 2 * full + width * F32 + full


class CastingRMSNorm(RMSNorm):
    """HF Llama's: the statistics in float32, the weight applied in the input's dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)
        return self.weight * h.to(x.dtype)


def test_casts_fuse_like_pointwise_ops() -> None:
    rows, width = 4, 8
    full32, per_row, full16 = rows * width * F32, rows * F32, rows * width * 2
    model = CastingRMSNorm(width).to(torch.bfloat16)
    profile = flopsight.profile(model, torch.randn(rows, width, dtype=torch.bfloat16))
    assert fused(profile, "") == {
        # x -> float32: its result never written (pow and the first mul read it in registers);
        # float32 -> bfloat16: reads the first mul's result, and the weight's mul reads its own
        "_to_copy": full32 + full32 + full16,
        "pow": full32 + full32,
        "mean": full32 + per_row,
        "add": 2 * per_row,
        "rsqrt": 2 * per_row,
        # h * r: reads h and r in registers, its result read by the cast alone; w * h: reads the cast
        "mul": full32 + per_row + full32 + full16,
    }
    ops = profile.module("").own_ops[Phase.FORWARD].values()
    moved = sum(t.bytes_read + t.bytes_written - t.fused_bytes for t in ops)
    assert moved == full16 + width * 2 + full16  # x once, the weight, the output: as one kernel


class TwoStages(nn.Module):
    """stage_a's output goes straight to stage_b: one chain across the two modules."""

    def __init__(self) -> None:
        super().__init__()
        self.stage_a = Scale()
        self.stage_b = Scale()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage_b(self.stage_a(x))


class Scale(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0


def test_a_chain_crosses_module_boundaries() -> None:
    rows, width = 3, 5
    full = rows * width * F32
    profile = flopsight.profile(TwoStages(), input_shape=(rows, width))
    assert fused(profile, "stage_a") == {"mul": full}  # its output is never written
    assert fused(profile, "stage_b") == {"mul": full}  # reads it from registers


class GatedMLP(nn.Module):
    """Llama's MLP: the activation is a module of its own, its output multiplied in the parent."""

    def __init__(self, width: int, inner: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(width, inner, bias=False)
        self.up_proj = nn.Linear(width, inner, bias=False)
        self.down_proj = nn.Linear(inner, width, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


def test_an_activation_module_feeds_its_parents_multiply_in_registers() -> None:
    rows, width, inner = 2, 4, 6
    hidden = rows * inner * F32
    profile = flopsight.profile(GatedMLP(width, inner), input_shape=(rows, width))
    # gate_proj's output was written by a matmul; silu's is read by the multiply in registers,
    # although up_proj's matmul ran between the two (it does not depend on silu's output)
    assert fused(profile, "act_fn") == {"silu": hidden}
    assert fused(profile, "") == {"mul": hidden}
    assert fused(profile, "down_proj") == {"mm": 0}


class ResidualAfterMatmul(nn.Module):
    """h is made, a matmul runs, then h is read again: by then h had to be in memory."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * 2.0
        return h + self.proj(x)


def test_a_read_after_the_chain_ended_materializes() -> None:
    profile = flopsight.profile(ResidualAfterMatmul(4), input_shape=(3, 4))
    assert fused(profile, "") == {"mul": 0, "add": 0}


class SharedIntermediate(nn.Module):
    """h feeds an elementwise op and a matmul: the matmul needs h in memory."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(width, width))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x * 2.0
        return h + 1.0, h @ self.weight


def test_a_matmul_reader_materializes_the_intermediate() -> None:
    rows, width = 3, 4
    full = rows * width * F32
    profile = flopsight.profile(SharedIntermediate(width), input_shape=(rows, width))
    # the add still reads h from registers; h itself must be written for the matmul
    assert fused(profile, "") == {"mul": 0, "add": full, "mm": 0}


class ReturnsIntermediate(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x * 2.0
        return h, h + 1.0


def test_the_models_outputs_are_written() -> None:
    rows, width = 2, 6
    full = rows * width * F32
    profile = flopsight.profile(ReturnsIntermediate(), input_shape=(rows, width))
    assert fused(profile, "") == {"mul": 0, "add": full}


class ViewInTheChain(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * 2.0
        return (h.view(-1) + 1.0).view(x.shape)


def test_a_view_reads_as_its_base() -> None:
    rows, width = 2, 6
    full = rows * width * F32
    profile = flopsight.profile(ViewInTheChain(), input_shape=(rows, width))
    assert fused(profile, "") == {"mul": full, "add": full}


class Activation(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.silu(x * 2.0)


def test_what_backward_reads_is_written_in_forward() -> None:
    rows, width = 2, 6
    full = rows * width * F32
    x = torch.randn(rows, width, requires_grad=True)
    profile = flopsight.profile(Activation(), x, backward=True)
    # silu reads x * 2 from registers, but its backward reads the saved x * 2 from memory
    assert fused(profile, "") == {"mul": 0, "silu": full}
    inference = flopsight.profile(Activation(), x.detach())
    assert fused(inference, "") == {"mul": full, "silu": full}


def test_fused_bytes_round_trip_through_json() -> None:
    profile = flopsight.profile(NormThenLinear(8), input_shape=(4, 8))
    loaded = Profile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert fused(loaded, "norm") == fused(profile, "norm")


def test_the_roofline_moves_the_fused_bytes_only_when_asked() -> None:
    rows, width = 1024, 4096
    model = NormThenLinear(width).to("meta")
    profile = flopsight.profile(model, input_shape=(rows, width))
    full, per_row, weight = rows * width * F32, rows * F32, width * F32
    h100_bandwidth = 3.35e12
    eager = profile.roofline("h100-sxm").module("norm").roofline
    fused_chain = profile.roofline("h100-sxm", fuse_elementwise=True).module("norm").roofline
    assert eager is not None and fused_chain is not None
    # eager, every op reads its inputs and writes its output: pow, mean, add, rsqrt, mul, mul
    eager_bytes = (2 * full) + (full + per_row) + 2 * per_row + 2 * per_row + (full + per_row + full) \
        + (full + weight + full)
    assert eager.moved_bytes == eager_bytes
    assert eager.predicted_s[Phase.FORWARD] == pytest.approx(eager_bytes / h100_bandwidth)
    chain_bytes = 2 * full + weight + full
    assert fused_chain.moved_bytes == chain_bytes
    # still one op at a time: mean, add and rsqrt move nothing now and take their arithmetic's time
    fp32_peak, elements = 67.0e12, rows * width
    moved_and_flops = [(full, elements), (0, elements), (0, rows), (0, rows), (full, elements),
                       (weight + full, elements)]  # pow, mean, add, rsqrt, mul, mul
    expected = sum(max(moved / h100_bandwidth, flops / fp32_peak) for moved, flops in moved_and_flops)
    assert fused_chain.predicted_s[Phase.FORWARD] == pytest.approx(expected)


def test_the_fused_target_is_saved_with_the_prediction() -> None:
    profile = flopsight.profile(NormThenLinear(8), input_shape=(4, 8)).roofline("h100-sxm", fuse_elementwise=True)
    loaded = Profile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert loaded.roofline_target is not None and loaded.roofline_target.fuse_elementwise
    assert "elementwise chains fused" in render_roofline(loaded)
    assert "every op its own kernel" in render_roofline(profile.roofline("h100-sxm"))
