"""report/topk.py: DeepSpeed's per-depth aggregated view, against hand-derived figures."""

from __future__ import annotations

import pytest

import flopsight
from flopsight.report.topk import render_top

from conftest import HIDDEN, MLP, TOKENS

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


# With backward, each op's saved tensors count at the module that made them (F32 = 4 bytes):
# a Block's norm keeps its output (fc1's input) and the mean and rstd of its 16 rows, fc1 its
# output (GELU's input), GELU its output (fc2's input); the Block's residual sum is the next
# norm's (or the head's) input. The embedding's output is the first norm's input.
ROW, WIDE = TOKENS * HIDDEN * 4, TOKENS * MLP * 4  # [16, 16] and [16, 64] float32: 1,024 and 4,096
NORM_KEPT = ROW + 2 * TOKENS * 4
BLOCK_KEPT = NORM_KEPT + WIDE + WIDE + ROW


def test_with_memory_an_activations_row_sums_each_type(tiny_memory_profile: flopsight.Profile,
                                                       tiny_profile: flopsight.Profile) -> None:
    assert BLOCK_KEPT == 10368
    text = render_top(tiny_memory_profile, k=3, unit="", param_unit="")
    lines = text.splitlines()
    assert lines[0] == ("Top 3 modules in terms of params, MACs, FLOPs or activations at each depth "
                        "(same-type modules summed):")
    activation_rows = [line for line in lines if line.startswith("    activations - ")]
    assert activation_rows == [
        f"    activations - TinyLM: {(4 * BLOCK_KEPT + ROW) / 1024:g} KiB",  # 41.5 KiB
        "    activations - ModuleList: 40.5 KiB, Embedding: 1 KiB, Linear: 0 B",
        "    activations - 4 x Block: 40.5 KiB",
        # 8 x Linear: four fc1 (4,096 B each) and four fc2 (none); ties keep model order.
        "    activations - 8 x Linear: 16 KiB, 4 x GELU: 16 KiB, 4 x LayerNorm: 4.5 KiB",
    ]
    # The other rows are those of the view without memory, their labels padded to "activations".
    without = render_top(tiny_profile, k=3, unit="", param_unit="").splitlines()[1:]
    assert [" ".join(line.split()) for line in lines[1:] if line not in activation_rows] == [
        " ".join(line.split()) for line in without]
    assert tiny_memory_profile.top_activations(2) == [("Block", 4, 4 * BLOCK_KEPT)]
    assert tiny_memory_profile.top_activations(3, k=1) == [("Linear", 8, 4 * WIDE)]


def test_without_memory_the_view_is_unchanged(tiny_profile: flopsight.Profile) -> None:
    assert "activations" not in render_top(tiny_profile, k=None)
    assert tiny_profile.top_activations(1) == []
    with pytest.raises(flopsight.InputError, match="k takes None"):
        tiny_profile.top_activations(1, k=0)
