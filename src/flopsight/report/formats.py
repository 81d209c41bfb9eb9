"""The output formats (text, json, csv, markdown, html) and ``render``, which picks the renderer.

A forward run renders one Profile; a generate run a ``GenerationReport``. Pure functions of
Profiles; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .csv_format import render_profile_csv
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

__all__ = ["FORMATS", "RenderOptions", "render"]

FORMATS = ("text", "json", "csv", "markdown", "html")


@dataclass(frozen=True, slots=True)
class RenderOptions:
    depth: int | None = None
    top: int | None = None
    width: int | None = None  # the terminal's columns for text; None (files, pipes): the wide layout


def render(result: Profile | GenerationReport | PlanReport, fmt: str, options: RenderOptions) -> str:
    """``result`` in format ``fmt`` ("text", "json", "csv", "markdown" or "html"). A simulated
    plan renders its rank's profile and the job in text, json and html; csv and markdown give the
    rank's profile table (the job's per-rank table is in the text)."""
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
