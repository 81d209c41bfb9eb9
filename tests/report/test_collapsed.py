"""Collapsed stacks: one line per module with its own value; widths add up to the model's."""

from __future__ import annotations

import pytest

import flopsight
from exported_profiles import BACKWARD_MS, FORWARD_MS, PARAMS, TOTAL_FLOPS, TOTAL_MACS, counted_profile, timed_profile
from flopsight.errors import InputError
from flopsight.records import OpTotals, Phase
from flopsight.report import RenderOptions, collapsed_stacks, render
from flopsight.tree import ModuleNode, Profile


def _parse(text: str) -> dict[str, int]:
    """stack -> value, as flamegraph.pl reads a line: the value after the last blank."""
    stacks: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, value = line.rpartition(" ")
        assert stack not in stacks
        stacks[stack] = int(value)
    return stacks


def test_each_module_is_a_stack_of_its_own_flops() -> None:
    stacks = _parse(render(counted_profile(), "collapsed", RenderOptions()))
    # Own FLOPs over every phase: the root's add; a's mm forward and backward; b's; head's.
    assert stacks == {"Net": 10, "Net;enc;a": 1000 + 2000, "Net;enc;b": 300, "Net;head": 500 + 1000}
    assert sum(stacks.values()) == TOTAL_FLOPS
    assert not any("tail" in stack for stack in stacks)  # the shared module counts at its first path


@pytest.mark.parametrize("metric, expected_total", [("macs", TOTAL_MACS), ("params", sum(PARAMS.values()))])
def test_other_metrics_add_up_to_their_totals(metric: str, expected_total: int) -> None:
    assert sum(_parse(collapsed_stacks(counted_profile(), metric)).values()) == expected_total


def test_latency_stacks_are_own_time_in_nanoseconds() -> None:
    stacks = _parse(collapsed_stacks(timed_profile(), "latency"))
    ms = 1_000_000  # ns per ms
    own = {name: FORWARD_MS[name] + BACKWARD_MS[name] for name in FORWARD_MS}
    assert stacks["Net;enc"] == (own["enc"] - own["enc.a"] - own["enc.b"]) * ms  # 18 - 7 - 7 = 4 ms
    assert stacks["Net;head"] == own["head"] * ms
    assert "Net" not in stacks  # 30 ms less enc's 18 and head's 12: nothing of its own


def test_latency_without_timing_and_an_unknown_metric_are_refused() -> None:
    with pytest.raises(InputError, match="add --time"):
        collapsed_stacks(counted_profile(), "latency")
    with pytest.raises(InputError, match="choose one of flops, macs, params, latency"):
        collapsed_stacks(counted_profile(), "bytes")


def test_names_that_would_break_the_format_are_replaced() -> None:
    hostile = "we ird;name\tx"
    child = ModuleNode(name=hostile, type="Linear", calls=1,
                       own_ops={Phase.FORWARD: {"aten.mm.default": OpTotals(calls=1, macs=3, flops=6)}})
    profile = Profile(root=ModuleNode(name="", type="My Net", calls=1, children=[child]))
    assert collapsed_stacks(profile) == "My_Net;we_ird_name_x 6\n"


def test_a_measured_model_sums_to_its_total(tiny_backward_profile: flopsight.Profile,
                                            towers_profile: flopsight.Profile) -> None:
    for profile in (tiny_backward_profile, towers_profile):
        stacks = _parse(collapsed_stacks(profile))
        assert sum(stacks.values()) == profile.total_flops
        assert all(stack.split(";")[0] == profile.root.type for stack in stacks)
