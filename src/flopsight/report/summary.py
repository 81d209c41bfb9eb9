"""The summary header: whole-model totals, what was not counted, and the conventions used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .mesh import rank_text
from .units import format_bytes, format_count, format_params

if TYPE_CHECKING:
    from ..tree.profile import Profile

__all__ = ["render_summary", "summary_rows"]


def render_summary(
    profile: Profile,
    *,
    precision: int = 2,
    unit: str | None = None,
    param_unit: str | None = None,
) -> str:
    """Totals of a profile as aligned "label: value" lines.

    Shows parameters (total, trainable, frozen, buffers, tied), forward MACs and FLOPs, the
    causal-effective forward FLOPs when a mask discarded work, backward (measured, or "not
    measured" with the 2 x forward estimate beside it), forward + backward, recomputation when
    there was any, every uncounted op with its call count, communication ops and ops priced
    by an upper bound when there are any, and the counting conventions. A profile of one rank
    of a distributed run also says which rank of which mesh, what this rank holds of the
    parameters (its local shards) and what its collectives moved.

    Args:
        profile: a measured Profile or one read back with ``Profile.from_dict``.
        precision: decimals kept in numbers.
        unit: fixed prefix for MACs and FLOPs ("G", "T", "" for plain numbers); None picks one.
        param_unit: fixed prefix for parameter counts ("M", "B", ""); None picks one.

    Returns:
        The header as text, no trailing newline.

    Example:
        >>> print(render_summary(flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))))
        Model:                  Linear
        Inputs:                 0: float32[2, 8]
        ...
        Forward FLOPs:          136 FLOPs
        Backward FLOPs:         not measured (2 x forward estimate: 272 FLOPs)
        ...
    """
    rows = summary_rows(profile, precision=precision, unit=unit, param_unit=param_unit)
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label + ':':<{width}}{value}" for label, value in rows]
    lines += _conventions(profile.metadata.get("conventions"))
    return "\n".join(lines)


def summary_rows(profile: Profile, *, precision: int = 2, unit: str | None = None,
                 param_unit: str | None = None) -> list[tuple[str, str]]:
    """``render_summary``'s (label, value) lines before alignment, the conventions left out
    (``profile.metadata["conventions"]``); a sub-item's label starts with two spaces."""

    def count(value: int, suffix: str) -> str:
        return format_count(value, unit=unit, precision=precision, suffix=suffix)

    def params(value: int) -> str:
        return format_params(value, unit=param_unit, precision=precision)

    meta = profile.metadata
    forward, backward, recompute = profile.forward, profile.backward, profile.recompute
    rows: list[tuple[str, str]] = []
    if meta.get("model_type"):
        rows.append(("Model", str(meta["model_type"])))
    if meta.get("inputs"):
        rows.append(("Inputs", _describe_inputs(meta["inputs"])))
    info = profile.distributed
    if info is not None:
        rows.append(("Rank", rank_text(info)))
    rows += [
        ("Params", params(profile.params)),
        ("  trainable", params(profile.trainable_params)),
        ("  frozen", params(profile.frozen_params)),
    ]
    if info is not None:
        # Params above are the model's, each counted once; this is what this rank holds of them.
        local = f"{params(profile.local_params)} ({format_bytes(profile.local_param_bytes, precision=precision)})"
        rows.append(("Params on this rank (local shards)", local))
    rows += [
        ("Buffers", params(profile.buffers)),
        ("Tied parameters", _tied(len(profile.tied_parameters))),
        ("Forward MACs", count(forward.macs, "MACs")),
        ("Forward FLOPs", count(forward.flops, "FLOPs")),
    ]
    if forward.masked_flops:
        # Attention is counted in full; say how much of it the mask threw away.
        masked = count(forward.masked_flops, "FLOPs")
        rows.append(("Forward FLOPs, effective", f"{count(forward.effective_flops, 'FLOPs')} ({masked} masked out)"))
    estimate = f"2 x forward estimate: {count(profile.estimated_backward_flops, 'FLOPs')}"
    if profile.backward_measured:
        rows += [
            ("Backward MACs", count(backward.macs, "MACs")),
            ("Backward FLOPs", f"{count(backward.flops, 'FLOPs')} ({estimate})"),
        ]
        if backward.masked_flops:
            rows.append(("Backward FLOPs, effective", count(backward.effective_flops, "FLOPs")))
        rows += [
            ("Forward+backward MACs", count(forward.macs + backward.macs, "MACs")),
            ("Forward+backward FLOPs", count(forward.flops + backward.flops, "FLOPs")),
        ]
    else:
        rows += [
            ("Backward FLOPs", f"not measured ({estimate})"),
            ("Forward+backward FLOPs", count(forward.flops + profile.estimated_backward_flops, "FLOPs") + " (estimated)"),
        ]
    if recompute.flops or recompute.macs:
        rows += [
            ("Recompute MACs", count(recompute.macs, "MACs")),
            ("Recompute FLOPs", count(recompute.flops, "FLOPs")),
            ("Total FLOPs", count(profile.total_flops, "FLOPs")),
        ]
    if meta.get("ignored_module_types"):
        rows.append(("Ignored modules", ", ".join(meta["ignored_module_types"]) + " (their ops are not counted)"))
    uncounted = sorted(profile.uncounted_ops.items(), key=lambda item: (-item[1], item[0]))
    rows.append(("Uncounted ops", f"{len(uncounted)} (no cost formula; charged 0 FLOPs)" if uncounted else "none"))
    # Never hidden: each op with no formula is listed, however many there are.
    rows += [(f"  {op}", _calls(calls)) for op, calls in uncounted]
    rows += _communication(profile, precision)
    rows += _listed("Communication ops", "0 FLOPs; collectives and waits", profile.communication_ops)
    rows += _listed("Upper-bound ops", "priced by an upper bound: what they need was unknown", profile.bounded_ops)
    return rows


def _communication(profile: Profile, precision: int) -> list[tuple[str, str]]:
    """"Communication: N calls, X payload, Y bus bytes" when the run issued collectives."""
    totals = list(profile.communication().values())
    if not totals:
        return []
    calls = sum(t.calls for t in totals)
    payload = format_bytes(sum(t.payload_bytes for t in totals), precision=precision)
    bus = format_bytes(sum(t.bus_bytes for t in totals), precision=precision)
    return [("Communication", f"{_calls(calls)}, {payload} payload, {bus} bus bytes")]


def _listed(label: str, note: str, calls_by_op: dict[str, int]) -> list[tuple[str, str]]:
    """A "label: N (note)" row and one row per op with its calls; nothing when there are none."""
    if not calls_by_op:
        return []
    ordered = sorted(calls_by_op.items(), key=lambda item: (-item[1], item[0]))
    return [(label, f"{len(ordered)} ({note})")] + [(f"  {op}", _calls(calls)) for op, calls in ordered]


def _describe_inputs(inputs: list[dict[str, Any]]) -> str:
    """``[{"name": "0", "shape": [2, 8], "dtype": "int64"}]`` -> ``"0: int64[2, 8]"``."""
    parts = []
    for described in inputs:
        name = described.get("name", "?")
        if "shape" in described:
            shape = ", ".join(str(d) for d in described["shape"])
            parts.append(f"{name}: {described.get('dtype', '')}[{shape}]")
        else:
            parts.append(f"{name}: {described.get('type', '?')}")
    return ", ".join(parts)


def _tied(count: int) -> str:
    if not count:
        return "none"
    return f"{count} (counted once)"


def _calls(calls: int) -> str:
    return f"{calls} call" if calls == 1 else f"{calls} calls"


def _conventions(conventions: Any) -> list[str]:
    """One line per convention, in the order the profile recorded them."""
    if not conventions:
        return ["Conventions: not recorded in this profile"]
    lines = ["Conventions:"]
    for key, value in dict(conventions).items():
        lines.append(f"  {key.replace('_', ' ')}: {value}")
    return lines
