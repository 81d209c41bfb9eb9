"""``--calibrate``: fit on a timed run, store, show the agreement; later ``--gpu`` runs use the
stored efficiencies unless ``--no-calibration``; ``show`` calibrates a saved timed profile
without torch; bad combinations are refused in one line before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flopsight.cli import main
from flopsight.tree import gpus
from flopsight.tree.gpus import GpuSpec, register_gpu
from no_torch import run_without_torch

TIMING = ["--seq-len", "16", "--time", "--warmup", "1", "--repeat", "2"]


@pytest.fixture
def cpu_gpu(monkeypatch: pytest.MonkeyPatch) -> str:
    """This CPU as a table entry: 100 TFLOPS float32 and 1 TB/s, arbitrary figures far above it."""
    monkeypatch.setattr(gpus, "GPUS", dict(gpus.GPUS))
    monkeypatch.setattr(gpus, "_USER_ORDER", [])
    register_gpu(GpuSpec("Test CPU", {"float32": 100.0}, memory_bytes_per_s=1e12, short_names=("test-cpu",)))
    return "test-cpu"


def test_calibrate_stores_and_prints_the_agreement(cpu_gpu: str, calibration_file: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", *TIMING, "--gpu", cpu_gpu, "--calibrate"]) == 0
    out = capsys.readouterr().out
    section = out.split("Calibration on test-cpu:")[1]
    assert "efficiency: matmul" in section and f"stored:     {calibration_file}" in section
    rows = [line.split() for line in section.splitlines()]
    assert any(row[:2] == ["lm_head", "forward"] for row in rows)  # a leaf with one GEMM of its own
    (stored,) = json.loads(calibration_file.read_text())["calibrations"]
    assert (stored["gpu"], stored["dtype"]) == ("Test CPU", "float32")
    # The roofline section of the same run already uses what was fitted.
    assert "per class:" in out.split("Calibration on")[0]

    assert main(["example", "--seq-len", "16", "--gpu", cpu_gpu, "--format", "json"]) == 0
    target = json.loads(capsys.readouterr().out)["roofline"]
    assert target["class_efficiency"] == stored["efficiency"]
    assert main(["example", "--seq-len", "16", "--gpu", cpu_gpu, "--no-calibration", "--format", "json"]) == 0
    assert "class_efficiency" not in json.loads(capsys.readouterr().out)["roofline"]


def test_show_calibrates_a_saved_timed_profile_without_torch(cpu_gpu: str, tmp_path: Path) -> None:
    saved = tmp_path / "timed.json"
    assert main(["example", *TIMING, "--format", "json", "-o", str(saved)]) == 0
    data = json.loads(saved.read_text())
    # The child has no torch and no registered CPU: the saved profile is priced on a table GPU
    # after its timing is relabelled as that GPU's, which is all --calibrate reads.
    data["timing"]["device"], data["timing"]["device_name"] = "cuda", "NVIDIA H100 80GB HBM3"
    saved.write_text(json.dumps(data))
    store = tmp_path / "cal.json"
    done = run_without_torch("import sys; from flopsight.cli import main; sys.exit(main(sys.argv[1:]))",
                             "show", str(saved), "--gpu", "h100-sxm", "--calibrate", "--calibration-file", str(store))
    assert done.returncode == 0, done.stderr
    assert "Calibration on h100-sxm:" in done.stdout
    (stored,) = json.loads(store.read_text())["calibrations"]
    assert stored["gpu"] == "H100 SXM" and stored["device_name"] == "NVIDIA H100 80GB HBM3"


@pytest.mark.parametrize(("argv", "needle"), [
    (["example", "--calibrate"], "--calibrate applies to the roofline of a GPU: add --gpu NAME"),
    (["example", "--no-calibration"], "--no-calibration applies to the roofline of a GPU"),
    (["example", "--gpu", "h100-sxm", "--calibrate"], "add --time"),
    (["example", *TIMING, "--gpu", "h100-sxm", "--calibrate", "--no-calibration"], "drop --no-calibration"),
    (["example", *TIMING, "--gpu", "h100-sxm", "--calibrate"], "not on H100 SXM"),
])
def test_bad_combinations_exit_2_with_one_line(argv: list[str], needle: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_show_refuses_to_calibrate_an_untimed_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "plain.json"
    assert main(["example", "--seq-len", "16", "--format", "json", "-o", str(saved)]) == 0
    assert main(["show", str(saved), "--gpu", "h100-sxm", "--calibrate"]) == 2
    assert "was not timed per module; profile it with --time" in capsys.readouterr().err
