"""A Profile as Markdown: a title, the totals, then one table per depth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .header import model_name
from .units import format_count, format_duration, format_params, format_percent

if TYPE_CHECKING:
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = ["render_profile_markdown"]


def render_profile_markdown(profile: Profile, options: RenderOptions) -> str:
    """A title, the totals, then one table per depth (largest FLOPs first with ``top``)."""
    lines = [f"# flopsight profile: {model_name(profile)}", "", *_markdown_totals(profile), ""]
    total_flops = profile.forward.flops
    last = profile.max_depth if options.depth is None else min(options.depth, profile.max_depth)
    backward = profile.backward_measured
    predicted = profile.prediction
    for depth in range(last + 1):
        nodes = [n for n in profile.modules() if n.depth == depth]
        if options.top is not None:
            nodes = sorted(nodes, key=lambda n: -n.forward.flops)[: options.top]
        header = "| Module | Type | Params | Forward MACs | Forward FLOPs | Share of FLOPs |"
        rule = "|---|---|---:|---:|---:|---:|"
        if backward:
            header += " Backward FLOPs |"
            rule += "---:|"
        if predicted is not None:
            header += f" Predicted ({predicted.target.gpu}) | Share of time |"
            rule += "---:|---:|"
        lines += [f"## Depth {depth}", "", header, rule]
        for node in nodes:
            row = (
                f"| `{node.name or '(model)'}` | {node.type} | {format_params(node.params)} "
                f"| {format_count(node.forward.macs)} | {format_count(node.forward.flops)} "
                f"| {format_percent(node.forward.flops, total_flops)} |"
            )
            if backward:
                row += f" {format_count(node.backward.flops)} |"
            if predicted is not None:
                seconds = 0.0 if node.roofline is None else node.roofline.step_s
                row += f" {_seconds(seconds)} | {format_percent(seconds, predicted.step_s)} |"
            lines.append(row)
        lines.append("")
    return "\n".join(lines)


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
    return lines + _markdown_roofline(profile)


def _markdown_roofline(profile: Profile) -> list[str]:
    """The roofline's step on its GPU, when one was applied (``Profile.roofline``)."""
    predicted = profile.prediction
    if predicted is None:
        return []
    target = predicted.target
    kernels = "elementwise chains fused" if target.fuse_elementwise else "every op its own kernel"
    mfu = "n/a" if predicted.mfu is None else format_percent(predicted.mfu, 1)
    lines = [f"- Predicted on {target.gpu} ({target.dtype}, roofline, {kernels}): step "
             f"{_seconds(predicted.step_s)}, best MFU {mfu}"]
    if predicted.comm_s:
        lines.append(f"- Predicted communication: {_seconds(predicted.comm_step_s)}; step with no overlap "
                     f"{_seconds(predicted.no_overlap_step_s)}, with full overlap {_seconds(predicted.full_overlap_step_s)}")
    return lines


def _seconds(value: float) -> str:
    return "0 s" if value == 0 else format_duration(value, nanoseconds=True)
