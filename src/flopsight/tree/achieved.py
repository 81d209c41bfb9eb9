"""Achieved FLOPS (counted FLOPs over measured latency) per module and in total, MFU and HFU.

Plain arithmetic over a Profile and a TimingResult; no torch, so it works on results read back
from JSON.

- Model FLOPs of an iteration: forward FLOPs, plus backward FLOPs when the timing ran
  backward (the measured backward of the profile, or the 2 x forward estimate when the profile
  did not measure one; ``backward_estimated`` says which).
- MFU = model FLOPs / iteration latency / peak.
- HFU = (model FLOPs + recomputed FLOPs) / iteration latency / peak: the hardware also re-runs
  the forward of checkpointed regions. Given only when the profile recorded recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..records import TimingResult
from .peaks import match_accelerator, peak_tflops_for

if TYPE_CHECKING:
    from .profile import Profile

__all__ = ["Achieved", "ModuleAchieved", "achieved"]


@dataclass(frozen=True, slots=True)
class ModuleAchieved:
    """One module's counted forward (and backward) FLOPs over its median latency."""

    name: str
    forward_flops: int
    forward_latency: float
    forward_flops_per_s: float | None
    backward_flops: int = 0
    backward_latency: float | None = None
    backward_flops_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class Achieved:
    """FLOPS reached by a timed model, and MFU/HFU when a peak is known.

    Attributes:
        forward_flops_per_s: forward FLOPs / median forward latency.
        backward_flops_per_s: backward FLOPs / median backward latency (None if not timed).
        model_flops: model FLOPs of one iteration (forward, plus backward if timed).
        hardware_flops: model FLOPs plus recomputed FLOPs.
        iteration_flops_per_s: model FLOPs / median iteration latency.
        peak_tflops: the peak used, and ``peak_source`` where it came from ("user" or the
            table entry, "H100 SXM bfloat16"); None when unknown (a CPU, an unlisted GPU).
        mfu, hfu: fractions of the peak (0.42 is 42 %); None without a peak, hfu also None
            without recomputation.
        backward_estimated: the backward FLOPs are the 2 x forward estimate.
        modules: per-module figures by path.
    """

    forward_flops_per_s: float | None
    backward_flops_per_s: float | None
    model_flops: int
    hardware_flops: int
    iteration_flops_per_s: float | None
    peak_tflops: float | None
    peak_source: str | None
    mfu: float | None
    hfu: float | None
    backward_estimated: bool = False
    modules: dict[str, ModuleAchieved] = field(default_factory=dict)


def achieved(profile: "Profile", timing: TimingResult, peak_tflops: float | None = None) -> Achieved:
    """Achieved FLOPS per module and in total, and MFU (and HFU) against a peak.

    Args:
        profile: counts of the same model and inputs (``flopsight.profile``; with
            ``backward=True`` for the measured backward).
        timing: latencies from ``measure_time``.
        peak_tflops: the accelerator's dense peak; None looks it up in the built-in table from
            ``timing.device_name`` and the model dtype.

    Returns:
        An Achieved.

    Example:
        >>> a = achieved(profile, timing, peak_tflops=100.0)
        >>> a.mfu == a.iteration_flops_per_s / 100e12
        True
    """
    forward_flops = profile.forward.flops
    backward_flops = 0
    estimated = False
    if timing.backward_timed:
        if profile.backward_measured:
            backward_flops = profile.backward.flops
        else:
            backward_flops = profile.estimated_backward_flops
            estimated = True
    recompute_flops = profile.recompute.flops if timing.backward_timed else 0
    model_flops = forward_flops + backward_flops
    hardware_flops = model_flops + recompute_flops

    peak, source = _peak(timing, peak_tflops)
    iteration_rate = _rate(model_flops, timing.iteration.median)
    mfu = iteration_rate / (peak * 1e12) if iteration_rate is not None and peak else None
    hfu = None
    if recompute_flops > 0 and peak:
        hardware_rate = _rate(hardware_flops, timing.iteration.median)
        hfu = hardware_rate / (peak * 1e12) if hardware_rate is not None else None

    modules: dict[str, ModuleAchieved] = {}
    for node in profile.modules():
        measured = timing.modules.get(node.name)
        if measured is None:
            continue
        back = measured.backward
        node_backward = node.backward.flops if profile.backward_measured else 0
        modules[node.name] = ModuleAchieved(
            name=node.name,
            forward_flops=node.forward.flops,
            forward_latency=measured.forward.median,
            forward_flops_per_s=_rate(node.forward.flops, measured.forward.median),
            backward_flops=node_backward,
            backward_latency=None if back is None else back.median,
            backward_flops_per_s=None if back is None or not profile.backward_measured else _rate(node_backward, back.median),
        )
    return Achieved(
        forward_flops_per_s=_rate(forward_flops, timing.forward.median),
        backward_flops_per_s=None if timing.backward is None else _rate(backward_flops, timing.backward.median),
        model_flops=model_flops,
        hardware_flops=hardware_flops,
        iteration_flops_per_s=iteration_rate,
        peak_tflops=peak,
        peak_source=source,
        mfu=mfu,
        hfu=hfu,
        backward_estimated=estimated,
        modules=modules,
    )


def _rate(flops: int, seconds: float) -> float | None:
    return flops / seconds if seconds > 0 else None


def _peak(timing: TimingResult, peak_tflops: float | None) -> tuple[float | None, str | None]:
    if peak_tflops is not None:
        if peak_tflops <= 0:
            raise ValueError(f"peak_tflops must be positive, got {peak_tflops}")
        return float(peak_tflops), "user"
    if timing.device != "cuda":
        return None, None
    # PyTorch's default runs float32 matmuls in full precision; TF32 only when allowed.
    tf32 = timing.dtype == "float32" and timing.tf32
    peak = peak_tflops_for(timing.device_name, timing.dtype, tf32=tf32)
    if peak is None:
        return None, None
    key = match_accelerator(timing.device_name)
    return peak, f"{key} {'tf32' if tf32 else timing.dtype}"

