"""flopsight's exceptions.

    FlopsightError              base of everything flopsight raises on purpose
    ├── RegistrationError       a formula registered twice, or for something that is not an op
    ├── InputError              bad arguments to profile(): shapes, loss_fn, ignore_modules
    │   ├── ModelSourceError    (flopsight.hf) no bundled config, file, folder or Hub id
    │   ├── InputSpecError      (flopsight.hf) requested inputs do not fit the model
    │   └── SortError           (flopsight.report.diff) diff(sort=) names no figure both runs have
    ├── DeviceError             (flopsight.hf) the model cannot run on the chosen device
    └── ModuleNotFound          Profile.module(name) with a name the model does not have
"""

from __future__ import annotations


class FlopsightError(Exception):
    """Base class of flopsight's own errors."""


class RegistrationError(FlopsightError):
    """A cost formula could not be registered."""


class InputError(FlopsightError, ValueError):
    """The arguments given to flopsight cannot describe a run of the model."""


class ModuleNotFound(FlopsightError, KeyError):
    """A module path that is not in the profiled model."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
