"""The per-op CSV adds up to the profile's totals; the module CSV has every instrument's columns."""

from __future__ import annotations

import csv
import io

import pytest

import flopsight
from exported_profiles import BACKWARD_MS, FORWARD_MS, OPS, TOTAL_FLOPS, TOTAL_MACS, counted_profile, timed_profile
from flopsight.report import RenderOptions, render
from flopsight.tree import Profile

FIGURES = ("calls", "macs", "flops", "bytes_read", "bytes_written", "masked_flops", "fused_bytes")


def _rows(profile: Profile, fmt: str, depth: int | None = None) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render(profile, fmt, RenderOptions(depth=depth)))))


def test_one_row_per_module_phase_and_op_with_every_figure() -> None:
    rows = _rows(counted_profile(), "csv-ops", depth=0)  # the depth does not cut op rows
    got = {(r["module"], r["phase"], r["op"]): tuple(int(r[f]) for f in FIGURES) for r in rows}
    assert got == {(module, phase.value, op): figures for (module, phase, op), figures in OPS.items()}
    assert sum(int(r["flops"]) for r in rows) == TOTAL_FLOPS
    assert sum(int(r["macs"]) for r in rows) == TOTAL_MACS


def test_op_rows_of_a_measured_model_add_up_to_its_totals(tiny_backward_profile: flopsight.Profile,
                                                          towers_profile: flopsight.Profile) -> None:
    for profile in (tiny_backward_profile, towers_profile):
        rows = _rows(profile, "csv-ops")
        for phase, cost in (("forward", profile.forward), ("backward", profile.backward)):
            of_phase = [r for r in rows if r["phase"] == phase]
            for figure in ("macs", "flops", "bytes_read", "bytes_written", "masked_flops"):
                assert sum(int(r[figure]) for r in of_phase) == getattr(cost, figure), (phase, figure)
        by_op = profile.by_op()
        for op, totals in by_op.items():
            assert sum(int(r["calls"]) for r in rows if r["op"] == op) == totals.calls


def test_the_module_csv_has_the_backward_and_own_figures() -> None:
    rows = {r["module"]: r for r in _rows(counted_profile(), "csv")}
    assert list(rows) == ["", "enc", "enc.a", "enc.b", "head"]  # every module once, the alias left out
    assert rows["enc"]["backward_flops"] == str(2000)
    assert rows["enc"]["backward_bytes_read"] == str(800)
    assert rows[""]["own_forward_flops"] == str(10)
    assert rows["head"]["own_params"] == str(20)
    assert "forward_median_s" not in rows[""] and "peak_bytes" not in rows[""]  # not recorded: no column


def test_the_module_csv_of_a_timed_profile_has_the_latencies() -> None:
    rows = {r["module"]: r for r in _rows(timed_profile(), "csv")}
    for name in FORWARD_MS:
        assert float(rows[name]["forward_median_s"]) == pytest.approx(FORWARD_MS[name] / 1000)
        assert float(rows[name]["backward_median_s"]) == pytest.approx(BACKWARD_MS[name] / 1000)
    # a: 1000 forward FLOPs in 2 ms.
    assert float(rows["enc.a"]["forward_flops_per_s"]) == pytest.approx(1000 / 2e-3)


def test_the_module_csv_has_memory_and_roofline_columns_when_recorded(
        tiny_memory_profile: flopsight.Profile) -> None:
    rows = _rows(tiny_memory_profile, "csv")
    assert len(rows) == len(list(tiny_memory_profile.modules()))
    for row, node in zip(rows, tiny_memory_profile.modules()):
        assert node.memory is not None
        assert (int(row["activation_bytes"]), int(row["peak_bytes"])) == (node.memory.activation_bytes,
                                                                          node.memory.peak_bytes)
    assert int(rows[0]["peak_bytes"]) > 0
    predicted = tiny_memory_profile.roofline("h100-sxm", calibrated=False)
    root = _rows(predicted, "csv")[0]
    assert predicted.prediction is not None
    assert float(root["predicted_step_s"]) == pytest.approx(predicted.prediction.step_s)
