"""Timing runs, kept apart from counting runs: latency per module, achieved FLOPS, MFU.

``measure_time`` times a model (forward, backward, optimizer step; per module) with its own
hooks and never under the counting mode; ``achieved`` divides a Profile's counted FLOPs by the
measured latencies and compares them with a dense peak from ``peaks``.
"""

from ..records import ModuleTiming, Stats, TimingResult, summarize
from ..tree.achieved import Achieved, ModuleAchieved, achieved
from ..tree.peaks import PEAK_TFLOPS, match_accelerator, peak_tflops_for
from .runner import measure_time

__all__ = [
    "PEAK_TFLOPS",
    "Achieved",
    "ModuleAchieved",
    "ModuleTiming",
    "Stats",
    "TimingResult",
    "achieved",
    "match_accelerator",
    "measure_time",
    "peak_tflops_for",
    "summarize",
]
