"""Renderers: pure functions of a Profile. Nothing here imports torch.

``render_text`` is what ``print(profile)`` shows; its parts (summary header, annotated module
tree, per-depth top-k) are usable alone, and ``units`` holds the one number formatter.
``render`` picks one of the command line's formats (text, json, csv, markdown, html; the exports
trace, collapsed and csv-ops: ``chrome_trace``, ``collapsed_stacks``, ``render_ops_csv``) for a Profile
or a ``GenerationReport``; ``render_report`` is the DeepSpeed-shaped layout. A distributed
run adds ``render_communication`` (one rank's collectives per module) and ``render_job`` /
``render_job_json`` (every rank of a job, from ``flopsight.gather``).
"""

from .chrome_trace import chrome_trace
from .collapsed import collapsed_stacks
from .communication import render_communication
from .csv_format import render_profile_csv
from .csv_ops import render_ops_csv
from .deepspeed import depth_and_top, render_latency_section, render_report
from .formats import EXPORT_FORMATS, FORMATS, RenderOptions, render
from .generation import (
    GenerationReport,
    render_generation_csv,
    render_generation_json,
    render_generation_markdown,
    render_generation_text,
)
from .header import render_header
from .html import render_html
from .job import render_job, render_job_json
from .json_format import render_profile_json
from .markdown import render_profile_markdown
from .summary import render_summary
from .text import render_text
from .text_format import render_profile_text
from .timing import format_latency, render_timing, render_timing_summary, render_timing_table
from .topk import render_top
from .tree import describe_columns, render_tree
from .units import format_count, format_duration, format_number, format_params, format_percent

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "GenerationReport",
    "RenderOptions",
    "chrome_trace",
    "collapsed_stacks",
    "depth_and_top",
    "describe_columns",
    "format_count",
    "format_duration",
    "format_latency",
    "format_number",
    "format_params",
    "format_percent",
    "render",
    "render_communication",
    "render_generation_csv",
    "render_generation_json",
    "render_generation_markdown",
    "render_generation_text",
    "render_header",
    "render_html",
    "render_job",
    "render_job_json",
    "render_latency_section",
    "render_ops_csv",
    "render_profile_csv",
    "render_profile_json",
    "render_profile_markdown",
    "render_profile_text",
    "render_report",
    "render_summary",
    "render_text",
    "render_timing",
    "render_timing_summary",
    "render_timing_table",
    "render_top",
    "render_tree",
]
