"""report/summary.py: every line of the header, from measured and hand-edited profiles."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from conftest import HIDDEN
from torch import nn
from torch.utils.checkpoint import checkpoint

import flopsight
from flopsight.report.summary import render_summary


def rows(text: str) -> dict[str, str]:
    """"Label:   value" lines as a dict (the conventions block included, by its own labels)."""
    result = {}
    for line in text.splitlines():
        label, _, value = line.partition(":")
        result[label.strip()] = value.strip()
    return result


def test_forward_only_profile(tiny_profile: flopsight.Profile) -> None:
    summary = rows(render_summary(tiny_profile, unit="", param_unit=""))
    # embed 100 x 16; 4 blocks of LayerNorm 2 x 16, fc1 16 x 64 + 64, fc2 64 x 16 + 16; head 16 x 100.
    params = 100 * 16 + 4 * (2 * 16 + 16 * 64 + 64 + 64 * 16 + 16) + 16 * 100
    macs = 4 * (16 * 16 * 64 * 2) + 16 * 16 * 100  # 16 tokens through fc1, fc2 and head
    assert summary["Model"] == "TinyLM"
    assert summary["Inputs"] == "0: int64[2, 8]"
    assert summary["Params"] == summary["trainable"] == str(params) == "11840"
    assert summary["frozen"] == "0" and summary["Buffers"] == "0"
    assert summary["Tied parameters"] == "none"
    assert summary["Forward MACs"] == f"{macs} MACs"
    assert summary["Forward FLOPs"] == f"{tiny_profile.forward.flops} FLOPs"
    assert summary["Backward FLOPs"] == f"not measured (2 x forward estimate: {2 * tiny_profile.forward.flops} FLOPs)"
    assert summary["Forward+backward FLOPs"] == f"{3 * tiny_profile.forward.flops} FLOPs (estimated)"
    assert "Backward MACs" not in summary and "Recompute FLOPs" not in summary
    assert "Forward FLOPs, effective" not in summary
    assert summary["Uncounted ops"] == "none"
    assert summary["backward"] == "not measured"


def test_measured_backward(tiny_backward_profile: flopsight.Profile) -> None:
    p = tiny_backward_profile
    summary = rows(render_summary(p))
    assert summary["Backward MACs"] == "313.34 KMACs"  # 2 x 156,672: input and weight gradients
    assert summary["Backward FLOPs"] == "652.54 KFLOPs (2 x forward estimate: 659.46 KFLOPs)"
    assert summary["Forward+backward MACs"] == "470.02 KMACs"
    assert summary["Forward+backward FLOPs"] == "982.27 KFLOPs"  # 329,728 + 652,544
    assert summary["backward"] == "measured"


def test_frozen_parameters_buffers_and_tied_weights() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.norm = nn.BatchNorm1d(4)
            self.head = nn.Linear(4, 10, bias=False)
            self.head.weight = self.embed.weight
            self.norm.bias.requires_grad_(False)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.head(self.norm(self.embed(ids)))
            return logits

    summary = rows(render_summary(flopsight.profile(Tied(), torch.arange(6)), param_unit=""))
    assert summary["Params"] == "48"  # 10 x 4 once (tied) + 4 weight + 4 bias
    assert summary["trainable"] == "44" and summary["frozen"] == "4"
    assert summary["Buffers"] == "9"  # running mean 4, running var 4, num_batches_tracked 1
    assert summary["Tied parameters"] == "1 (counted once)"


class CausalAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, 2, HIDDEN // 2).permute(2, 0, 3, 1, 4)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, HIDDEN)


def test_masked_attention_shows_effective_flops() -> None:
    p = flopsight.profile(CausalAttention(), torch.ones(1, 4, HIDDEN))
    assert p.forward.masked_flops > 0
    summary = rows(render_summary(p, unit=""))
    assert summary["Forward FLOPs, effective"] == (
        f"{p.forward.flops - p.forward.masked_flops} FLOPs ({p.forward.masked_flops} FLOPs masked out)"
    )


def test_recomputation_is_shown_when_there_was_any() -> None:
    class Checkpointed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(HIDDEN, HIDDEN), nn.ReLU())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = checkpoint(self.inner, x, use_reentrant=False)
            return out

    p = flopsight.profile(Checkpointed(), torch.ones(2, HIDDEN), backward=True)
    summary = rows(render_summary(p, unit=""))
    # The block's forward runs again during backward: 2 x 16 x 16 MACs, + 2 x 16 bias adds
    # and 2 x 16 ReLUs.
    assert summary["Recompute MACs"] == f"{2 * 16 * 16} MACs"
    assert summary["Recompute FLOPs"] == f"{2 * 2 * 16 * 16 + 2 * 16 + 2 * 16} FLOPs"
    assert summary["Total FLOPs"] == f"{p.forward.flops + p.backward.flops + p.recompute.flops} FLOPs"


def test_every_uncounted_op_is_listed_with_its_calls(tiny_profile: flopsight.Profile) -> None:
    data = tiny_profile.to_dict()
    data["uncounted_ops"] = {"aten.mystery.default": 1, "aten.zeta.default": 3, "aten.alpha.default": 3}
    text = render_summary(flopsight.Profile.from_dict(data))
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Uncounted ops:"))
    assert lines[start].endswith("3 (no cost formula; charged 0 FLOPs)")
    # Most calls first, then by name; nothing is folded into "and N more".
    assert [line.split()[0] for line in lines[start + 1 : start + 4]] == [
        "aten.alpha.default:", "aten.zeta.default:", "aten.mystery.default:",
    ]
    assert lines[start + 1].endswith(" 3 calls") and lines[start + 3].endswith(" 1 call")


def test_a_profile_without_recorded_conventions_says_so(tiny_profile: flopsight.Profile) -> None:
    data = tiny_profile.to_dict()
    data["metadata"] = {}
    text = render_summary(flopsight.Profile.from_dict(data))
    assert text.splitlines()[-1] == "Conventions: not recorded in this profile"
    assert not text.startswith("Model:")


def test_ignored_module_types_are_named() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    text = render_summary(flopsight.profile(model, torch.ones(2, 4), ignore_modules=[nn.Dropout]))
    assert "Ignored modules:        Dropout (their ops are not counted)" in text
