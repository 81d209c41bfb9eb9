"""Instrumented runs of a model: which op ran, in which module, in which phase.

- ``capture``: one counting run that flopsight makes itself (``flopsight.profile``).
- ``CountingSession``: what a counting run installs, with ``open`` / ``close`` / ``suspended``;
  ``FlopsProfiler`` and ``track()`` count the user's own calls through one.
- ``ModuleTracker`` / ``ModuleListener``: the one set of global module hooks of a run, which
  every instrument (counting, timing) listens to instead of installing its own.
"""

from .module_tracker import ModuleListener, ModuleTracker
from .root_calls import RecordedCall
from .run import capture
from .session import CountingSession

__all__ = ["CountingSession", "ModuleListener", "ModuleTracker", "RecordedCall", "capture"]
