"""Errors of the Hugging Face layer, under flopsight's own tree (see ``flopsight.errors``).

    FlopsightError
    ├── InputError
    │   ├── ModelSourceError     MODEL names no bundled config, file, folder or reachable Hub id,
    │   │                        or its config cannot be read
    │   └── InputSpecError       the requested inputs do not fit the model (sizes, options)
    └── DeviceError              the model cannot run on the chosen device (meta, cpu, cuda)
"""

from __future__ import annotations

from ..errors import FlopsightError, InputError


class ModelSourceError(InputError):
    """The model to profile could not be found or its config could not be read."""


class InputSpecError(InputError):
    """The requested inputs do not fit the model."""


class DeviceError(FlopsightError):
    """The model could not run on the chosen device."""


def first_line(exc: BaseException) -> str:
    """An exception's message for one line of output: its first line, at most 300 characters."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
