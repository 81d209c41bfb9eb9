"""Renderers: pure functions of a Profile. Nothing here imports torch.

``render_text`` is what ``print(profile)`` shows; its parts (summary header, annotated module
tree, per-depth top-k) are usable alone, and ``units`` holds the one number formatter.
"""

from .summary import render_summary
from .text import render_text
from .timing import format_latency, render_timing, render_timing_summary, render_timing_table
from .topk import render_top
from .tree import describe_columns, render_tree
from .units import format_count, format_number, format_params, format_percent

__all__ = [
    "describe_columns",
    "format_count",
    "format_latency",
    "format_number",
    "format_params",
    "format_percent",
    "render_summary",
    "render_text",
    "render_timing",
    "render_timing_summary",
    "render_timing_table",
    "render_top",
    "render_tree",
]
