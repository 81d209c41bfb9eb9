"""The calibration section: the fitted efficiencies per op class, and per module its measured
own time against the roofline's before and after the fit (``tree/calibration.py``). Pure; no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .columns import aligned, grid
from .units import format_duration

if TYPE_CHECKING:
    from ..tree.calibration import CalibrationFit

__all__ = ["render_calibration"]

_HEADER = ("module", "phase", "measured", "datasheet", "ratio", "calibrated", "ratio")


def render_calibration(fit: CalibrationFit, *, precision: int = 2, where: str | None = None) -> str:
    """What was fitted, then one row per (module, phase) fitted: measured own seconds, the
    datasheet roofline's and the calibrated roofline's, each with predicted / measured.

    Args:
        fit: from ``flopsight.calibrate``.
        precision: decimals kept in durations and ratios.
        where: the file the calibration was stored in, if it was.

    Returns:
        The section, no trailing newline.
    """
    cal = fit.calibration

    def seconds(value: float) -> str:
        return format_duration(value, precision=precision, nanoseconds=True)

    fitted = ", ".join(f"{cls} {eff:.3g}" for cls, eff in cal.efficiency.items()) or "none"
    lines = [aligned([
        ("calibrated", f"{cal.gpu} {cal.dtype}, timed on {cal.device_name or 'an unnamed device'} ({cal.model})"),
        ("efficiency", f"{fitted} (fraction of both peaks per op class; other classes 1)"),
        ("fit", f"{cal.rows} module rows; RMS relative error {cal.error_before:.{precision}g} at the datasheet, "
                f"{cal.error_after:.{precision}g} calibrated"),
        *([("stored", where)] if where else []),
    ])]
    rows = [[m.module or "(model)", m.phase.value, seconds(m.measured_s), seconds(m.before_s),
             f"{m.before_ratio:.{precision}f}", seconds(m.after_s), f"{m.after_ratio:.{precision}f}"]
            for m in fit.modules]
    lines += ["", *grid(_HEADER, rows, left=2)]
    return "\n".join(lines)
