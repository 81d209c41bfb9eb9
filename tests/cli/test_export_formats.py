"""``--format trace | collapsed | csv-ops`` on the CLI, and from a saved profile without torch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import flopsight
from flopsight.cli import main
from no_torch import run_without_torch


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def saved_timed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exports") / "timed.json"
    assert main(["example", "--seq-len", "8", "--backward", "--time", "--warmup", "0", "--repeat", "1",
                 "--format", "json", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("argv, message", [
    (["example", "--format", "trace"], "the trace needs timing: add --time"),
    (["example", "--format", "collapsed", "--stack-metric", "latency"], "the latency stacks need timing: add --time"),
    (["example", "--stack-metric", "macs"], "--stack-metric applies to --format collapsed"),
])
def test_export_misuse_is_one_line_and_exit_2(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_show_of_an_untimed_profile_refuses_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "counted.json"
    assert main(["example", "--seq-len", "8", "--device", "meta", "--format", "json", "-o", str(path)]) == 0
    code, _, err = _run(["show", str(path), "--format", "trace"], capsys)
    assert code == 2 and "the trace needs timing" in err
    code, out, err = _run(["show", str(path), "--gpu", "h100-sxm", "--no-calibration", "--format", "trace"], capsys)
    assert code == 0, err
    trace = json.loads(out)
    assert trace["otherData"]["source"] == "roofline" and trace["otherData"]["gpu"] == "H100 SXM"
    root = next(e for e in trace["traceEvents"] if e["ph"] == "X" and e["args"]["module"] == "")
    priced = flopsight.Profile.from_dict(json.loads(path.read_text())).roofline("h100-sxm", calibrated=False)
    assert priced.root.roofline is not None
    # A forward only: the root's slice is the predicted step, to the nanosecond the layout keeps.
    assert root["dur"] == pytest.approx(priced.root.roofline.step_s * 1e6, abs=1e-3)


def test_a_timed_run_exports_a_nested_trace(saved_timed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = flopsight.Profile.from_dict(json.loads(saved_timed.read_text()))
    code, out, err = _run(["show", str(saved_timed), "--format", "trace"], capsys)
    assert code == 0, err
    slices = {(e["tid"], e["args"]["module"]): e for e in json.loads(out)["traceEvents"] if e["ph"] == "X"}
    timed = [node for node in profile.modules() if node.timing is not None]
    assert {name for tid, name in slices if tid == 1} == {node.name for node in timed}
    for node in timed:  # forward: one repeat, so every child fits and each slice lasts its median
        assert node.timing is not None
        assert slices[(1, node.name)]["dur"] == pytest.approx(node.timing.forward.median * 1e6, abs=1e-3)
    for (tid, name), event in slices.items():
        if name:
            parent = slices[(tid, _timed_parent(name, {n for t, n in slices if t == tid}))]
            start, end = _span_ns(event)
            assert _span_ns(parent)[0] <= start and end <= _span_ns(parent)[1]


def _timed_parent(name: str, timed: set[str]) -> str:
    """The nearest enclosing module with a slice (a ModuleList is never called, so never timed)."""
    parent = name.rpartition(".")[0]
    while parent not in timed:
        parent = parent.rpartition(".")[0]
    return parent


def _span_ns(event: dict[str, float]) -> tuple[int, int]:
    start = round(event["ts"] * 1000)
    return start, start + round(event["dur"] * 1000)


def test_collapsed_stacks_and_op_rows_add_up_from_a_saved_profile(saved_timed: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    profile = flopsight.Profile.from_dict(json.loads(saved_timed.read_text()))
    code, out, err = _run(["show", str(saved_timed), "--format", "collapsed"], capsys)
    assert code == 0, err
    assert sum(int(line.rpartition(" ")[2]) for line in out.splitlines()) == profile.total_flops
    code, out, err = _run(["show", str(saved_timed), "--format", "csv-ops"], capsys)
    assert code == 0, err
    assert sum(int(row["flops"]) for row in csv.DictReader(io.StringIO(out))) == profile.total_flops


@pytest.mark.parametrize("argv", [["--format", "trace"], ["--format", "collapsed", "--stack-metric", "latency"],
                                  ["--format", "csv-ops"], ["--format", "csv"]])
def test_exports_render_without_torch(saved_timed: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, with_torch, _ = _run(["show", str(saved_timed), *argv], capsys)
    assert code == 0
    child = run_without_torch("import sys\nfrom flopsight.cli import main\nsys.exit(main(sys.argv[1:]))",
                              "show", str(saved_timed), *argv)
    assert child.returncode == 0, child.stderr
    assert child.stdout == with_torch
