"""What a generate run measured (``GenerationReport``) and its text, json, csv and markdown.

A generate run gives a prefill Profile, one Profile per decode step and their summary.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .csv_format import modules_to_depth
from .html import render_html
from .header import fit_header_line, model_name, render_header
from .json_text import json_text
from .markdown import render_profile_markdown
from .text import render_text
from .units import format_count

if TYPE_CHECKING:
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = [
    "GenerationReport",
    "render_generation_csv",
    "render_generation_html",
    "render_generation_json",
    "render_generation_markdown",
    "render_generation_text",
]


@dataclass(slots=True)
class GenerationReport:
    """What a generate run measured: the prefill, each decode step, and their summary."""

    prefill: Profile
    decode: list[Profile]
    summary: dict[str, Any] = field(default_factory=dict)


def render_generation_text(report: GenerationReport, options: RenderOptions) -> str:
    summary = report.summary
    lines = [
        render_header(report.prefill, options.width).rstrip("\n"),
        *fit_header_line(f"generate: prefill of {summary['prompt_len']} tokens, then {summary['new_tokens']} "
                         "decode steps with the KV cache", options.width),
        "",
        "Generation",
        "----------",
        *_generation_table(summary),
        "",
        "Prefill",
        "=======",
        "",
    ]
    return "\n".join(lines) + render_text(report.prefill, depth=options.depth, top=options.top,
                                              width=options.width)


def render_generation_json(report: GenerationReport, options: RenderOptions) -> str:
    """The summary, the prefill Profile, and the first and last decode steps' Profiles."""
    data: dict[str, Any] = {
        "mode": "generate",
        "generation": report.summary,
        "prefill": report.prefill.to_dict(),
        "decode_first": report.decode[0].to_dict() if report.decode else None,
        "decode_last": report.decode[-1].to_dict() if report.decode else None,
    }
    return json_text(data)


def render_generation_csv(report: GenerationReport, options: RenderOptions) -> str:
    """One row per module: prefill figures, decode figures summed over every step, and the total."""
    decoded: dict[str, tuple[int, int]] = {}
    for step in report.decode:
        for node in step.modules():
            macs, flops = decoded.get(node.name, (0, 0))
            decoded[node.name] = (macs + node.forward.macs, flops + node.forward.flops)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("module", "type", "depth", "params", "prefill_macs", "prefill_flops",
                     "decode_macs", "decode_flops", "total_macs", "total_flops"))
    for node in modules_to_depth(report.prefill, options.depth):
        macs, flops = decoded.get(node.name, (0, 0))
        f = node.forward
        writer.writerow((node.name, node.type, node.depth, node.params, f.macs, f.flops,
                         macs, flops, f.macs + macs, f.flops + flops))
    return out.getvalue()


def render_generation_html(report: GenerationReport, options: RenderOptions) -> str:
    """The prefill's page, with the steps' table as its first section."""
    summary = report.summary
    title = f"Generation: prefill of {summary['prompt_len']} tokens, then {summary['new_tokens']} decode steps"
    return render_html(report.prefill, top=options.top, sections=[(title, "\n".join(_generation_table(summary)))])


def render_generation_markdown(report: GenerationReport, options: RenderOptions) -> str:
    lines = [
        f"# flopsight generate: {model_name(report.prefill)}",
        "",
        *_generation_table(report.summary, markdown=True),
        "",
    ]
    prefill = render_profile_markdown(report.prefill, options).split("\n", 1)[1]  # drop its title
    return "\n".join(lines) + "\n# Prefill\n" + prefill


def _generation_table(summary: dict[str, Any], *, markdown: bool = False) -> list[str]:
    rows: list[tuple[str, str, dict[str, int] | None]] = [("prefill", str(summary["prompt_len"]), summary["prefill"])]
    steps = summary["decode_steps"]
    shown = steps if len(steps) <= 4 else steps[:3] + [None] + steps[-1:]  # None: the steps left out
    for step in shown:
        rows.append((f"decode step {step['step']}", str(step["kv_len"]), step) if step else ("...", "", None))
    rows.append(("decode, per token (mean)", "", summary["decode_mean_per_token"]))
    rows.append((f"decode, {summary['new_tokens']} tokens", "", summary["decode_total"]))
    rows.append(("total", "", summary["total"]))
    cells = [
        (name, kv, format_count(cost.get("macs", 0)), format_count(cost.get("flops", 0))) if cost else (name, kv, "", "")
        for name, kv, cost in rows
    ]
    if markdown:
        out = ["| Step | KV length | MACs | FLOPs |", "|---|---:|---:|---:|"]
        return out + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in cells]
    widths = [max(len(row[i]) for row in cells + [("Step", "KV length", "MACs", "FLOPs")]) for i in range(4)]
    head = ("Step", "KV length", "MACs", "FLOPs")

    def line(r: tuple[str, str, str, str]) -> str:
        return f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}".rstrip()

    return [line(head)] + [line(r) for r in cells]
