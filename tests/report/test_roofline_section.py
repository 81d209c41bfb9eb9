"""The roofline section: per-module predicted time, share and bound beside FLOPs; in the text
report only when predicted; the same from JSON."""

from __future__ import annotations

import json

import flopsight
from flopsight.report import render_text
from flopsight.report.roofline import render_roofline
from flopsight.report.units import format_duration, format_percent


def test_no_section_without_a_roofline(tiny_backward_profile: flopsight.Profile) -> None:
    assert render_roofline(tiny_backward_profile) == ""
    assert "Roofline" not in render_text(tiny_backward_profile)


def test_each_module_has_its_predicted_time_and_share(tiny_backward_profile: flopsight.Profile) -> None:
    p = tiny_backward_profile.roofline("h100-sxm", memory_efficiency=0.8)
    text = render_roofline(p, ops=3)
    summary = p.prediction
    assert summary is not None
    assert "H100 SXM: float32 dense peak 67 TFLOPS, memory 3.35 TB/s" in text
    assert "compute 1, memory 0.8" in text
    assert f"step {format_duration(summary.step_s, nanoseconds=True)}" in text
    table = text.split("Slowest ops")[0].splitlines()
    rows = {line.split()[0]: line for line in table if line.startswith(("(model)", "layers.0 ", "head "))}
    assert format_duration(summary.step_s, nanoseconds=True) in rows["(model)"] and "100%" in rows["(model)"]
    head = p.module("head").roofline
    assert head is not None
    assert format_percent(head.step_s, summary.step_s) in rows["head"]
    assert "Slowest ops (3):" in text
    slowest = p.predicted_ops()[0]
    assert any(slowest.op in line and slowest.bound in line for line in text.splitlines())


def test_depth_limits_the_rows(tiny_backward_profile: flopsight.Profile) -> None:
    text = render_roofline(tiny_backward_profile.roofline("a100-80gb"), depth=1, ops=0)
    assert "layers " in text and "layers.0" not in text and "Slowest" not in text


def test_the_text_report_carries_the_section_and_json_renders_the_same(
        tiny_backward_profile: flopsight.Profile) -> None:
    p = tiny_backward_profile.roofline("mi300x")
    text = render_text(p)
    assert "Roofline on MI300X\n------------------" in text
    assert text.index("Roofline on") < text.index("Per module")
    back = flopsight.Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert render_text(back) == text


def test_a_distributed_run_gets_its_links_comm_time_and_both_overlap_steps() -> None:
    from distributed_profiles import MiB, collective, node, rank_profile

    from flopsight.records import Phase
    from flopsight.records.communication import Collective, ProcessGroupInfo

    groups = {"1": ProcessGroupInfo("1", 8, tuple(range(8)), "tp")}
    mlp = node("mlp", "MLP", fwd_flops=2 * 10**12,
               comm={Phase.FORWARD: {(Collective.ALL_REDUCE, "1"): collective(Collective.ALL_REDUCE, 64 * MiB, 8)}})
    p = rank_profile(0, node("", "Block", children=[mlp]), groups, world=8, mesh={"tp": 8}).roofline("h100-sxm")
    summary = p.prediction
    assert summary is not None
    comm_s = 2 * 7 / 8 * 64 * MiB / 900e9  # ring all-reduce bus bytes over NVLink
    assert summary.comm_step_s == comm_s
    text = render_roofline(p, ops=0)
    seconds = format_duration(comm_s, nanoseconds=True)
    assert "NVLink 900 GB/s within a node (groups of <= 8 GPUs), 50 GB/s per GPU between nodes" in text
    assert f"comm:       {seconds} (forward {seconds}) (bus bytes / link bandwidth)" in text
    assert (f"step {format_duration(summary.step_s + comm_s, nanoseconds=True)} with no overlap (the sum), "
            f"{format_duration(max(summary.step_s, comm_s), nanoseconds=True)} with full overlap") in text
    assert "comm:" in render_text(p)


def test_a_run_without_collectives_has_no_comm_lines(tiny_backward_profile: flopsight.Profile) -> None:
    text = render_roofline(tiny_backward_profile.roofline("h100-sxm"))
    assert "comm:" not in text and "links:" not in text
