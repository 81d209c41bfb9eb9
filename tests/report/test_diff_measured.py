"""report/diff on the measured figures: latency, predicted seconds and bus bytes, each change
checked against the two profiles' own figures or by hand; and JSON that stays JSON when a figure
is not a finite number."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from torch import nn

import flopsight
from flopsight.records import OpTotals, Phase
from flopsight.records.communication import Collective, CommTotals, ProcessGroupInfo, bus_bytes
from flopsight.records.timing import ModuleTiming, Stats, TimingResult, summarize
from flopsight.report.diff import ProfileDiff, diff, render_diff
from flopsight.report.formats import RenderOptions, render
from flopsight.tree import ModuleNode, Profile

IN, N = 4, 3
MiB = 2**20


def mlp(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(IN, width), nn.ReLU(), nn.Linear(width, 2))


def _strict_json(text: str) -> Any:
    """``json.loads`` that refuses the non-JSON tokens NaN, Infinity and -Infinity."""
    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _timing(forward: dict[str, list[float]], backward: dict[str, list[float]]) -> TimingResult:
    """Hand-set per-iteration seconds per module (the root is "")."""
    modules = {name: ModuleTiming(name, 1, summarize(samples),
                                  summarize(backward[name]) if name in backward else None)
               for name, samples in forward.items()}
    root = modules[""]
    return TimingResult(device="cpu", device_name="test cpu", dtype="float32", warmup=0, repeat=3,
                        forward=root.forward, iteration=root.forward, backward=root.backward, modules=modules)


def _timed(width: int, forward: dict[str, list[float]], backward: dict[str, list[float]]) -> Profile:
    return flopsight.profile(mlp(width), input_shape=(N, IN), backward=True).with_timing(_timing(forward, backward))


def test_latency_change_is_b_minus_a_of_each_modules_median() -> None:
    a = _timed(8, {"": [3e-3, 4e-3, 5e-3], "0": [1e-3, 2e-3, 6e-3], "2": [5e-4, 5e-4, 7e-4]},
               {"": [6e-3, 7e-3, 8e-3], "0": [2e-3, 2e-3, 2e-3]})
    b = _timed(16, {"": [5e-3, 6e-3, 9e-3], "0": [3e-3, 3e-3, 1e-3], "2": [8e-4, 9e-4, 1e-3]},
               {"": [9e-3, 9e-3, 9e-3], "0": [4e-3, 5e-3, 6e-3]})
    d = diff(a, b)
    assert {"forward_latency", "backward_latency"} <= set(d.figures)
    changes = {m.path_a: m.changes for m in d.modules} | {"": d.total.changes}
    for path in ("", "0", "2"):
        ta, tb = a.module(path).timing, b.module(path).timing
        assert ta is not None and tb is not None
        latency = changes[path]["forward_latency"]
        assert (latency.a, latency.b) == (ta.forward.median, tb.forward.median)
        assert latency.delta == tb.forward.median - ta.forward.median
    # by hand: the medians of the samples above
    assert changes["0"]["forward_latency"].delta == 3e-3 - 2e-3
    assert changes["0"]["backward_latency"].delta == 5e-3 - 2e-3
    assert changes["2"]["backward_latency"].delta is None  # "2" has no backward timing in either run
    assert changes["1"]["forward_latency"].delta is None  # ReLU untimed
    assert [m.path_a for m in diff(a, b, sort="backward_latency").ranked()][:1] == ["0"]


def test_a_profile_with_a_timing_and_one_without_compare_no_latency() -> None:
    timed = _timed(8, {"": [1e-3]}, {})
    assert "forward_latency" not in diff(timed, flopsight.profile(mlp(8), input_shape=(N, IN))).figures


def test_predicted_seconds_change_is_the_difference_of_each_modules_step() -> None:
    a, b = (flopsight.profile(mlp(w), input_shape=(N, IN)).roofline("h100-sxm", calibrated=False) for w in (8, 4096))
    d = diff(a, b, sort="predicted_seconds")
    changes = {m.path_a: m.changes["predicted_seconds"] for m in d.modules} | {"": d.total.changes["predicted_seconds"]}
    for path in ("", "0", "1", "2"):
        ra, rb = a.module(path).roofline, b.module(path).roofline
        assert ra is not None and rb is not None
        delta = changes[path].delta
        assert delta == rb.step_s - ra.step_s and delta is not None and delta > 0  # wider: slower
    assert "predicted_seconds" not in diff(a, flopsight.profile(mlp(8), input_shape=(N, IN))).figures


def _communicating(payload: int | None) -> Profile:
    """A root that all-reduces ``payload`` bytes over 8 tp ranks in forward, with a Linear child
    that all-gathers ``payload`` bytes over 4 dp ranks in backward; no collectives when None."""
    def comm(kind: Collective, group: str, size: int) -> dict[Phase, dict[tuple[Collective, str], CommTotals]]:
        if payload is None:
            return {}
        phase = Phase.FORWARD if kind is Collective.ALL_REDUCE else Phase.BACKWARD
        return {phase: {(kind, group): CommTotals(1, payload, bus_bytes(kind, payload, size))}}

    fc = ModuleNode(name="fc", type="Linear", own_ops={Phase.FORWARD: {"aten.mm": OpTotals(calls=1, macs=8, flops=16)}},
                    own_comm=comm(Collective.ALL_GATHER, "2", 4))
    root = ModuleNode(name="", type="Block", own_comm=comm(Collective.ALL_REDUCE, "1", 8), children=[fc])
    groups = {"1": ProcessGroupInfo("1", 8, tuple(range(8)), "tp"), "2": ProcessGroupInfo("2", 4, (0, 8, 16, 24), "dp")}
    profile = Profile(root=root, process_groups=groups if payload is not None else {}, metadata={"model_type": "Block"})
    profile.root.finalize()
    return profile


def test_bus_bytes_change_by_hand() -> None:
    a, b = _communicating(16 * MiB), _communicating(64 * MiB)
    d = diff(a, b, sort="bus_bytes")
    # NCCL's bus bytes: all-reduce 2 (n - 1) / n x payload over 8 ranks, all-gather (n - 1) / n over 4
    all_reduce, all_gather = 2 * 7 / 8, 3 / 4
    fc = next(m for m in d.modules if m.path_a == "fc").changes["bus_bytes"]
    assert (fc.a, fc.b, fc.delta) == (all_gather * 16 * MiB, all_gather * 64 * MiB, all_gather * 48 * MiB)
    total = d.total.changes["bus_bytes"]
    assert total.delta == (all_reduce + all_gather) * 48 * MiB  # the root includes its child's
    # one run without collectives: bus bytes are still compared, as zero there
    silent = diff(_communicating(None), b).total.changes["bus_bytes"]
    assert (silent.a, silent.b) == (0, (all_reduce + all_gather) * 64 * MiB)


def test_a_nan_latency_writes_valid_json_as_null() -> None:
    nan = Stats(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, (math.nan,))
    a = _timed(8, {"": [1e-3], "0": [1e-3]}, {})
    timing = a.timing
    assert timing is not None
    broken = a.with_timing(dataclasses.replace(timing, modules={**timing.modules, "0": ModuleTiming("0", 1, nan)}))
    text = render(broken, "json", RenderOptions())
    saved = _strict_json(text)  # json.dumps alone would write the bare token NaN
    assert saved["root"]["children"][0]["timing"]["forward"]["median"] is None
    read_back = Profile.from_dict(saved).module("0").timing
    assert read_back is not None and math.isnan(read_back.forward.median)  # null reads back as NaN, "not known"
    changed = _strict_json(render_diff(diff(a, broken), "json"))
    latency = next(m for m in changed["modules"] if m["path_a"] == "0")["changes"]["forward_latency"]
    assert latency == {"a": 1e-3, "b": None, "delta": None, "relative": None}
    assert ProfileDiff.from_dict(changed).total.changes["params"].delta == 0
