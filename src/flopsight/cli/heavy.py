"""Import torch for the commands that run a model, and only for them (``--help``, argument
errors and ``flopsight models`` stay instant)."""

from __future__ import annotations

import warnings

# torch warns at import when NumPy is missing or built for another major version; the CLI never
# hands torch a NumPy array, so on the command line the warning is noise on every run.
_NUMPY_WARNINGS = (
    r"Failed to initialize NumPy",
    r"A module that was compiled using NumPy 1\.x",
)


def import_torch() -> None:
    """Import torch with its NumPy warnings filtered out (only those, only during the import)."""
    with warnings.catch_warnings():
        for message in _NUMPY_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        import torch  # noqa: F401
