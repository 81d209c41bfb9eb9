"""A simulated parallel plan (``flopsight profile MODEL --dp --tp --pp``): the simulated rank's
own report, the whole job's (``render_job``) and, when pipelined, one line per stage. Pure; no
torch. The stages arrive as plain data (``flopsight.distributed.JobFigures.to_dict()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .columns import Table, titled
from .html import render_html
from .html.sections import job_section, table_section
from .job import render_job
from .json_text import json_text
from .units import format_bytes, format_count, format_params

if TYPE_CHECKING:
    from ..tree import Profile
    from ..tree.job import JobProfile

__all__ = ["PlanReport", "render_plan_html", "render_plan_json", "render_plan_text", "render_stages", "stages_table"]


@dataclass(slots=True)
class PlanReport:
    """What a simulated plan reports: rank ``plan["rank"]``'s Profile, the job, the stages."""

    rank_profile: Profile
    job: JobProfile
    plan: dict[str, Any] = field(default_factory=dict)


def render_plan_text(report: PlanReport, render_profile: Callable[[Profile], str]) -> str:
    """The rank's report (``render_profile``), then the job's, then the stages when pipelined."""
    rank = report.plan.get("rank", 0)
    parts = [f"Simulated rank {rank} of {report.job.world_size}\n\n" + render_profile(report.rank_profile).rstrip("\n"),
             render_job(report.job).rstrip("\n")]
    stages = render_stages(report.plan)
    if stages:
        parts.append(stages)
    return "\n\n".join(parts) + "\n"


def render_plan_html(report: PlanReport, top: int | None = None) -> str:
    """The rank's page, with the job's per-rank report and the stages as its first sections."""
    rank = report.plan.get("rank", 0)
    blocks = [job_section(report.job, f"Job (simulated rank {rank} of {report.job.world_size} shown)")]
    stages = stages_table(report.plan)
    if stages is not None:
        blocks.append(table_section("Pipeline stages", *stages))
    return render_html(report.rank_profile, top=top, blocks=blocks)


def render_stages(plan: dict[str, Any]) -> str:
    """One row per pipeline stage: its layers, ranks, parameters, FLOPs and point-to-point
    bytes per microbatch; "" without a pipeline."""
    found = stages_table(plan)
    if found is None:
        return ""
    table, note = found
    return titled("Pipeline stages", "\n".join(table.lines() + [note]))


def stages_table(plan: dict[str, Any]) -> tuple[Table, str] | None:
    """``render_stages``' table and its note (microbatches, bubble); None without a pipeline."""
    stages = plan.get("stages", [])
    if len(stages) < 2:
        return None
    header = ["stage", "layers", "ranks", "params", "local params", "fwd FLOPs", "bwd FLOPs", "sends fwd", "sends bwd"]
    rows = [[str(s["stage"]), f"{s['layers'][0]}-{s['layers'][1] - 1}", f"{s['ranks'][0]}-{s['ranks'][1] - 1}",
             format_params(s["params"]), format_params(s["local_params"]),
             format_count(s["forward_flops"], suffix="FLOPs"), format_count(s["backward_flops"], suffix="FLOPs"),
             format_bytes(s["send_forward_bytes"]), format_bytes(s["send_backward_bytes"])] for s in stages]
    note = (f"per microbatch; {plan.get('microbatches', 1)} microbatches per step, "
            f"bubble (pp-1)/(m+pp-1) = {100 * float(plan.get('bubble_fraction', 0.0)):.1f}% of a step")
    return Table(header, rows, left=3), note


def render_plan_json(report: PlanReport) -> str:
    """``{"mode": "simulate", "plan", "job", "rank_profile"}``; ``flopsight show`` reads it back."""
    data = {"mode": "simulate", "plan": report.plan, "job": report.job.to_dict(),
            "rank_profile": report.rank_profile.to_dict()}
    return json_text(data)
