"""Timing reports: summary lines and per-module table over fixed plain data."""

from __future__ import annotations

import ast
from pathlib import Path

import torch
from torch import nn

import flopsight
from flopsight.report import timing as timing_report
from flopsight.report.units import format_percent
from flopsight.report.timing import format_latency, render_timing, render_timing_summary, render_timing_table
from flopsight.timing import ModuleTiming, TimingResult, achieved, summarize


def test_report_module_imports_no_torch_at_runtime() -> None:
    tree = ast.parse(Path(timing_report.__file__).read_text(encoding="utf-8"))
    for node in tree.body:  # `if TYPE_CHECKING:` blocks are skipped: they are ast.If
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("torch") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith(("torch", "timing", "tree"))


def test_format_latency() -> None:
    assert format_latency(0.01234) == "12.34 ms"
    assert format_latency(2.5) == "2.5 s"
    assert format_latency(3.2e-6) == "3.2 us"
    assert format_latency(0) == "0 s"


def fixture() -> tuple[flopsight.Profile, TimingResult]:
    model = nn.Sequential(nn.Linear(32, 16), nn.ReLU())
    ids = torch.randn(4, 32)
    profile = flopsight.profile(model, ids, backward=True)
    timing = TimingResult(
        device="cuda", device_name="NVIDIA A100-SXM4-80GB", dtype="bfloat16", warmup=2, repeat=2,
        forward=summarize([2e-3, 2e-3]), iteration=summarize([5e-3, 5e-3]),
        backward=summarize([3e-3, 3e-3]),
        modules={
            "": ModuleTiming("", 1, summarize([2e-3, 2e-3]), summarize([3e-3, 3e-3])),
            "0": ModuleTiming("0", 1, summarize([1.5e-3, 1.5e-3]), summarize([2e-3, 2e-3])),
            "1": ModuleTiming("1", 1, summarize([2.5e-4, 2.5e-4]), None),
        },
        batch_size=4, tokens=None,
    )
    return profile, timing


def test_summary_has_the_deepspeed_lines_and_mfu() -> None:
    profile, timing = fixture()
    a = achieved(profile, timing)
    text = render_timing_summary(timing, a)
    labels = [line.split(":")[0] for line in text.splitlines()]
    for label in ("fwd latency", "fwd FLOPS", "bwd latency", "iter latency", "Throughput", "Peak", "MFU"):
        assert label in labels, label
    assert "2 ms (min 2 ms, max 2 ms, stdev 0 s, n=2)" in text
    assert "800 samples/s" in text  # 4 samples / 5 ms
    assert "312 TFLOPS dense, A100 80GB bfloat16" in text
    mfu = (profile.forward.flops + profile.backward.flops) / 5e-3 / 312e12
    assert a.mfu == mfu
    line = next(line for line in text.splitlines() if line.startswith("MFU:"))
    assert line.split()[1:4] == [format_percent(mfu, 1.0), "(model", "FLOPs"]


def test_table_columns_latency_percent_and_flops() -> None:
    profile, timing = fixture()
    table = render_timing_table(profile, timing, achieved(profile, timing))
    lines = table.splitlines()
    for column in ("module", "type", "fwd latency", "% fwd", "fwd FLOPs", "fwd FLOPS", "bwd latency", "% bwd"):
        assert column in lines[0], column
    row = {line.split()[0]: line for line in lines[2:]}
    assert "1.5 ms" in row["0"] and "75%" in row["0"] and "2 ms" in row["0"]
    assert "12.5%" in row["1"] and row["1"].rstrip().endswith("-")
    assert "100%" in row["(root)"]
    assert render_timing(profile, timing).count("\n\n") == 1


def test_tree_lines_carry_latency_share_and_flops_when_timed() -> None:
    from flopsight.report import render_text, render_tree

    profile, timing = fixture()
    lines = render_tree(profile, timing=timing).splitlines()
    root, linear, relu = lines[1], lines[2], lines[3]  # the root opens a block; its figures follow
    # Linear 32 -> 16 on 4 rows: 2048 MACs, 4096 + 64 bias FLOPs; ReLU 64 FLOPs; root 4224
    assert profile.forward.flops == 2 * 4 * 32 * 16 + 4 * 16 + 4 * 16
    assert "2 ms = 100% fwd latency, 2.11 MFLOPS" in root  # 4224 / 2 ms
    assert "1.5 ms = 75% fwd latency, 2.77 MFLOPS" in linear  # 4160 / 1.5 ms
    assert "250 us = 12.5% fwd latency, 256 KFLOPS" in relu  # 64 / 0.25 ms
    assert "fwd latency" not in render_tree(profile)
    text = render_text(profile, timing=timing)
    assert "fwd latency, % of the model's fwd latency, fwd FLOPs per second" in text
