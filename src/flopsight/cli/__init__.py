"""The ``flopsight`` console script: ``flopsight profile MODEL``, ``flopsight models``,
``flopsight example``. Testable in-process: ``main([...])`` returns the exit code."""

from .app import main

__all__ = ["main"]
