"""Each op is charged to the innermost module; backward ops to the module whose forward made them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

import flopsight
from flopsight import Phase


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(8, 16)
        self.block = nn.Sequential(nn.Linear(16, 16), nn.GELU())
        self.last = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.first(x) * 2.0  # the root's own op
        return self.last(self.block(h))


def own_ops(profile: flopsight.Profile, name: str, phase: Phase) -> dict[str, int]:
    return {op: t.calls for op, t in profile.module(name).own_ops.get(phase, {}).items()}


def test_forward_ops_land_on_innermost_module() -> None:
    p = flopsight.profile(Net(), torch.randn(2, 8))
    assert own_ops(p, "first", Phase.FORWARD) == {"aten.addmm.default": 1}
    assert own_ops(p, "", Phase.FORWARD) == {"aten.mul.Tensor": 1}
    assert own_ops(p, "block.1", Phase.FORWARD) == {"aten.gelu.default": 1}
    assert own_ops(p, "block", Phase.FORWARD) == {}
    # A parent equals its children plus its own ops.
    root = p.root
    assert root.forward.flops == root.own_costs[Phase.FORWARD].flops + sum(c.forward.flops for c in root.children)


def test_backward_ops_land_on_the_module_whose_forward_made_them() -> None:
    p = flopsight.profile(Net(), torch.randn(2, 8), backward=True)
    # The root's mul is differentiated in the root; each Linear's gradient mms in that Linear.
    assert own_ops(p, "", Phase.BACKWARD) == {"aten.mul.Tensor": 1}
    assert own_ops(p, "block.1", Phase.BACKWARD) == {"aten.gelu_backward.default": 1}
    # first: input needs no grad, so one mm (weight grad) and the bias sum.
    assert own_ops(p, "first", Phase.BACKWARD) == {"aten.mm.default": 1, "aten.sum.dim_IntList": 1}
    assert own_ops(p, "last", Phase.BACKWARD) == {"aten.mm.default": 2, "aten.sum.dim_IntList": 1}
    assert p.module("last").backward.macs == 2 * (2 * 16 * 4)
    assert p.module("first").backward.macs == 2 * 8 * 16


def test_repeated_calls_add_up_with_a_call_count() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(self.layer(x))

    p = flopsight.profile(Twice(), torch.randn(3, 4))
    assert p.module("layer").calls == 2
    assert p.module("layer").forward.macs == 2 * 3 * 4 * 4


def test_activation_checkpointing_charges_recompute_to_the_checkpointed_modules() -> None:
    class Checkpointed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(8, 8), nn.Tanh())
            self.out = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(checkpoint(self.inner, x, use_reentrant=False))

    x = torch.randn(5, 8)
    p = flopsight.profile(Checkpointed(), x, backward=True)
    linear = 5 * 8 * 8
    assert p.module("inner.0").forward.macs == linear
    assert p.module("inner.0").recompute.macs == linear  # the forward re-run inside backward
    assert p.module("inner.0").backward.macs == linear  # weight gradient only (x needs no grad)
    assert p.module("inner.0").calls == 1  # recomputation is not a call
    assert own_ops(p, "inner.1", Phase.BACKWARD) == {"aten.tanh_backward.default": 1}


def test_functional_ops_inside_a_module_are_charged_to_it() -> None:
    class Functional(nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return F.softmax(q @ q.transpose(-1, -2), dim=-1)

    p = flopsight.profile(Functional(), torch.randn(2, 3, 4))
    # [2, 3, 4] @ [2, 4, 3]: 2*3*3*4 MACs; softmax 5 FLOPs per element of [2, 3, 3].
    assert p.forward.macs == 2 * 3 * 3 * 4
    assert p.forward.flops == 2 * (2 * 3 * 3 * 4) + 5 * (2 * 3 * 3)


def test_profiling_does_not_switch_off_fused_fast_paths() -> None:
    # Per-module hooks would make nn.TransformerEncoderLayer skip its fused kernel; flopsight's
    # hooks are global, so the layer runs what it runs without a profiler.
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True).eval()
    with torch.no_grad():
        p = flopsight.profile(layer, torch.randn(2, 5, 16))
    assert list(p.by_op()) == ["aten._transformer_encoder_layer_fwd.default"]
    assert p.module("").calls == 1 and p.module("self_attn").calls == 0
    tokens, e, f = 2 * 5, 16, 32
    linear_macs = tokens * e * 3 * e + tokens * e * e + 2 * tokens * e * f
    attention_macs = 2 * 2 * 4 * 5 * 5 * (e // 4)
    assert p.forward.macs == linear_macs + attention_macs
