"""The output formats (text, json, csv, markdown, html, and the exports trace, collapsed and
csv-ops) and ``render``, which picks the renderer.

A forward run renders one Profile; a generate run a ``GenerationReport``. Pure functions of
Profiles; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import InputError
from .chrome_trace import render_chrome_trace
from .collapsed import render_collapsed
from .csv_format import render_profile_csv
from .csv_ops import render_ops_csv
from .generation import (
    GenerationReport,
    render_generation_csv,
    render_generation_html,
    render_generation_json,
    render_generation_markdown,
    render_generation_text,
)
from .html import render_profile_html
from .json_format import render_profile_json
from .markdown import render_profile_markdown
from .plan import PlanReport, render_plan_html, render_plan_json, render_plan_text
from .text_format import render_profile_text

if TYPE_CHECKING:
    from ..tree import Profile

__all__ = ["EXPORT_FORMATS", "FORMATS", "RenderOptions", "render"]

FORMATS = ("text", "json", "csv", "markdown", "html")
# Exports of one profile for other tools (a Chrome trace, flame graph stacks, per-op rows); a
# generate run has none.
EXPORTS: dict[str, Callable[..., str]] = {
    "trace": render_chrome_trace, "collapsed": render_collapsed, "csv-ops": render_ops_csv,
}
EXPORT_FORMATS = tuple(EXPORTS)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    depth: int | None = None
    top: int | None = None
    width: int | None = None  # the terminal's columns for text; None (files, pipes): the wide layout
    stack_metric: str = "flops"  # the value of each collapsed stack (collapsed.STACK_METRICS)


def render(result: Profile | GenerationReport | PlanReport, fmt: str, options: RenderOptions) -> str:
    """``result`` in format ``fmt`` (one of ``FORMATS`` or ``EXPORT_FORMATS``). A simulated plan renders its rank's
    profile and the job in text, json and html; csv, markdown and the exports give the rank's
    profile (the job's per-rank table is in the text). A generate run has no exports."""
    if fmt in EXPORTS:
        if isinstance(result, GenerationReport):
            raise InputError(f"--format {fmt} exports one forward (and backward) profile, not a generate run")
        return EXPORTS[fmt](result.rank_profile if isinstance(result, PlanReport) else result, options)
    renderers: dict[str, tuple[Callable[..., str], Callable[..., str]]] = {
        "text": (render_profile_text, render_generation_text),
        "json": (render_profile_json, render_generation_json),
        "csv": (render_profile_csv, render_generation_csv),
        "markdown": (render_profile_markdown, render_generation_markdown),
        "html": (render_profile_html, render_generation_html),
    }
    forward, generate = renderers[fmt]
    if isinstance(result, PlanReport):
        if fmt == "text":
            return render_plan_text(result, lambda profile: forward(profile, options))
        if fmt == "json":
            return render_plan_json(result)
        if fmt == "html":
            return render_plan_html(result, top=options.top)
        return forward(result.rank_profile, options)
    if isinstance(result, GenerationReport):
        return generate(result, options)
    return forward(result, options)
