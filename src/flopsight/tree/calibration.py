"""Calibration: per-op-class efficiencies fitted so the roofline meets measured per-module time.

For every module timed in a phase (forward; backward, which also runs any recomputation):

    measured own seconds  ~=  sum over classes c of  T_c x x_c,      x_c = 1 / efficiency_c >= 1

where the measured own seconds are the module's timed seconds minus its submodules' (the timing
instrument measures each module inclusive of what it calls), and T_c is the datasheet roofline
time (efficiencies 1) of the module's own ops of class c in that phase (``tree/op_classes.py``).
An efficiency prices both ceilings of its class's ops: an op of class c takes
max(compute_s, memory_s) / efficiency_c.

The rows are weighted by 1 / measured seconds, so the fit minimizes the squared *relative* error
of every module alike (a 10 us LayerNorm counts as much as a 10 ms GEMM). The bound x_c >= 1 keeps
each efficiency <= 1: a module measured faster than the datasheet allows (an op the count
overprices, a cache the roofline ignores) cannot push a class past the roofline. A class with no
time in any row is not fitted and stays at 1. Rows left out: modules with no own ops priced above
0 s, a measured own time <= 0 (timer noise in a thin container), and modules beside a shared
module (its timing sums the calls at both positions).

Pure: nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..records import Phase
from .bounded_fit import fit_lower_bounded
from .gpus import GpuSpec, is_builtin_gpu, match_gpu
from .op_classes import OP_CLASSES, op_class
from .roofline import RooflineTarget, price_op, roofline_target

if TYPE_CHECKING:
    from .module_node import ModuleNode
    from .profile import Profile

__all__ = ["CALIBRATION_SCHEMA_VERSION", "Calibration", "CalibrationFit", "ModuleAgreement", "calibrate"]

CALIBRATION_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Calibration:
    """Efficiencies fitted on one GPU and dtype, and what they were fitted from.

    Attributes:
        gpu: the GPU table's name ("H200 SXM").
        dtype: the peak's dtype key ("bfloat16"; "tf32").
        efficiency: op class -> fitted efficiency in (0, 1]; classes the run did not exercise
            are absent (they price at 1).
        rows: the (module, phase) rows fitted.
        error_before, error_after: root-mean-square relative error of the rows' predicted own
            time against the measured one, at the datasheet roofline and with the fit.
        model: what was timed (the profile's model name or architecture).
        device_name: the device the timing ran on, as torch named it.
        created: when it was fitted (ISO 8601, UTC).
    """

    gpu: str
    dtype: str
    efficiency: dict[str, float]
    rows: int
    error_before: float
    error_after: float
    model: str = ""
    device_name: str = ""
    created: str = ""

    def describe(self) -> str:
        """One line: where the efficiencies come from."""
        return (f"calibrated on {self.device_name or self.gpu} from {self.model or 'a timed run'}, {self.created}: "
                f"{self.rows} module rows, relative error {self.error_before:.3g} -> {self.error_after:.3g}")

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": self.gpu, "dtype": self.dtype, "efficiency": dict(self.efficiency), "rows": self.rows,
                "error_before": self.error_before, "error_after": self.error_after, "model": self.model,
                "device_name": self.device_name, "created": self.created}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        """Raises InputError for an efficiency outside (0, 1] or of an unknown class."""
        efficiency = {str(k): float(v) for k, v in dict(data["efficiency"]).items()}
        for cls_name, value in efficiency.items():
            if cls_name not in OP_CLASSES or not 0 < value <= 1:
                raise InputError(f"calibration efficiency {cls_name}={value!r} is not an op class's fraction in (0, 1]")
        return cls(gpu=str(data["gpu"]), dtype=str(data["dtype"]), efficiency=efficiency, rows=int(data["rows"]),
                   error_before=float(data["error_before"]), error_after=float(data["error_after"]),
                   model=str(data.get("model", "")), device_name=str(data.get("device_name", "")),
                   created=str(data.get("created", "")))


@dataclass(frozen=True, slots=True)
class ModuleAgreement:
    """One fitted row: a module's measured own seconds in a phase, and the roofline's before
    (datasheet) and after (fitted) the calibration."""

    module: str
    phase: Phase
    measured_s: float
    before_s: float
    after_s: float

    @property
    def before_ratio(self) -> float:
        """predicted / measured at the datasheet roofline."""
        return self.before_s / self.measured_s

    @property
    def after_ratio(self) -> float:
        return self.after_s / self.measured_s

    def to_dict(self) -> dict[str, Any]:
        return {"module": self.module, "phase": self.phase.value, "measured_s": self.measured_s,
                "before_s": self.before_s, "after_s": self.after_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleAgreement":
        return cls(str(data["module"]), Phase(data["phase"]), float(data["measured_s"]), float(data["before_s"]),
                   float(data["after_s"]))


@dataclass(frozen=True, slots=True)
class CalibrationFit:
    """A calibration and, per fitted row, the agreement before and after it."""

    calibration: Calibration
    modules: list[ModuleAgreement] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"calibration": self.calibration.to_dict(), "modules": [m.to_dict() for m in self.modules]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CalibrationFit":
        return cls(Calibration.from_dict(data["calibration"]), [ModuleAgreement.from_dict(m) for m in data["modules"]])


@dataclass(frozen=True, slots=True)
class _Row:
    module: str
    phase: Phase
    measured_s: float
    by_class: dict[str, float]  # datasheet seconds of the module's own ops per class


def calibrate(profile: Profile, gpu: str | GpuSpec | None = None, *, dtype: str | None = None,
              tf32: bool = False, model: str | None = None) -> CalibrationFit:
    """Fit per-op-class efficiencies on ``gpu`` to the per-module time measured in ``profile``.

    Args:
        profile: a profile carrying per-module timing (``flopsight.measure_time`` and
            ``with_timing``, the CLI's ``--time``) from a run on ``gpu``.
        gpu: the GPU the timing ran on (a name or a GpuSpec); None takes the profile's roofline
            target (``profile.roofline(gpu)``), whose efficiencies are set back to 1.
        dtype, tf32: the peak to fit against, as ``Profile.roofline`` takes them (None: the
            model's dtype).
        model: what to record as the source; None reads the profile's metadata.

    Returns:
        The calibration (store it with ``save_calibration`` so later ``roofline`` calls on the
        GPU and dtype use it) and each row's predicted against measured seconds.

    Raises:
        InputError: no per-module timing, no GPU, timing from another GPU, or no row to fit.

    Example:
        >>> fit = flopsight.calibrate(timed_profile, "h200-sxm")
        >>> flopsight.save_calibration(fit.calibration)  # doctest: +SKIP
    """
    target = _datasheet_target(profile, gpu, dtype, tf32)
    timing = profile.timing
    if timing is None or not timing.modules:
        raise InputError("calibrate needs time measured per module: time the model per module "
                         "(measure_time, then profile.with_timing; the CLI's --time)")
    _check_timed_on(timing.device, timing.device_name, target.gpu)
    rows = _rows(profile, target)
    if not rows:
        raise InputError("no timed module has own ops priced above 0 s: nothing to calibrate against")
    classes = [c for c in OP_CLASSES if any(r.by_class.get(c, 0.0) > 0 for r in rows)]
    a = [[r.by_class.get(c, 0.0) for c in classes] for r in rows]
    b = [r.measured_s for r in rows]
    weights = [1.0 / r.measured_s for r in rows]  # relative error: every module alike
    slowdown = fit_lower_bounded(a, b, weights, lower=1.0)
    modules = [ModuleAgreement(r.module, r.phase, r.measured_s, sum(row), sum(t * x for t, x in zip(row, slowdown)))
               for r, row in zip(rows, a)]
    calibration = Calibration(
        gpu=target.gpu, dtype=target.dtype, efficiency={c: 1.0 / x for c, x in zip(classes, slowdown)},
        rows=len(rows), error_before=_rms([m.before_ratio - 1 for m in modules]),
        error_after=_rms([m.after_ratio - 1 for m in modules]), model=model or _model_name(profile),
        device_name=timing.device_name, created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return CalibrationFit(calibration, modules)


def _check_timed_on(device: str, device_name: str, gpu: str) -> None:
    """Refuse efficiencies of one device stored under another's name (a CPU run fitting H100)."""
    if device == "cuda":
        timed_on = match_gpu(device_name)
        if timed_on is not None and timed_on.name != gpu:
            raise InputError(f"the timing ran on {device_name} ({timed_on.name}), not on {gpu}: "
                             "calibrate for the GPU that was timed")
    elif is_builtin_gpu(gpu):
        raise InputError(f"the timing ran on {device_name or device} ({device}), not on {gpu}: time on that GPU "
                         "(--device cuda), or describe this device as a GpuSpec of its own")


def _datasheet_target(profile: Profile, gpu: str | GpuSpec | None, dtype: str | None, tf32: bool) -> RooflineTarget:
    if gpu is not None:
        chosen = str(profile.metadata.get("dtype") or "float32") if dtype is None else dtype
        return roofline_target(gpu, chosen, tf32=tf32)
    if profile.roofline_target is None:
        raise InputError("calibrate needs the GPU the timing ran on: pass gpu= (or a profile made with .roofline(gpu))")
    return dataclasses.replace(profile.roofline_target, compute_efficiency=1.0, memory_efficiency=1.0,
                               class_efficiency={}, efficiency_source="")


def _rows(profile: Profile, target: RooflineTarget) -> list[_Row]:
    shared = {node.alias_of for node in profile.root.walk() if node.alias_of is not None}
    rows = []
    for node in profile.modules():
        if node.timing is None or node.name in shared or any(c.alias_of is not None or c.name in shared
                                                             for c in node.children):
            continue
        for phase in (Phase.FORWARD, Phase.BACKWARD):
            measured = _own_measured(node, phase)
            if measured is None or measured <= 0:
                continue
            # Recomputation runs inside the backward pass, so its ops are priced into that row.
            own_phases = (Phase.FORWARD,) if phase is Phase.FORWARD else (Phase.BACKWARD, Phase.RECOMPUTE)
            by_class: dict[str, float] = {}
            for ph in own_phases:
                for op, totals in node.own_ops.get(ph, {}).items():
                    seconds = price_op(target, node.name, ph, op, totals).predicted_s
                    by_class[op_class(op)] = by_class.get(op_class(op), 0.0) + seconds
            if sum(by_class.values()) > 0:
                rows.append(_Row(node.name, phase, measured, by_class))
    return rows


def _own_measured(node: ModuleNode, phase: Phase) -> float | None:
    """The module's timed seconds minus its submodules'; None when it or a submodule with ops
    in the phase was not timed."""
    inclusive = _timed(node, phase)
    if inclusive is None:
        return None
    below = 0.0
    for child in node.children:
        seconds = _timed(child, phase)
        if seconds is None:
            work = child.costs.get(phase)
            if work is not None and (work.flops or work.bytes_read or work.bytes_written):
                return None  # work below that was not timed: the subtraction would be wrong
            continue
        below += seconds
    return inclusive - below


def _timed(node: ModuleNode, phase: Phase) -> float | None:
    if node.timing is None:
        return None
    stats = node.timing.forward if phase is Phase.FORWARD else node.timing.backward
    return None if stats is None else stats.median


def _rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else 0.0


def _model_name(profile: Profile) -> str:
    source = profile.metadata.get("model_source") or {}
    return str(source.get("model") or source.get("architecture") or profile.root.type)
