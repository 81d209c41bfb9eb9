"""flopsight: where the parameters, MACs and FLOPs of a PyTorch model go, op by op."""

from .api import profile
from .capture import Phase
from .costs import OpCost, mark_free, register_cost, unregister_cost
from .errors import FlopsightError, InputError, ModuleNotFound, RegistrationError
from .report import render_text
from .timing import Achieved, TimingResult, achieved, measure_time
from .training import FlopsProfiler, track
from .tree import Cost, ModuleNode, Profile

__version__ = "0.1.0"

__all__ = [
    "Achieved",
    "TimingResult",
    "achieved",
    "measure_time",
    "Cost",
    "FlopsProfiler",
    "FlopsightError",
    "InputError",
    "ModuleNode",
    "ModuleNotFound",
    "OpCost",
    "Phase",
    "Profile",
    "RegistrationError",
    "__version__",
    "mark_free",
    "profile",
    "register_cost",
    "render_text",
    "track",
    "unregister_cost",
]
