"""The CLI's output formats: text, json, csv, markdown. Pure functions of Profiles; no torch.

A forward run renders one Profile; a generate run a prefill Profile, its decode-step Profiles
and their summary (``GenerationReport``). JSON is ``Profile.to_dict()`` (its metadata also says
where the model came from and what the inputs were), so ``Profile.from_dict`` reads it back.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..report import format_count, format_params, format_percent, render_text

if TYPE_CHECKING:  # types only: tree pulls torch in at runtime
    from ..tree import ModuleNode, Profile

FORMATS = ("text", "json", "csv", "markdown")


@dataclass(slots=True)
class GenerationReport:
    """What a generate run measured: the prefill, each decode step, and their summary."""

    prefill: Profile
    decode: list[Profile]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    depth: int | None = None
    top: int | None = None
    width: int | None = None  # the terminal's columns for text; None (files, pipes): the wide layout


def render(result: Profile | GenerationReport, fmt: str, options: RenderOptions) -> str:
    """``result`` in format ``fmt`` ("text", "json", "csv" or "markdown")."""
    renderers: dict[str, tuple[Callable[..., str], Callable[..., str]]] = {
        "text": (render_profile_text, render_generation_text),
        "json": (render_profile_json, render_generation_json),
        "csv": (render_profile_csv, render_generation_csv),
        "markdown": (render_profile_markdown, render_generation_markdown),
    }
    forward, generate = renderers[fmt]
    if isinstance(result, GenerationReport):
        return generate(result, options)
    return forward(result, options)


def render_profile_text(profile: Profile, options: RenderOptions) -> str:
    body = render_text(profile, depth=options.depth, top=options.top, width=options.width)
    return _header(profile, options.width) + body


def render_profile_json(profile: Profile, options: RenderOptions) -> str:
    return json.dumps(profile.to_dict(), indent=2) + "\n"


_CSV_COLUMNS = (
    "module", "type", "depth", "calls", "params", "trainable_params",
    "forward_macs", "forward_flops", "forward_masked_flops", "forward_bytes_read", "forward_bytes_written",
    "backward_macs", "backward_flops",
)


def render_profile_csv(profile: Profile, options: RenderOptions) -> str:
    """One row per module (parents before children), every figure inclusive of submodules."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for node in _nodes(profile, options.depth):
        f, b = node.forward, node.backward
        writer.writerow([
            node.name, node.type, node.depth, node.calls, node.params, node.trainable_params,
            f.macs, f.flops, f.masked_flops, f.bytes_read, f.bytes_written, b.macs, b.flops,
        ])
    return out.getvalue()


def render_profile_markdown(profile: Profile, options: RenderOptions) -> str:
    """A title, the totals, then one table per depth (largest FLOPs first with ``top``)."""
    lines = [f"# flopsight profile: {_model_name(profile)}", "", *_markdown_totals(profile), ""]
    total_flops = profile.forward.flops
    last = profile.max_depth if options.depth is None else min(options.depth, profile.max_depth)
    backward = profile.backward_measured
    for depth in range(last + 1):
        nodes = [n for n in profile.modules() if n.depth == depth]
        if options.top is not None:
            nodes = sorted(nodes, key=lambda n: -n.forward.flops)[: options.top]
        header = "| Module | Type | Params | Forward MACs | Forward FLOPs | Share of FLOPs |"
        rule = "|---|---|---:|---:|---:|---:|"
        if backward:
            header += " Backward FLOPs |"
            rule += "---:|"
        lines += [f"## Depth {depth}", "", header, rule]
        for node in nodes:
            row = (
                f"| `{node.name or '(model)'}` | {node.type} | {format_params(node.params)} "
                f"| {format_count(node.forward.macs)} | {format_count(node.forward.flops)} "
                f"| {format_percent(node.forward.flops, total_flops)} |"
            )
            if backward:
                row += f" {format_count(node.backward.flops)} |"
            lines.append(row)
        lines.append("")
    return "\n".join(lines)


def render_generation_text(report: GenerationReport, options: RenderOptions) -> str:
    summary = report.summary
    lines = [
        _header(report.prefill, options.width).rstrip("\n"),
        *_fit(f"generate: prefill of {summary['prompt_len']} tokens, then {summary['new_tokens']} decode steps "
              "with the KV cache", options.width),
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
    return json.dumps(data, indent=2) + "\n"


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
    for node in _nodes(report.prefill, options.depth):
        macs, flops = decoded.get(node.name, (0, 0))
        f = node.forward
        writer.writerow((node.name, node.type, node.depth, node.params, f.macs, f.flops,
                         macs, flops, f.macs + macs, f.flops + flops))
    return out.getvalue()


def render_generation_markdown(report: GenerationReport, options: RenderOptions) -> str:
    lines = [
        f"# flopsight generate: {_model_name(report.prefill)}",
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


def _markdown_totals(profile: Profile) -> list[str]:
    f = profile.forward
    lines = [
        f"- Parameters: {format_params(profile.params)} ({profile.params:,})",
        f"- Forward: {format_count(f.macs, suffix='MACs')}, {format_count(f.flops, suffix='FLOPs')}",
    ]
    if profile.backward_measured:
        lines.append(f"- Backward (measured): {format_count(profile.backward.flops, suffix='FLOPs')}")
    inputs = profile.metadata.get("input_description", {}).get("tensors", {})
    if inputs:
        lines.append("- Inputs: " + ", ".join(f"`{k}` {v['shape']}" for k, v in inputs.items()))
    return lines


def _nodes(profile: Profile, depth: int | None) -> list[ModuleNode]:
    return [n for n in profile.modules() if depth is None or n.depth <= depth]


def _model_name(profile: Profile) -> str:
    source = profile.metadata.get("model_source", {})
    return str(source.get("model") or profile.metadata.get("model_type", "model"))


def _fit(line: str, width: int | None) -> list[str]:
    """``line`` as it is, or wrapped to ``width`` columns (continuations indented)."""
    if width is None or len(line) <= width:
        return [line]
    return textwrap.wrap(line, width=max(width, 20), subsequent_indent="  ", break_on_hyphens=False)


def _header(profile: Profile, width: int | None = None) -> str:
    """One or two lines saying which model and which inputs, above the core text report."""
    meta = profile.metadata
    source = meta.get("model_source")
    if not source:
        return ""
    origin = source.get("kind", "")
    if source.get("checkpoint") and source.get("checkpoint") != source.get("model"):
        origin += f" config of {source['checkpoint']}"
    line = f"model: {source.get('model')} ({origin}), {meta.get('model_type', '')} on {meta.get('device', '')}, {meta.get('dtype', '')}"
    tensors = meta.get("input_description", {}).get("tensors", {})
    inputs = ", ".join(f"{name} {shape['shape']}" for name, shape in tensors.items())
    lines = [line, f"inputs: {inputs}"] if inputs else [line]
    return "\n".join(wrapped for one in lines for wrapped in _fit(one, width)) + "\n\n"
