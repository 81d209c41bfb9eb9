"""report/communication.py, and one rank's collectives in the summary, text and JSON reports."""

from __future__ import annotations

import json

import pytest
from distributed_profiles import MiB, collective, node, rank_profile, size_of, table

from flopsight.errors import InputError
from flopsight.records import Phase
from flopsight.records.communication import Collective, ProcessGroupInfo
from flopsight.report.communication import render_communication
from flopsight.report.formats import RenderOptions
from flopsight.report.json_format import render_profile_json
from flopsight.report.summary import render_summary
from flopsight.report.text import render_text
from flopsight.tree import Profile

AR, AG, RS = Collective.ALL_REDUCE, Collective.ALL_GATHER, Collective.REDUCE_SCATTER
# Rank 5 of a 2 (dp) x 4 (tp) mesh: its tp group is ranks 4-7 (torch names it "1"), its dp
# group ranks 1 and 5 ("2").
GROUPS = {"1": ProcessGroupInfo("1", 4, (4, 5, 6, 7), "tp"), "2": ProcessGroupInfo("2", 2, (1, 5), "dp")}


def tp_block_rank() -> Profile:
    """A block of attention and MLP, each ending in a tp all-reduce of its 4 MiB output, under a
    model whose FSDP all-gathers 2 MiB of parameters in forward and reduce-scatters their 2 MiB
    of gradients in backward (twice: two buckets)."""
    attn = node("layers.0.attn", "Attention", params=1024, local_params=128, fwd_flops=4000,
                comm={Phase.FORWARD: {(AR, "1"): collective(AR, 4 * MiB, 4)}})
    mlp = node("layers.0.mlp", "MLP", params=2048, local_params=256, fwd_flops=8000,
               comm={Phase.FORWARD: {(AR, "1"): collective(AR, 4 * MiB, 4)},
                     Phase.BACKWARD: {(AR, "1"): collective(AR, 4 * MiB, 4)}})
    block = node("layers.0", "Block", children=[attn, mlp])
    layers = node("layers", "ModuleList", children=[block])
    root = node("", "TinyTP", children=[layers],
                comm={Phase.FORWARD: {(AG, "2"): collective(AG, 2 * MiB, 2)},
                      Phase.BACKWARD: {(RS, "2"): collective(RS, 2 * MiB, 2, calls=2)}})
    return rank_profile(5, root, GROUPS, world=8, mesh={"dp": 2, "tp": 4})


def test_each_module_row_holds_the_collectives_it_issued_with_nccl_bus_bytes() -> None:
    rows = table(render_communication(tp_block_rank()))
    shown = [(r["module"], r["phase"], r["collective"], r["group"], r["size"], r["calls"], r["payload"], r["bus bytes"])
             for r in rows]
    assert shown == [
        # all-gather of S = 2 MiB over 2 ranks: (n-1)/n x S = 1 MiB on the link.
        ("(model) (TinyTP)", "forward", "all_gather", "dp", "2", "1", "2 MiB", "1 MiB"),
        # reduce-scatter, twice: payload 2 x 2 MiB, bus 2 x (1/2 x 2 MiB).
        ("(model) (TinyTP)", "backward", "reduce_scatter", "dp", "2", "2", "4 MiB", "2 MiB"),
        # all-reduce of S = 4 MiB over 4 ranks: 2 x 3/4 x S = 1.5 x S = 6 MiB.
        ("layers.0.attn (Attention)", "forward", "all_reduce", "tp", "4", "1", "4 MiB", "6 MiB"),
        ("layers.0.mlp (MLP)", "forward", "all_reduce", "tp", "4", "1", "4 MiB", "6 MiB"),
        ("layers.0.mlp (MLP)", "backward", "all_reduce", "tp", "4", "1", "4 MiB", "6 MiB"),
        ("total", "", "", "", "", "6", "18 MiB", "21 MiB"),
    ]


@pytest.mark.parametrize("depth", [None, 0, 1, 2, 3, 9])
def test_rows_add_up_to_the_total_and_to_the_profile_at_every_depth(depth: int | None) -> None:
    profile = tp_block_rank()
    rows = table(render_communication(profile, depth=depth))
    body, total = rows[:-1], rows[-1]
    assert total["module"] == "total"
    assert sum(int(r["calls"]) for r in body) == int(total["calls"]) == 6
    assert sum(size_of(r["payload"]) for r in body) == size_of(total["payload"])
    assert sum(size_of(r["bus bytes"]) for r in body) == size_of(total["bus bytes"])
    # The profile's own totals: 1 + 2 + 3 calls; 2 + 4 + 3 x 4 MiB payload; 1 + 2 + 3 x 6 MiB bus.
    assert size_of(total["payload"]) == sum(t.payload_bytes for t in profile.communication().values()) == 18 * MiB
    assert size_of(total["bus bytes"]) == sum(t.bus_bytes for t in profile.communication().values()) == 21 * MiB


def test_a_depth_rolls_submodules_into_their_ancestor() -> None:
    rows = table(render_communication(tp_block_rank(), depth=2))
    block = [r for r in rows if r["module"].startswith("layers.0 ")]
    # attn's and mlp's forward all-reduces are one row of layers.0: 2 calls, 2 x 6 MiB.
    assert [(r["phase"], r["calls"], r["bus bytes"]) for r in block] == [("forward", "2", "12 MiB"),
                                                                         ("backward", "1", "6 MiB")]
    assert not any(r["module"].startswith(("layers.0.attn", "layers.0.mlp")) for r in rows)
    whole = table(render_communication(tp_block_rank(), depth=0))
    assert [(r["phase"], r["collective"], r["calls"]) for r in whole[:-1]] == [
        ("forward", "all_reduce", "2"), ("forward", "all_gather", "1"),  # largest bus bytes first: 12 MiB, 1 MiB
        ("backward", "all_reduce", "1"), ("backward", "reduce_scatter", "2"),
    ]


def test_groups_are_listed_with_their_ranks() -> None:
    text = render_communication(tp_block_rank())
    groups = text.split("Process groups:\n")[1].splitlines()
    assert groups == ["  dp: 2 ranks (1, 5), process group 2", "  tp: 4 ranks (4-7), process group 1"]


def test_a_group_the_profile_does_not_describe_still_gets_its_row() -> None:
    root = node("", "M", comm={Phase.FORWARD: {(AR, "7"): collective(AR, MiB, 8)}})
    profile = rank_profile(0, root, {}, world=8, mesh={"dp": 8})
    rows = table(render_communication(profile))
    # 2 x 7/8 x 1 MiB = 1.75 MiB.
    assert (rows[0]["group"], rows[0]["size"], rows[0]["bus bytes"]) == ("group 7", "?", "1.75 MiB")
    assert "Process groups" not in render_communication(profile)


def test_no_collectives_no_table() -> None:
    profile = rank_profile(0, node("", "M", fwd_flops=10), GROUPS, world=8, mesh={"dp": 2, "tp": 4})
    assert render_communication(profile) == ""
    assert render_communication(Profile(root=node("", "M"))) == ""
    assert "Communication" not in render_text(profile)


def test_a_bad_depth_is_refused() -> None:
    with pytest.raises(InputError, match="depth"):
        render_communication(tp_block_rank(), depth=-1)


def summary_rows(text: str) -> dict[str, str]:
    return {label.strip(): value.strip() for label, _, value in (line.partition(":") for line in text.splitlines())}


def test_the_summary_names_the_rank_its_shards_and_its_collectives() -> None:
    summary = summary_rows(render_summary(tp_block_rank(), param_unit=""))
    assert summary["Rank"] == "5 of 8 (nccl; mesh dp=2 tp=4, at dp1 tp1)"
    assert summary["Params"] == "3072"  # attn 1,024 + mlp 2,048: the model's, each counted once
    # This rank's shards: 128 + 256 float32 elements, 4 bytes each = 1,536 B = 1.5 KiB.
    assert summary["Params on this rank (local shards)"] == "384 (1.5 KiB)"
    assert summary["Communication"] == "6 calls, 18 MiB payload, 21 MiB bus bytes"


def test_a_simulated_pipelined_rank_says_so() -> None:
    profile = rank_profile(3, node("", "M"), {}, world=4, mesh={"pp": 2, "dp": 2}, stage=1, backend="fake")
    summary = summary_rows(render_summary(profile))
    assert summary["Rank"] == "3 of 4 (fake: a simulated job; mesh pp=2 dp=2, at pp1 dp1; pipeline stage 1)"
    assert "Communication" not in summary


def test_a_profile_of_no_distributed_run_has_no_distributed_lines() -> None:
    summary = summary_rows(render_summary(Profile(root=node("", "M", params=10, fwd_flops=10))))
    assert not {"Rank", "Params on this rank (local shards)", "Communication"} & set(summary)


def test_the_text_report_carries_the_table_after_memory() -> None:
    profile = tp_block_rank()
    text = render_text(profile)
    section = "Communication\n-------------\n" + render_communication(profile) + "\n\n"
    assert section in text
    assert text.index("flopsight profile") < text.index(section) < text.index("Per module")


def test_json_carries_the_rank_and_renders_the_same_read_back() -> None:
    profile = tp_block_rank()
    data = json.loads(render_profile_json(profile, RenderOptions()))
    assert data["distributed"]["mesh"] == {"dp": 2, "tp": 4}
    assert data["process_groups"]["1"]["mesh_dim"] == "tp"
    again = Profile.from_dict(data)
    assert render_communication(again) == render_communication(profile)
    assert render_text(again) == render_text(profile)


def test_a_width_drops_the_types_then_cuts_long_paths_from_the_left() -> None:
    deep = node("encoder.layers.11.self_attention.out_proj", "RowParallelLinear",
                comm={Phase.FORWARD: {(AR, "1"): collective(AR, 4 * MiB, 4)}})
    root = node("", "M", children=[node("encoder", "E", children=[node("encoder.layers", "L", children=[
        node("encoder.layers.11", "B", children=[node("encoder.layers.11.self_attention", "A", children=[deep])])])])])
    profile = rank_profile(0, root, GROUPS, world=8, mesh={"dp": 2, "tp": 4})
    wide = render_communication(profile)
    assert "encoder.layers.11.self_attention.out_proj (RowParallelLinear)" in wide
    # The path is 41 columns, the other columns 61 with their gaps: 102 without the type.
    fitted = render_communication(profile, width=110)
    assert max(len(line) for line in fitted.splitlines()) <= 110
    assert "encoder.layers.11.self_attention.out_proj  " in fitted and "RowParallelLinear" not in fitted
    cut = render_communication(profile, width=80)
    assert max(len(line) for line in cut.splitlines()) <= 80
    # 80 - 61 = 19 columns for the path: "..." and its last 16 characters.
    assert table(cut)[0]["module"] == "..." + "encoder.layers.11.self_attention.out_proj"[-16:] == "...tention.out_proj"
