"""flopsight: where the parameters, MACs and FLOPs of a PyTorch model go, op by op.

The public names are imported on first use (PEP 562), so that importing a torch-free part
(``flopsight.report``, the command line's ``--help``) does not import torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import FlopsightError, InputError, ModuleNotFound, RegistrationError

if TYPE_CHECKING:
    from .api import profile
    from .distributed.gather import gather
    from .distributed.simulate import simulate
    from .estimates import Estimate, estimate
    from .costs import mark_free, register_cost, unregister_cost
    from .records import OpCost, Phase, TimingResult
    from .report import render_text
    from .report.diff import ProfileDiff, diff
    from .timing import measure_time
    from .training import FlopsProfiler, track
    from .report.printable import Profile
    from .tree import Achieved, GpuSpec, ModuleNode, achieved, register_gpu
    from .tree.calibration import Calibration, CalibrationFit, calibrate
    from .tree.calibration_store import load_calibrations, save_calibration
    from .uncounted_warning import UncountedOpsWarning

__version__ = "0.1.0"

# public name -> the submodule that defines it
_LAZY = {
    "profile": "api",
    "gather": "distributed.gather",
    "simulate": "distributed.simulate",
    "Estimate": "estimates", "estimate": "estimates",
    "mark_free": "costs", "register_cost": "costs", "unregister_cost": "costs",
    "OpCost": "records", "Phase": "records", "TimingResult": "records",
    "render_text": "report",
    "ProfileDiff": "report.diff", "diff": "report.diff",
    "measure_time": "timing",
    "FlopsProfiler": "training", "track": "training",
    "Achieved": "tree", "ModuleNode": "tree", "Profile": "report.printable", "achieved": "tree",
    "GpuSpec": "tree", "register_gpu": "tree",
    "Calibration": "tree.calibration", "CalibrationFit": "tree.calibration", "calibrate": "tree.calibration",
    "load_calibrations": "tree.calibration_store", "save_calibration": "tree.calibration_store",
    "UncountedOpsWarning": "uncounted_warning",
}

__all__ = [
    "Achieved",
    "Calibration",
    "CalibrationFit",
    "Estimate",
    "TimingResult",
    "UncountedOpsWarning",
    "achieved",
    "calibrate",
    "diff",
    "load_calibrations",
    "save_calibration",
    "measure_time",
    "FlopsProfiler",
    "FlopsightError",
    "GpuSpec",
    "InputError",
    "ModuleNode",
    "ModuleNotFound",
    "OpCost",
    "Phase",
    "Profile",
    "ProfileDiff",
    "RegistrationError",
    "__version__",
    "estimate",
    "gather",
    "mark_free",
    "profile",
    "register_cost",
    "register_gpu",
    "render_text",
    "simulate",
    "track",
    "unregister_cost",
]


# subpackages reachable as attributes after ``import flopsight`` (``flopsight.report.render_timing``)
_SUBPACKAGES = frozenset({
    "api", "capture", "cli", "compat", "conventions", "costs", "distributed", "errors", "estimates", "examples", "hf", "records",
    "report",
    "timing", "training", "tree", "uncounted_warning",
})


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flopsight' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBPACKAGES)
