"""Ops priced by an upper bound are said to be: the counting mode records them by call count,
the Profile carries them through JSON, the summary names them."""

from __future__ import annotations

import json

import torch
from torch import nn

import flopsight
from flopsight.report.summary import render_summary

aten = torch.ops.aten
OP = "aten._flash_attention_forward.default"


class PackedAttention(nn.Module):
    """Two packed flash-attention calls whose sequence lengths are on meta (unknown)."""

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        cu = torch.tensor([0, 3, 7], dtype=torch.int32, device="meta")
        first = aten._flash_attention_forward(q, q, q, cu, cu, 4, 4, 0.0, False, False)[0]
        return aten._flash_attention_forward(first, first, first, cu, cu, 4, 4, 0.0, False, False)[0]


def _profile() -> flopsight.Profile:
    return flopsight.profile(PackedAttention(), torch.empty(7, 2, 8, device="meta"))


def test_bounded_ops_are_recorded_with_their_calls() -> None:
    p = _profile()
    assert p.bounded_ops == {OP: 2}
    assert p.uncounted_ops == {}


def test_bounded_ops_survive_json_and_render_the_same() -> None:
    p = _profile()
    loaded = flopsight.Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert loaded.bounded_ops == {OP: 2}
    assert render_summary(loaded) == render_summary(p)


def test_the_summary_names_the_bounded_ops() -> None:
    lines = render_summary(_profile()).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Upper-bound ops:"))
    assert lines[start].split(":", 1)[1].strip() == "1 (priced by an upper bound: what they need was unknown)"
    assert lines[start + 1].split() == [f"{OP}:", "2", "calls"]


def test_an_exact_profile_has_no_bound_line() -> None:
    p = flopsight.profile(nn.Linear(2, 2), torch.randn(1, 2))
    assert p.bounded_ops == {}
    assert not any(line.startswith("Upper-bound ops") for line in render_summary(p).splitlines())
