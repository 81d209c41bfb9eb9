"""report/html: one self-contained page, no request of any kind, the profile's figures inside."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from html_page import content_security_policy, embedded_view
from no_torch import run_without_torch
from torch import nn

import flopsight
from flopsight.cli import main
from flopsight.report import RenderOptions, render, render_tree
from flopsight.records.timing import TimingResult, summarize
from flopsight.report.html.escape import script_json
from flopsight.report.html.timeline import downsample
from flopsight.report.roofline import render_roofline
from flopsight.report.summary import render_summary
from flopsight.report.timing import format_latency
from flopsight.report.topk import render_top
from flopsight.report.units import format_bytes, format_count, format_duration

# Anything that would load or send something: a URL in src/href, a CSS import, a script request.
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|\burl\(|fetch\(|XMLHttpRequest|"""
                       r"""WebSocket|EventSource|sendBeacon|<link\b|<iframe\b|<img\b""", re.I)


def test_the_page_is_one_document_with_nothing_external(tiny_profile: flopsight.Profile) -> None:
    page = tiny_profile.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert _EXTERNAL.search(page) is None, _EXTERNAL.search(page)
    # Exactly two scripts: the data block (never run) and the inline report script.
    assert re.findall(r"<script[^>]*>", page) == ['<script type="application/json" id="flopsight-data">', "<script>"]


def test_the_policy_forbids_every_request_and_pins_the_inline_code(tiny_profile: flopsight.Profile) -> None:
    page = tiny_profile.to_html()
    csp = content_security_policy(page)
    assert csp["default-src"] == "'none'" and csp["base-uri"] == "'none'" and csp["form-action"] == "'none'"
    assert set(csp) <= {"default-src", "script-src", "style-src", "img-src", "base-uri", "form-action"}
    assert csp["img-src"] == "data:"
    for directive, tag in (("script-src", "<script>"), ("style-src", "<style>")):
        body = page.split(tag, 1)[1].split("</" + tag[1:], 1)[0]
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert csp[directive] == f"'sha256-{digest}'", directive  # only this exact code may run


def test_the_embedded_figures_are_the_profiles(tiny_backward_profile: flopsight.Profile) -> None:
    profile = tiny_backward_profile
    view = embedded_view(profile.to_html())
    assert [row["path"] for row in view["rows"]] == [node.name for node in profile.modules()]
    assert [row["type"] for row in view["rows"]] == [node.type for node in profile.modules()]
    labels = [c["label"] for c in view["columns"] if "of" not in c]
    assert labels == ["Module", "Type", "Params", "MACs", "FLOPs", "bwd FLOPs"]
    flops = labels.index("FLOPs") - 2
    raw_at = [i for i, c in enumerate(view["columns"][2:]) if "of" not in c][flops]
    for row, node in zip(view["rows"], profile.modules()):
        assert row["raw"][raw_at] == node.forward.flops
    # The text tree's shares, formatted by the same units: the root's cells read as its line does.
    root = view["rows"][0]
    assert f"{root['cells'][0]} = {root['cells'][1]} Params" in render_tree(profile, depth=0)


@pytest.mark.parametrize("key", ["flops", "params"])
def test_each_tile_and_its_self_tile_add_up_to_the_parent(tiny_profile: flopsight.Profile, key: str) -> None:
    view = embedded_view(tiny_profile.to_html())
    measure = next(t["measure"] for t in view["treemap"] if t["key"] == key)
    rows = view["rows"]
    for i, row in enumerate(rows):
        children = [r for r in rows if r["parent"] == i and "sizes" in r]
        if not children:
            continue
        whole, own = row["sizes"][[t["measure"] for t in view["treemap"]].index(measure)]
        shown = sum(c["sizes"][[t["measure"] for t in view["treemap"]].index(measure)][0] for c in children) + own
        assert shown == whole, (row["path"], key)
    assert rows[0]["sizes"][[t["key"] for t in view["treemap"]].index(key)][0] == (
        tiny_profile.forward.flops if key == "flops" else tiny_profile.params)


def test_memory_adds_the_activation_size_and_section(tiny_memory_profile: flopsight.Profile) -> None:
    view = embedded_view(tiny_memory_profile.to_html())
    keys = [t["key"] for t in view["treemap"]]
    assert "activations" in keys and "latency" not in keys and "predicted" not in keys
    at = keys.index("activations")
    assert view["rows"][0]["sizes"][at][0] == tiny_memory_profile.root.memory.activation_bytes
    assert "Memory" in [s["title"] for s in view["sections"]]


def test_a_hostile_module_name_cannot_leave_its_script_block() -> None:
    hostile = "</script><script>alert(1)</script><!--\u2028&amp;"
    model = nn.Sequential()
    model.add_module(hostile.replace(".", "_"), nn.Linear(4, 4))
    page = flopsight.profile(model, input_shape=(1, 4)).to_html()
    assert page.count("</script>") == 2 and "alert(1)" not in page.split("</script>", 1)[0].split("flopsight-data")[0]
    data_block = page.split('id="flopsight-data">', 1)[1].split("</script>", 1)[0]
    assert not set("<>&\u2028\u2029") & set(data_block)
    assert [row["path"] for row in embedded_view(page)["rows"]] == ["", hostile]


def test_script_json_reads_back_unchanged() -> None:
    tricky = {"a": "</script>", "b": "<!-- & -->", "c": "\u2028\u2029", "d": "é", "e": [1, 2.5, None]}
    text = script_json(tricky)
    assert json.loads(text) == tricky and not set("<>&\u2028\u2029") & set(text)


def test_to_html_is_the_cli_format_and_writes_atomically(tiny_profile: flopsight.Profile, tmp_path: Path) -> None:
    assert render(tiny_profile, "html", RenderOptions()) == tiny_profile.to_html()
    target = tmp_path / "tiny.html"
    assert tiny_profile.to_html(str(target)) == target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.html"]  # no temporary left behind


def test_cli_format_html_writes_the_page_to_html_equals(tmp_path: Path) -> None:
    saved, page = tmp_path / "example.json", tmp_path / "example.html"
    assert main(["example", "--device", "meta", "--seq-len", "16", "--format", "json", "-o", str(saved)]) == 0
    assert main(["example", "--device", "meta", "--seq-len", "16", "--format", "html", "-o", str(page)]) == 0
    profile = flopsight.Profile.from_dict(json.loads(saved.read_text(encoding="utf-8")))
    assert page.read_text(encoding="utf-8") == profile.to_html()


def test_a_bundled_config_profile_stays_small() -> None:
    pytest.importorskip("transformers")
    from flopsight.hf import profile_model

    profile = profile_model("llama-3-8b", device="meta")
    page = profile.to_html().encode("utf-8")
    assert len(page) < 300_000, len(page)
    rows = embedded_view(page.decode())["rows"]
    assert len(rows) == sum(1 for _ in profile.modules()) and rows[-1]["path"] == "lm_head"


def test_show_renders_a_saved_profile_as_html_without_torch(tiny_profile: flopsight.Profile, tmp_path: Path) -> None:
    saved, page = tmp_path / "tiny.json", tmp_path / "tiny.html"
    saved.write_text(json.dumps(tiny_profile.to_dict()), encoding="utf-8")
    done = run_without_torch("from flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "show", str(saved), "--format", "html", "-o", str(page))
    assert done.returncode == 0, done.stderr
    assert page.read_text(encoding="utf-8") == tiny_profile.to_html()


def _section(view: dict[str, Any], title: str) -> dict[str, Any]:
    return next(s for s in view["sections"] if s["title"].startswith(title))


def _tables(section: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in section["parts"] if p["kind"] == "table"]


def test_the_top_k_tables_hold_profile_top(tiny_backward_profile: flopsight.Profile) -> None:
    profile = tiny_backward_profile
    tables = _tables(_section(embedded_view(profile.to_html()), "Aggregated per depth"))
    assert [t["caption"] for t in tables] == [f"depth {d}" for d in range(profile.max_depth + 1)]
    for depth, table in enumerate(tables):
        flops = [row[1:] for row in table["rows"] if row[0] == "FLOPs"]
        expected = [[name, str(count), format_count(cost.flops, suffix="FLOPs")]
                    for name, count, cost, _ in profile.top(depth, 3, "flops")]
        assert flops == expected, depth
        # and each entry reads as the text report's line for that depth prints it
        line = render_top(profile, k=3).split(f"depth {depth}:\n", 1)[1].split("\n")[2]
        for name, count, shown in flops:
            assert f"{count + ' x ' if count != '1' else ''}{name}: {shown}" in line


def test_the_summary_is_the_text_reports_lines(tiny_profile: flopsight.Profile) -> None:
    summary = _section(embedded_view(tiny_profile.to_html()), "Summary")
    facts = [p for p in summary["parts"] if p["kind"] == "facts"]
    text = render_summary(tiny_profile)
    for label, value in facts[0]["rows"]:
        assert re.search(rf"^{re.escape(label)}:\s+{re.escape(value)}$", text, re.M), label
    conventions = dict(tiny_profile.metadata["conventions"])
    assert facts[1]["caption"] == "Conventions" and len(facts[1]["rows"]) == len(conventions) > 0
    for label, value in facts[1]["rows"]:
        assert f"  {label}: {value}" in text


def test_the_roofline_section_carries_the_predicted_step(tiny_backward_profile: flopsight.Profile) -> None:
    profile = tiny_backward_profile.roofline("h100-sxm")
    assert profile.prediction is not None
    section = _section(embedded_view(profile.to_html()), "Roofline on")
    facts = dict(next(p for p in section["parts"] if p["kind"] == "facts")["rows"])
    assert facts["predicted"].startswith(f"step {format_duration(profile.prediction.step_s, nanoseconds=True)} (forward ")
    assert facts["kernels"] and facts["best MFU"] in render_roofline(profile)
    modules, slowest = _tables(section)
    assert [row[0] for row in modules["rows"]] == [n.name or "(model)" for n in profile.modules() if n.roofline]
    ops = profile.predicted_ops()[:5]
    assert [row[:4] for row in slowest["rows"]] == [[o.module or "(model)", o.phase.value, o.op, str(o.calls)] for o in ops]
    text = render_roofline(profile)
    for row in modules["rows"] + slowest["rows"]:
        assert re.search(r"\s+".join(re.escape(c) for c in row), text), row


def test_timing_is_a_small_summary_table(tiny_profile: flopsight.Profile) -> None:
    timing = TimingResult(device="cpu", device_name="test CPU", dtype="float32", warmup=1, repeat=2,
                          forward=summarize([2e-3, 2e-3]), iteration=summarize([5e-3, 5e-3]))
    timed = tiny_profile.with_timing(timing)
    section = _section(embedded_view(timed.to_html()), "Timing")
    rows = section["parts"][0]["rows"]
    assert [r[0] for r in rows][:3] == ["Device", "Warm-up / repeat", "fwd latency"]
    assert rows[2][1].startswith(format_latency(0.002))


def test_downsampling_keeps_the_ends_and_the_peak_exactly() -> None:
    values = [(i * 7919) % 1000 for i in range(50_000)]
    values[31_337] = 5_000  # the one peak
    kept = downsample(values, 2000)
    assert len(kept) <= 2000 and kept == sorted(set(kept))
    assert kept[0] == 0 and kept[-1] == len(values) - 1 and 31_337 in kept
    assert max(values[i] for i in kept) == 5_000
    assert downsample([3, 1, 2], 2000) == [0, 1, 2]  # few ticks: every one


def test_the_memory_chart_marks_the_runs_peak(tiny_memory_profile: flopsight.Profile) -> None:
    memory = tiny_memory_profile.memory
    assert memory is not None and memory.peak_phase is not None
    chart = next(p for p in _section(embedded_view(tiny_memory_profile.to_html()), "Memory")["parts"] if p["kind"] == "chart")
    assert chart["peak"]["bytes"] == memory.peak_bytes == max(chart["bytes"])
    assert chart["bytes"][chart["ticks"].index(chart["peak"]["tick"])] == memory.peak_bytes
    assert chart["peak"]["label"].startswith(f"peak {format_bytes(memory.peak_bytes)}, in the {memory.peak_phase.value} of ")
    assert chart["ticks"][0] == 0 and chart["ticks"][-1] == chart["ops"] - 1 == len(memory.record.paths) - 1
    assert chart["phases"][0][:1] == [0] and chart["phases"][-1][1] == chart["ops"]
    assert [span[2] for span in chart["phases"]][:2] == ["forward", "backward"]  # a training step's order
    assert chart["y_ticks"][0] == [0, "0 B"] and chart["y_ticks"][-1][0] >= memory.peak_bytes > chart["y_ticks"][-2][0]


def test_a_plans_job_is_the_text_reports_tables() -> None:
    from distributed_profiles import table
    from test_job_report import tp_job, tp_rank

    from flopsight.report import render_job
    from flopsight.report.plan import PlanReport, render_plan_html

    job = tp_job()
    view = embedded_view(render_plan_html(PlanReport(rank_profile=tp_rank(0), job=job, plan={"rank": 0})))
    section = view["sections"][0]
    assert section["title"] == "Job (simulated rank 0 of 8 shown)"
    ranks, comm = _tables(section)
    text = render_job(job)
    assert [dict(zip(ranks["header"], row)) for row in ranks["rows"]] == table(text, "Per rank")
    assert [dict(zip(comm["header"], row)) for row in comm["rows"]] == table(text, comm["caption"])
    assert dict(section["parts"][0]["rows"])["world size"] == "8"


def test_the_communication_table_is_the_text_reports() -> None:
    from distributed_profiles import table
    from test_job_report import tp_rank

    from flopsight.report import render_html
    from flopsight.report.communication import render_communication

    profile = tp_rank(0)
    section = _section(embedded_view(render_html(profile)), "Communication")
    (comm,) = _tables(section)
    text = render_communication(profile)
    assert [dict(zip(comm["header"], row)) for row in comm["rows"]] == table(text)
    assert comm["rows"][-1][0] == "total" and len(comm["rows"]) == 3  # the tp all-reduce, the dp all-gather
    groups = dict(next(p for p in section["parts"] if p["kind"] == "facts")["rows"])
    assert groups["tp"].startswith("4 ranks (0-3)") and f"  tp: {groups['tp']}" in text
