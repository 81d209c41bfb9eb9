"""The calibration in reports: the roofline section states the per-class efficiencies and where
they came from, the agreement table lists each fitted row, and a saved calibrated prediction
reads back and renders without torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flopsight import Phase
from flopsight.records import OpTotals
from flopsight.report.calibration import render_calibration
from flopsight.report.roofline import render_roofline
from flopsight.tree import ModuleNode, Profile
from flopsight.tree.calibration import Calibration, CalibrationFit, ModuleAgreement
from flopsight.tree.calibration_store import save_calibration
from flopsight.tree.gpus import GpuSpec
from no_torch import run_without_torch

GPU = GpuSpec("Test GPU", {"float32": 1.0}, memory_bytes_per_s=1e9, source="this test")  # 1 TFLOPS, 1 GB/s
STORED = Calibration(gpu="Test GPU", dtype="float32", efficiency={"matmul": 0.5, "elementwise": 0.8}, rows=3,
                     error_before=0.4, error_after=0.01, model="a test model", device_name="test device",
                     created="2026-01-02T03:04:05+00:00")


def profile() -> Profile:
    # mm: 2e9 FLOPs -> 2 ms at the datasheet; add: 4e6 bytes -> 4 ms
    own = {Phase.FORWARD: {"aten.mm.default": OpTotals(calls=1, flops=2 * 10**9),
                           "aten.add.Tensor": OpTotals(calls=1, bytes_read=2 * 10**6, bytes_written=2 * 10**6)}}
    return Profile(root=ModuleNode(name="", type="Block", own_ops=own), metadata={"dtype": "float32"})


def test_the_roofline_section_states_the_class_efficiencies_and_their_source(calibration_file: Path) -> None:
    save_calibration(STORED)
    priced = profile().roofline(GPU)
    text = render_roofline(priced, ops=0)
    line = next(line for line in text.splitlines() if line.startswith("per class:"))
    assert line == ("per class:  matmul 0.5, elementwise 0.8, other classes 1 (both peaks x the class's; "
                    f"{STORED.describe()}; {calibration_file})")
    # 2 ms / 0.5 + 4 ms / 0.8 = 9 ms
    assert priced.prediction is not None and priced.prediction.step_s == pytest.approx(9e-3)
    assert "efficiency: compute 1, memory 1\n" in text  # not called the datasheet roofline any more
    datasheet = render_roofline(profile().roofline(GPU, calibrated=False), ops=0)
    assert "per class" not in datasheet and "(the datasheet roofline:" in datasheet


def test_the_agreement_table_lists_each_row_with_its_ratios() -> None:
    fit = CalibrationFit(STORED, [ModuleAgreement("fc", Phase.FORWARD, 4e-3, 2e-3, 4e-3),
                                  ModuleAgreement("", Phase.BACKWARD, 5e-3, 4e-3, 5.5e-3)])
    text = render_calibration(fit, where="/tmp/cal.json")
    lines = text.splitlines()
    assert lines[0] == "calibrated: Test GPU float32, timed on test device (a test model)"
    assert lines[1] == "efficiency: matmul 0.5, elementwise 0.8 (fraction of both peaks per op class; other classes 1)"
    assert lines[2] == "fit:        3 module rows; RMS relative error 0.4 at the datasheet, 0.01 calibrated"
    assert lines[3] == "stored:     /tmp/cal.json"
    assert lines[-2].split() == ["fc", "forward", "4.0", "ms", "2.0", "ms", "0.50", "4.0", "ms", "1.00"]
    assert lines[-1].split() == ["(model)", "backward", "5.0", "ms", "4.0", "ms", "0.80", "5.5", "ms", "1.10"]


READ_AND_RENDER = """
import json, sys
from flopsight.tree import Profile
from flopsight.report.roofline import render_roofline
p = Profile.from_dict(json.load(open(sys.argv[1])))
print(json.dumps({"text": render_roofline(p), "ops": [o.predicted_s for o in p.predicted_ops()],
                  "torch": "torch" in sys.modules}))
"""


def test_a_saved_calibrated_prediction_renders_the_same_without_torch(tmp_path: Path) -> None:
    save_calibration(STORED)
    priced = profile().roofline(GPU)
    saved = tmp_path / "profile.json"
    data = priced.to_dict()
    assert data["roofline"]["class_efficiency"] == {"matmul": 0.5, "elementwise": 0.8}
    assert "calibrated on test device" in data["roofline"]["efficiency_source"]
    saved.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "calibration.json").unlink()  # the saved prediction needs no calibration file
    done = run_without_torch(READ_AND_RENDER, str(saved))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["text"] == render_roofline(priced)
    assert out["ops"] == pytest.approx([4e-3 / 0.8, 2e-3 / 0.5])  # add 4 ms / 0.8, mm 2 ms / 0.5, longest first
    assert out["torch"] is False
