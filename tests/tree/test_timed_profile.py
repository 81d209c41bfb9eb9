"""A timed profile carries its latencies on its nodes and survives a JSON round trip with them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import flopsight
from flopsight.report import render_text, render_timing
from flopsight.timing import measure_time
from no_torch import run_without_torch


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))


@pytest.fixture(scope="module")
def timed() -> flopsight.Profile:
    model, x = _model(), torch.randn(4, 16)
    counted = flopsight.profile(model, x, backward=True)
    timing = measure_time(model, x, warmup=0, repeat=3, backward=True)
    return counted.with_timing(timing, peak_tflops=0.5)


def _round_trip(profile: flopsight.Profile) -> flopsight.Profile:
    return flopsight.Profile.from_dict(json.loads(json.dumps(profile.to_dict())))


def test_each_module_node_carries_its_latency(timed: flopsight.Profile) -> None:
    assert timed.timing is not None
    for path in ("", "0", "1", "2"):
        node = timed.module(path)
        assert node.timing is not None and node.timing.name == path
        assert node.timing.forward.count == 3 and node.timing.backward is not None
        # achieved FLOPS on the node: its counted FLOPs over its median latency
        assert node.forward_flops_per_s == node.forward.flops / node.timing.forward.median
        assert node.backward_flops_per_s == node.backward.flops / node.timing.backward.median
    assert list(timed.timing.modules) == ["", "0", "1", "2"]


def test_a_timed_profile_read_back_from_json_renders_byte_identically(timed: flopsight.Profile) -> None:
    back = _round_trip(timed)
    assert back.timing == timed.timing
    assert back.peak_tflops == 0.5
    assert back.achieved() == timed.achieved()
    assert render_text(back) == render_text(timed)
    assert "fwd latency" in render_text(back)  # the tree's latency columns came back too
    assert render_timing(back, achieved=back.achieved()) == render_timing(timed, achieved=timed.achieved())
    assert str(back) == str(timed)
    assert back.to_dict() == timed.to_dict()


def test_the_timing_argument_and_a_carried_timing_render_the_same(timed: flopsight.Profile) -> None:
    timing = timed.timing
    assert timing is not None
    plain = flopsight.Profile.from_dict({**timed.to_dict(), "timing": None, "achieved": None})
    assert plain.timing is None and "fwd latency" not in render_text(plain)
    assert render_text(plain, timing=timing) == render_text(timed)
    assert render_timing(plain, timing) == render_timing(timed)
    assert plain.timing is None  # rendering with timing= leaves the profile as it was


def test_a_peak_from_the_table_is_not_stored_as_given(timed: flopsight.Profile) -> None:
    untimed_peak = timed.with_timing(timed.timing)  # type: ignore[arg-type]
    back = _round_trip(untimed_peak)
    assert back.peak_tflops is None
    achieved = back.achieved()
    assert achieved is not None and achieved.peak_source is None  # a CPU: no peak known


def test_an_untimed_profile_writes_no_timing_keys() -> None:
    counted = flopsight.profile(_model(), torch.randn(4, 16))
    data = counted.to_dict()
    assert "timing" not in data and "achieved" not in data
    assert all("timing" not in node for node in data["root"]["children"])


READ_AND_RENDER = """
import json
import flopsight
from flopsight.report import render_text, render_timing
with open(sys.argv[1], encoding="utf-8") as f:
    profile = flopsight.Profile.from_dict(json.load(f))
print(json.dumps({"text": render_text(profile), "str": str(profile),
                  "timing": render_timing(profile, achieved=profile.achieved()),
                  "modules": sorted(m for m in sys.modules if m.startswith("flopsight"))}))
"""


def test_a_saved_profile_reads_and_renders_without_torch(timed: flopsight.Profile, tmp_path: Path) -> None:
    saved = tmp_path / "profile.json"
    saved.write_text(json.dumps(timed.to_dict()), encoding="utf-8")
    done = run_without_torch(READ_AND_RENDER, str(saved))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["text"] == render_text(timed)
    assert out["str"] == str(timed)
    assert out["timing"] == render_timing(timed, achieved=timed.achieved())
    assert "flopsight.capture" not in out["modules"] and "flopsight.tree.build" not in out["modules"]


def test_importing_flopsight_imports_no_torch() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, flopsight, flopsight.report; "
                           "p = flopsight.Profile; print('torch' in sys.modules)"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
