"""Counting inside a user's own training loop: DeepSpeed's ``FlopsProfiler`` and ``track()``.

``flopsight.profile`` runs the model itself. These two let the user's loop run it instead:
every ``model(x)`` call (and its backward) between start and stop is counted with the same
engine, one window at a time:

- ``FlopsProfiler(model)``: DeepSpeed's method names and meanings (``start_profile``,
  ``stop_profile``, ``get_total_flops``...). One start/stop window is one step: counts never
  carry over from one window to the next.
- ``track(model, steps=range(2, 6))``: a context manager around a training loop that counts
  the chosen steps (forward and backward) and reports their per-step average, and times
  other steps (``time_steps``, by default the next four) with no counting.

Both are adapters: a window is a ``flopsight.capture.CountingSession``, the same one
``flopsight.profile`` counts through. While it is open the counting dispatch mode is active,
so the model runs slower; no latency is taken there. ``FlopsProfiler`` replays the window's
calls afterwards (``flopsight.timing.replay``); ``track`` times steps of the loop that it does
not count (``flopsight.timing.step_timer``).

Cleanup: everything a window installs (two global module hooks, the dispatch mode) is removed
by ``stop_profile()`` / ``end_profile()`` and by leaving the ``with`` block, also when the
block raises. When the profiled model's forward raises, the dispatch mode is popped at once;
the hooks, which count nothing without it, stay until one of those calls. Without ``with``,
call ``end_profile()`` in ``finally``.
"""

from ..atomic_write import write_report
from ..report.deepspeed import render_latency_section, render_report
from ..report.units import format_duration
from .profiler import FlopsProfiler
from .tracker import Tracker, track

__all__ = ["FlopsProfiler", "Tracker", "format_duration", "render_latency_section", "render_report", "track",
           "write_report"]
