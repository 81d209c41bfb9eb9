"""``--calibrate``: fit the roofline of ``--gpu`` to this run's per-module time, store the
efficiencies, and show the agreement per module. Torch-free, so ``show`` calibrates a saved
timed profile without torch."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from ..tree import Profile


def check_calibration_options(args: argparse.Namespace) -> None:
    """What can be refused from the arguments alone."""
    calibrate = getattr(args, "calibrate", False)
    if not getattr(args, "gpu", None):
        for flag, given in (("--calibrate", calibrate), ("--no-calibration", getattr(args, "no_calibration", False)),
                            ("--calibration-file", getattr(args, "calibration_file", None))):
            if given:
                raise InputError(f"{flag} applies to the roofline of a GPU: add --gpu NAME")
        return
    if calibrate and getattr(args, "no_calibration", False):
        raise InputError("--calibrate stores a calibration and uses it; drop --no-calibration")
    if calibrate and args.command != "show" and not getattr(args, "time", False):
        raise InputError("--calibrate fits the roofline to measured time: add --time (and --device cpu or cuda)")


def calibrate_and_store(result: Profile, args: argparse.Namespace) -> str:
    """Fit ``--gpu``'s per-class efficiencies to ``result``'s timing and store them; the
    calibration section (fitted efficiencies, then predicted against measured per module)."""
    from ..report.calibration import render_calibration
    from ..tree.calibration import calibrate
    from ..tree.calibration_store import save_calibration

    if result.timing is None or not result.timing.modules:
        raise InputError(f"--calibrate: {args.profile_file} was not timed per module; profile it with --time"
                         if args.command == "show" else "--calibrate needs the per-module timing of --time")
    fit = calibrate(result, args.gpu)
    where = save_calibration(fit.calibration, getattr(args, "calibration_file", None))
    return render_calibration(fit, where=str(where))
