"""report/topk.py: DeepSpeed's per-depth aggregated view, against hand-derived figures."""

from __future__ import annotations

import pytest

import flopsight
from flopsight.report.topk import render_top

# TinyLM, 16 tokens, hidden 16, MLP 64, vocab 100 (see conftest.py):
FC1 = (16 * 64 + 64, 16 * 16 * 64, 2 * 16 * 16 * 64 + 16 * 64)  # (params, MACs, FLOPs); bias adds
FC2 = (64 * 16 + 16, 16 * 64 * 16, 2 * 16 * 64 * 16 + 16 * 16)
NORM = (2 * 16, 0, 16 * 16 * 6)  # 4 to normalize + weight + bias, per element
GELU_FLOPS = 16 * 64
RESIDUAL = 16 * 16
BLOCK = (FC1[0] + FC2[0] + NORM[0], FC1[1] + FC2[1], FC1[2] + FC2[2] + NORM[2] + GELU_FLOPS + RESIDUAL)
HEAD = (16 * 100, 16 * 16 * 100, 2 * 16 * 16 * 100)
EMBED = (100 * 16, 0, 0)


def test_hand_derived_figures_match_the_profile(tiny_profile: flopsight.Profile) -> None:
    assert BLOCK == (2160, 32768, 69632)
    block = tiny_profile.module("layers.0")
    assert (block.params, block.forward.macs, block.forward.flops) == BLOCK


def test_top_k_per_depth(tiny_profile: flopsight.Profile) -> None:
    text = render_top(tiny_profile, k=2, unit="", param_unit="")
    linears = (4 * (FC1[0] + FC2[0]), 4 * (FC1[1] + FC2[1]), 4 * (FC1[2] + FC2[2]))
    total = (EMBED[0] + 4 * BLOCK[0] + HEAD[0], 4 * BLOCK[1] + HEAD[1], 4 * BLOCK[2] + HEAD[2])
    assert text.splitlines() == [
        "Top 2 modules in terms of params, MACs or FLOPs at each depth (same-type modules summed):",
        "depth 0:",
        f"    params - TinyLM: {total[0]}",
        f"    MACs   - TinyLM: {total[1]} MACs",
        f"    FLOPs  - TinyLM: {total[2]} FLOPs",
        "depth 1:",
        # Embedding and head hold 1,600 params each; the tie keeps model order.
        f"    params - ModuleList: {4 * BLOCK[0]}, Embedding: {EMBED[0]}",
        f"    MACs   - ModuleList: {4 * BLOCK[1]} MACs, Linear: {HEAD[1]} MACs",
        f"    FLOPs  - ModuleList: {4 * BLOCK[2]} FLOPs, Linear: {HEAD[2]} FLOPs",
        "depth 2:",
        f"    params - 4 x Block: {4 * BLOCK[0]}",
        f"    MACs   - 4 x Block: {4 * BLOCK[1]} MACs",
        f"    FLOPs  - 4 x Block: {4 * BLOCK[2]} FLOPs",
        "depth 3:",
        f"    params - 8 x Linear: {linears[0]}, 4 x LayerNorm: {4 * NORM[0]}",
        f"    MACs   - 8 x Linear: {linears[1]} MACs, 4 x LayerNorm: 0 MACs",
        f"    FLOPs  - 8 x Linear: {linears[2]} FLOPs, 4 x LayerNorm: {4 * NORM[2]} FLOPs",
    ]


def test_chosen_depths_and_rounded_units(tiny_profile: flopsight.Profile) -> None:
    text = render_top(tiny_profile, k=1, depths=[3, 7])
    assert text.splitlines()[1:] == [
        "depth 3:",
        "    params - 8 x Linear: 8.51 K",  # 8,512
        "    MACs   - 8 x Linear: 131.07 KMACs",  # 131,072
        "    FLOPs  - 8 x Linear: 267.26 KFLOPs",  # 267,264
        "depth 7:",
        "    no modules at this depth",
    ]


def test_bad_arguments_are_refused(tiny_profile: flopsight.Profile) -> None:
    with pytest.raises(flopsight.InputError, match="k takes None"):
        render_top(tiny_profile, k=0)
    with pytest.raises(flopsight.InputError, match="depths"):
        render_top(tiny_profile, depths=[-1])


def test_k_none_lists_every_type_and_a_negative_k_is_refused(tiny_profile: flopsight.Profile) -> None:
    text = render_top(tiny_profile, k=None, depths=[3], unit="", param_unit="")
    # Depth 3 holds three types: 8 Linear (fc1, fc2), 4 LayerNorm, 4 GELU (no params, 16 x 64
    # FLOPs each).
    assert text.splitlines()[0].startswith("All modules in terms of params")
    assert text.splitlines()[4] == (
        f"    FLOPs  - 8 x Linear: {4 * (FC1[2] + FC2[2])} FLOPs, 4 x LayerNorm: {4 * NORM[2]} FLOPs, "
        f"4 x GELU: {4 * GELU_FLOPS} FLOPs"
    )
    with pytest.raises(flopsight.InputError, match="k takes None"):
        render_top(tiny_profile, k=-1)
