"""The Chrome / Perfetto trace: modules nested per phase, durations the recorded medians."""

from __future__ import annotations

import json
from typing import Any

import pytest

from exported_profiles import BACKWARD_MS, FORWARD_MS, counted_profile, timed_profile
import flopsight
from flopsight.errors import InputError
from flopsight.records import Phase
from flopsight.report import RenderOptions, render
from flopsight.tree import ModuleRoofline


def _slices(trace: dict[str, Any], tid: int) -> dict[str, dict[str, Any]]:
    return {e["args"]["module"]: e for e in trace["traceEvents"] if e["ph"] == "X" and e["tid"] == tid}


def _ns(value: float) -> int:
    return round(value * 1000)  # ts and dur are microseconds; the layout is in whole nanoseconds


@pytest.fixture(scope="module")
def trace() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render(timed_profile(), "trace", RenderOptions()))
    return loaded


def test_the_trace_is_trace_event_json_with_a_track_per_phase(trace: dict[str, Any]) -> None:
    assert trace["displayTimeUnit"] == "ms"
    names = {e["tid"]: e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {1: "forward", 2: "backward"}
    assert {e["cat"] for e in _slices(trace, 1).values()} == {"forward"}
    assert {e["cat"] for e in _slices(trace, 2).values()} == {"backward"}
    # Every timed module once per phase; the shared module's second position ("tail") draws nothing.
    assert set(_slices(trace, 1)) == set(FORWARD_MS) and set(_slices(trace, 2)) == set(BACKWARD_MS)


@pytest.mark.parametrize("tid", [1, 2])
def test_each_child_lies_within_its_parent_and_siblings_do_not_overlap(trace: dict[str, Any], tid: int) -> None:
    slices = _slices(trace, tid)
    for name, event in slices.items():
        if not name:
            continue
        parent = slices[name.rpartition(".")[0]]
        assert _ns(parent["ts"]) <= _ns(event["ts"])
        assert _ns(event["ts"]) + _ns(event["dur"]) <= _ns(parent["ts"]) + _ns(parent["dur"])
    for siblings in (["enc", "head"], ["enc.a", "enc.b"]):
        spans = sorted((_ns(slices[s]["ts"]), _ns(slices[s]["ts"]) + _ns(slices[s]["dur"])) for s in siblings)
        assert spans[0][1] <= spans[1][0]


def test_durations_are_the_medians_and_children_follow_each_other(trace: dict[str, Any]) -> None:
    forward = _slices(trace, 1)
    for name, ms in FORWARD_MS.items():  # forward: children 6 + 3 ms fit the root's 10
        assert forward[name]["dur"] == pytest.approx(ms * 1000)
        assert forward[name]["args"]["median_us"] == pytest.approx(ms * 1000)
        assert "clamped" not in forward[name]["args"]
    # Tree order from the parent's start: enc at 0, head after enc's 6 ms; a at 0, b after a's 2 ms.
    assert [forward[n]["ts"] for n in ("", "enc", "enc.a", "enc.b", "head")] == pytest.approx([0, 0, 0, 2000, 6000])


def test_backward_follows_forward_in_reverse_order_and_is_clamped_to_the_parent(trace: dict[str, Any]) -> None:
    backward = _slices(trace, 2)
    start = FORWARD_MS[""] * 1000  # backward starts where the forward ends
    assert backward[""]["ts"] == pytest.approx(start)
    assert backward[""]["dur"] == pytest.approx(BACKWARD_MS[""] * 1000)
    # Reverse order: head first (9 ms); enc's 12 ms median gets the root's remaining 20 - 9 = 11 ms.
    assert backward["head"]["ts"] == pytest.approx(start)
    assert backward["enc"]["ts"] == pytest.approx(start + 9000)
    assert backward["enc"]["dur"] == pytest.approx((20 - 9) * 1000)
    assert backward["enc"]["args"]["clamped"] is True
    assert backward["enc"]["args"]["median_us"] == pytest.approx(12_000)
    # Inside enc, b (4 ms) then a (5 ms): both fit its 11 ms.
    assert backward["enc.b"]["ts"] == pytest.approx(start + 9000)
    assert backward["enc.a"]["ts"] == pytest.approx(start + 9000 + 4000)
    assert backward["enc.a"]["dur"] == pytest.approx(5000)


def test_slices_carry_the_module_figures(trace: dict[str, Any]) -> None:
    a = _slices(trace, 1)["enc.a"]["args"]
    assert (a["type"], a["params"], a["flops"], a["macs"]) == ("Linear", 40, 1000, 500)
    assert a["own_op_flops"] == {"aten.mm.default": 1000}
    assert _slices(trace, 2)["enc.a"]["args"]["flops"] == 2000


def test_a_profile_without_timing_is_refused_in_one_line() -> None:
    with pytest.raises(InputError, match="the trace needs timing: add --time"):
        counted_profile().to_chrome_trace()


def test_the_method_and_the_format_agree() -> None:
    profile = timed_profile()
    assert json.loads(render(profile, "trace", RenderOptions())) == json.loads(json.dumps(profile.to_chrome_trace()))


def test_an_untimed_profile_with_a_roofline_traces_the_predicted_seconds(
        tiny_backward_profile: flopsight.Profile) -> None:
    target = tiny_backward_profile.roofline("h100-sxm", calibrated=False).roofline_target
    # Predicted seconds written by hand: a parent's are its children's plus its own.
    predicted_us = {"": 100.0, "enc": 60.0, "enc.a": 25.0, "enc.b": 35.0, "head": 30.0}
    profile = counted_profile()
    profile.roofline_target = target
    for node in profile.modules():
        node.roofline = ModuleRoofline(predicted_s={Phase.FORWARD: predicted_us[node.name] / 1e6,
                                                    Phase.BACKWARD: 2 * predicted_us[node.name] / 1e6})
    trace = profile.to_chrome_trace()
    assert trace["otherData"]["source"] == "roofline"
    forward, backward = _slices(trace, 1), _slices(trace, 2)
    for name, us in predicted_us.items():
        assert forward[name]["dur"] == pytest.approx(us) and backward[name]["dur"] == pytest.approx(2 * us)
        assert forward[name]["args"]["predicted_us"] == pytest.approx(us)
        assert "clamped" not in forward[name]["args"] and "clamped" not in backward[name]["args"]
    assert [forward[n]["ts"] for n in ("enc", "enc.b", "head")] == pytest.approx([0, 25, 60])
    assert backward[""]["ts"] == pytest.approx(100)  # after the forward's 100 us
