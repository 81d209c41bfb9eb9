"""Import torch for the commands that run a model, and only for them (``--help``, argument
errors and ``flopsight models`` stay instant)."""

from __future__ import annotations

import contextlib
import gc
import warnings
from typing import Iterator

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


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Run the body (the imports of torch and transformers, building the model) without Python's
    cyclic garbage collector, then freeze what it made.

    Importing torch and a transformers model makes about a million long-lived objects, and the
    collector, run every 700 allocations, walks the growing heap again and again: about 0.55 s
    of CPU, a sixth of ``flopsight profile llama-3.1-405b``. Nothing made there is garbage worth
    collecting; frozen (``gc.freeze``), it is never walked again. The collector runs as usual
    afterwards, during the profile itself, and is restored even when the body raises.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
