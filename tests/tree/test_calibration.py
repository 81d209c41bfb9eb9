"""Calibration by hand: modules whose ops and measured times are built here, with efficiencies
known, so the fit must recover them; the x >= 1 bound; the stored file and its use by a later
roofline on the same GPU and dtype."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from flopsight import Phase
from flopsight.errors import InputError
from flopsight.records import OpTotals, TimingResult
from flopsight.records.timing import ModuleTiming, summarize
from flopsight.tree import ModuleNode, Profile
from flopsight.tree.calibration import calibrate
from flopsight.tree.calibration_store import find_calibration, load_calibrations, save_calibration
from flopsight.tree.gpus import GpuSpec

# 1 TFLOPS float32 and 1 GB/s: a GEMM of 2e9 FLOPs takes 2 ms, 4e6 bytes moved take 4 ms.
PEAK = 1e12
BANDWIDTH = 1e9
GPU = GpuSpec("Test GPU", {"float32": PEAK / 1e12}, memory_bytes_per_s=BANDWIDTH, source="this test")

MM = "aten.mm.default"
GELU = "aten.gelu.default"
ADD = "aten.add.Tensor"


def datasheet_s(flops: int, moved: int) -> float:
    return max(flops / PEAK, moved / BANDWIDTH)


def ops(**phases: dict[str, tuple[int, int]]) -> dict[Phase, dict[str, OpTotals]]:
    """{phase: {op: (flops, bytes moved)}}; the bytes are all written, none read."""
    return {Phase(ph): {op: OpTotals(calls=1, flops=f, bytes_written=b) for op, (f, b) in by_op.items()}
            for ph, by_op in phases.items()}


def timed(forward: float, backward: float | None = None) -> tuple[float, float | None]:
    return forward, backward


def make_profile(children: dict[str, tuple[dict[Phase, dict[str, OpTotals]], tuple[float, float | None]]],
                 root_overhead_s: float = 1e-4) -> Profile:
    """A root over ``children`` (name -> (own ops, (forward s, backward s))), timed: each child's
    own measured seconds as given, the root's inclusive time their sum plus an overhead."""
    nodes = [ModuleNode(name=name, type="Leaf", own_ops=own) for name, (own, _) in children.items()]
    root = ModuleNode(name="", type="Block", children=nodes)
    profile = Profile(root=root, metadata={"dtype": "float32", "backward_measured": True})
    modules = {}
    for name, (_, (fwd, bwd)) in children.items():
        modules[name] = ModuleTiming(name, 1, summarize([fwd]), None if bwd is None else summarize([bwd]))
    fwd_total = sum(f for _, (f, _) in children.values()) + root_overhead_s
    bwd_total = sum(b or 0.0 for _, (_, b) in children.values()) + root_overhead_s
    modules[""] = ModuleTiming("", 1, summarize([fwd_total]), summarize([bwd_total]))
    timing = TimingResult(device="cpu", device_name="test cpu", dtype="float32", warmup=0, repeat=1,
                          forward=summarize([fwd_total]), iteration=summarize([fwd_total + bwd_total]),
                          backward=summarize([bwd_total]), modules=modules)
    return profile.with_timing(timing)


MATMUL_EFF = 0.5
ELEMENTWISE_EFF = 0.8


def known_profile() -> Profile:
    """Measured times built from matmul at 0.5 and elementwise at 0.8 of the datasheet."""
    fc = ops(forward={MM: (2 * 10**9, 10**6)}, backward={MM: (4 * 10**9, 2 * 10**6)})  # 2 ms, 4 ms
    act = ops(forward={GELU: (10**6, 4 * 10**6)})  # memory-bound: 4 ms
    mix = ops(forward={MM: (10**9, 0), ADD: (0, 2 * 10**6)})  # 1 ms + 2 ms
    return make_profile({
        "fc": (fc, timed(2e-3 / MATMUL_EFF, 4e-3 / MATMUL_EFF)),
        "act": (act, timed(4e-3 / ELEMENTWISE_EFF)),
        "mix": (mix, timed(1e-3 / MATMUL_EFF + 2e-3 / ELEMENTWISE_EFF)),
    })


def test_the_fit_recovers_known_efficiencies() -> None:
    fit = calibrate(known_profile(), GPU)
    cal = fit.calibration
    assert set(cal.efficiency) == {"matmul", "elementwise"}  # only the classes the run exercised
    assert cal.efficiency["matmul"] == pytest.approx(MATMUL_EFF, abs=1e-6)
    assert cal.efficiency["elementwise"] == pytest.approx(ELEMENTWISE_EFF, abs=1e-6)
    # Rows: fc forward and backward, act and mix forward; the root has no own ops.
    assert cal.rows == 4 and {(m.module, m.phase) for m in fit.modules} == {
        ("fc", Phase.FORWARD), ("fc", Phase.BACKWARD), ("act", Phase.FORWARD), ("mix", Phase.FORWARD)}
    # Before: predicted / measured is the datasheet time over the measured one.
    ratios = [MATMUL_EFF, MATMUL_EFF, ELEMENTWISE_EFF, 3e-3 / (2e-3 + 2.5e-3)]
    assert cal.error_before == pytest.approx(math.sqrt(sum((r - 1) ** 2 for r in ratios) / 4))
    assert cal.error_after == pytest.approx(0, abs=1e-9)
    mix = next(m for m in fit.modules if m.module == "mix")
    assert mix.measured_s == pytest.approx(4.5e-3)
    assert mix.before_s == pytest.approx(datasheet_s(10**9, 0) + datasheet_s(0, 2 * 10**6))
    assert mix.after_s == pytest.approx(4.5e-3)
    assert (cal.gpu, cal.dtype, cal.device_name, cal.model) == ("Test GPU", "float32", "test cpu", "Block")


def test_an_own_time_is_the_inclusive_time_less_the_submodules() -> None:
    """A parent with own ops and a timed child: its row is its time minus the child's."""
    child = ModuleNode(name="inner.fc", type="Linear", own_ops=ops(forward={MM: (2 * 10**9, 0)}))
    parent = ModuleNode(name="inner", type="Block", own_ops=ops(forward={ADD: (0, 10**6)}), children=[child])
    profile = Profile(root=ModuleNode(name="", type="Model", children=[parent]), metadata={"dtype": "float32"})
    measured = {"": 9e-3, "inner": 8e-3, "inner.fc": 4e-3}  # inner's own: 8 - 4 = 4 ms, 1 ms at the datasheet
    modules = {n: ModuleTiming(n, 1, summarize([s])) for n, s in measured.items()}
    timing = TimingResult(device="cpu", device_name="test cpu", dtype="float32", warmup=0, repeat=1,
                          forward=summarize([9e-3]), iteration=summarize([9e-3]), modules=modules)
    fit = calibrate(profile.with_timing(timing), GPU)
    rows = {m.module: m.measured_s for m in fit.modules}
    assert rows == pytest.approx({"inner": 4e-3, "inner.fc": 4e-3})
    assert fit.calibration.efficiency == pytest.approx({"matmul": 0.5, "elementwise": 0.25})


def test_a_module_faster_than_the_datasheet_caps_its_class_at_one() -> None:
    """act runs its 4 ms (datasheet) gelu in 2 ms: unbounded, elementwise would be 2.0."""
    fc = ops(forward={MM: (2 * 10**9, 0)})
    act = ops(forward={GELU: (0, 4 * 10**6)})
    fit = calibrate(make_profile({"fc": (fc, timed(4e-3)), "act": (act, timed(2e-3))}), GPU)
    assert fit.calibration.efficiency == pytest.approx({"matmul": 0.5, "elementwise": 1.0}, abs=1e-9)
    act_row = next(m for m in fit.modules if m.module == "act")
    assert act_row.after_s == pytest.approx(4e-3)  # held at the datasheet: twice the measured
    assert act_row.after_ratio == pytest.approx(2.0)


def test_a_later_roofline_on_the_gpu_uses_the_stored_calibration(calibration_file: Path) -> None:
    fit = calibrate(known_profile(), GPU)
    written = save_calibration(fit.calibration)
    assert written == calibration_file  # the FLOPSIGHT_CALIBRATION the fixture set
    (stored,) = load_calibrations()
    assert stored == fit.calibration

    priced = known_profile().roofline(GPU)
    target = priced.roofline_target
    assert target is not None and target.class_efficiency == fit.calibration.efficiency
    assert str(calibration_file) in target.efficiency_source
    matmul, elementwise = fit.calibration.efficiency["matmul"], fit.calibration.efficiency["elementwise"]
    mix = priced.module("mix").roofline
    assert mix is not None
    expected = datasheet_s(10**9, 0) / matmul + datasheet_s(0, 2 * 10**6) / elementwise
    assert mix.own_s[Phase.FORWARD] == pytest.approx(expected)
    fc = priced.module("fc").roofline
    assert fc is not None and fc.own_s[Phase.BACKWARD] == pytest.approx(datasheet_s(4 * 10**9, 2 * 10**6) / matmul)

    plain = known_profile().roofline(GPU, calibrated=False)
    assert plain.roofline_target is not None and plain.roofline_target.class_efficiency == {}
    plain_mix = plain.module("mix").roofline
    assert plain_mix is not None and plain_mix.own_s[Phase.FORWARD] == pytest.approx(3e-3)
    # Another dtype has no calibration: the datasheet.
    other = known_profile().roofline(GpuSpec("Test GPU", {"bfloat16": 2.0}, memory_bytes_per_s=BANDWIDTH),
                                     dtype="bfloat16")
    assert other.roofline_target is not None and other.roofline_target.class_efficiency == {}


def test_saving_replaces_the_entry_of_the_same_gpu_and_dtype(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cal.json"  # an explicit path wins over the variable; its folder is made
    first = calibrate(known_profile(), GPU).calibration
    save_calibration(first, path)
    save_calibration(first, path)
    assert len(json.loads(path.read_text())["calibrations"]) == 1
    assert find_calibration("Test GPU", "float32", path) == first
    assert find_calibration("Test GPU", "bfloat16", path) is None
    assert load_calibrations() == []  # the variable's file was never written


def test_explicit_class_efficiencies_win_over_the_stored_ones() -> None:
    save_calibration(calibrate(known_profile(), GPU).calibration)
    priced = known_profile().roofline(GPU, class_efficiency={"matmul": 0.25})
    fc = priced.module("fc").roofline
    assert fc is not None and fc.own_s[Phase.FORWARD] == pytest.approx(2e-3 / 0.25)
    assert priced.roofline_target is not None and priced.roofline_target.efficiency_source == "given by the user"


@pytest.mark.parametrize("bad", [{"matmul": 1.5}, {"matmul": 0.0}, {"gemm": 0.5}])
def test_bad_class_efficiencies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(InputError, match="class_efficiency"):
        known_profile().roofline(GPU, class_efficiency=bad)


def test_a_corrupt_calibration_file_is_refused_in_one_line(calibration_file: Path) -> None:
    calibration_file.write_text("{not json")
    with pytest.raises(InputError, match="not a flopsight calibration file.*FLOPSIGHT_CALIBRATION"):
        known_profile().roofline(GPU)


def test_calibrating_needs_timing_and_a_gpu() -> None:
    untimed = Profile(root=ModuleNode(name="", type="Leaf", own_ops=ops(forward={MM: (10, 0)})))
    with pytest.raises(InputError, match="time measured per module"):
        calibrate(untimed, GPU)
    with pytest.raises(InputError, match="pass gpu="):
        calibrate(known_profile())


def test_timing_from_another_gpu_is_refused() -> None:
    import dataclasses

    profile = known_profile()
    assert profile.run_timing is not None
    profile.run_timing = dataclasses.replace(profile.run_timing, device="cuda", device_name="NVIDIA H100 80GB HBM3")
    with pytest.raises(InputError, match="not on A100"):
        calibrate(profile, "a100-80gb")


def test_cpu_timing_is_refused_for_a_gpu_of_the_table() -> None:
    with pytest.raises(InputError, match=r"ran on test cpu \(cpu\), not on H100 SXM"):
        calibrate(known_profile(), "h100-sxm")
