"""Calibration end to end on the CPU: count an MLP, time it per module, fit, store, price again.

The CPU is described as a "GPU" of 100 TFLOPS float32 and 1 TB/s, figures far above what two CPU
cores reach, so the datasheet roofline underestimates every module and the fit must slow each
class down. The error is measured here from the nodes' own timing, not taken from the fit.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import flopsight
from flopsight import Phase
from flopsight.tree import ModuleNode, Profile
from flopsight.tree.gpus import GpuSpec

CPU_AS_GPU = GpuSpec("Test CPU", {"float32": 100.0}, memory_bytes_per_s=1e12, source="stated in this test")


def own_measured(node: ModuleNode, phase: Phase) -> float | None:
    """The node's timed seconds less its children's, from the timing records themselves."""
    def timed(n: ModuleNode) -> float | None:
        if n.timing is None:
            return None
        stats = n.timing.forward if phase is Phase.FORWARD else n.timing.backward
        return None if stats is None else stats.median

    inclusive = timed(node)
    if inclusive is None:
        return None
    return inclusive - sum(timed(c) or 0.0 for c in node.children)


def relative_error(priced: Profile, rows: set[tuple[str, Phase]]) -> float:
    """RMS over ``rows`` of (predicted own / measured own - 1)."""
    errors = []
    for name, phase in rows:
        node = priced.module(name)
        measured = own_measured(node, phase)
        assert node.roofline is not None and measured is not None and measured > 0
        predicted = node.roofline.own_s[phase] + (node.roofline.own_s[Phase.RECOMPUTE] if phase is Phase.BACKWARD else 0)
        errors.append(predicted / measured - 1)
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def test_a_calibrated_roofline_meets_the_cpu_timing_better_than_the_datasheet() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 1024), nn.GELU(), nn.Linear(1024, 256), nn.LayerNorm(256))
    x = torch.randn(64, 256)
    counted = flopsight.profile(model, x, backward=True)
    timing = flopsight.measure_time(model, x, warmup=2, repeat=5, backward=True)
    timed = counted.with_timing(timing)

    fit = flopsight.calibrate(timed, CPU_AS_GPU)
    rows = {(m.module, m.phase) for m in fit.modules}
    assert ("0", Phase.FORWARD) in rows and ("1", Phase.FORWARD) in rows and ("3", Phase.BACKWARD) in rows
    # The datasheet is far above the CPU: each class that has modules of its own (the Linears'
    # matmuls, GELU, LayerNorm) runs below it. The bias-gradient sums (reduction) share the
    # Linears' rows at a tiny share of their time, so their efficiency is only held in (0, 1].
    efficiency = fit.calibration.efficiency
    assert all(0 < efficiency[c] < 1 for c in ("matmul", "elementwise", "normalization"))
    assert all(0 < e <= 1 for e in efficiency.values())

    flopsight.save_calibration(fit.calibration)
    datasheet = timed.roofline(CPU_AS_GPU, calibrated=False)
    calibrated = timed.roofline(CPU_AS_GPU)
    assert calibrated.roofline_target is not None
    assert calibrated.roofline_target.class_efficiency == fit.calibration.efficiency
    before, after = relative_error(datasheet, rows), relative_error(calibrated, rows)
    assert after < before
    assert before > 0.9  # predicted about 1% of measured: the error is nearly 1 at the datasheet
    assert fit.calibration.error_after == pytest.approx(after)
