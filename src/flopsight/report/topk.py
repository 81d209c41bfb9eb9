"""DeepSpeed's aggregated view: the top k module types by params, MACs and FLOPs at each depth."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ..errors import InputError
from .units import format_bytes, format_count, format_params
from .timing import format_latency

if TYPE_CHECKING:
    from ..tree.profile import Profile

__all__ = ["TopEntry", "render_top", "top_entries"]

# One aggregated entry: (module type, how many modules of it, their summed figure formatted).
TopEntry = tuple[str, int, str]

# (row label, Profile.top's "by", suffix of the value); params take no suffix.
_MEASURES = (("params", "params", ""), ("MACs", "macs", "MACs"), ("FLOPs", "flops", "FLOPs"))
# With memory, a fourth row: the activation bytes each type's forward keeps for the backward.
_ACTIVATIONS = "activations"
# With timing, a last row, as DeepSpeed's: each type's median forward latency, summed.
_LATENCY = "fwd latency"


def render_top(
    profile: Profile,
    *,
    k: int | None = 3,
    depths: Iterable[int] | None = None,
    precision: int = 2,
    unit: str | None = None,
    param_unit: str | None = None,
) -> str:
    """For each depth, the k module types with the most params, forward MACs and forward FLOPs,
    and, when the profile recorded memory, activation bytes (``ModuleMemory.activation_bytes``).

    Modules of one type at one depth are summed, as DeepSpeed's "Aggregated Profile" does; an
    entry ``4 x Block: 8.64 K`` is four Block modules holding 8.64 K params together.

    Args:
        profile: a measured Profile or one read back with ``Profile.from_dict``.
        k: how many module types to list per depth and measure; None lists every type.
        depths: the depths to show; None shows 0 (the root) to ``profile.max_depth``.
        precision: decimals kept in numbers.
        unit: fixed prefix for MACs and FLOPs; None picks one per number.
        param_unit: fixed prefix for parameter counts; None picks one.

    Returns:
        The table as text, no trailing newline.

    Example:
        >>> print(render_top(flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8)), k=1))
        Top 1 modules in terms of params, MACs or FLOPs at each depth (same-type modules summed):
        depth 0:
            params - Linear: 36
            MACs   - Linear: 64 MACs
            FLOPs  - Linear: 136 FLOPs
    """
    chosen, labels = _checked(profile, k, depths)
    width = max(len(label) for label in labels)
    title = "All" if k is None else f"Top {k}"
    measures = ", ".join(labels[:-1]) + " or " + labels[-1]
    lines = [f"{title} modules in terms of {measures} at each depth (same-type modules summed):"]
    for depth, by_measure in top_entries(profile, k=k, depths=chosen, precision=precision, unit=unit,
                                         param_unit=param_unit):
        lines.append(f"depth {depth}:")
        if by_measure is None:
            lines.append("    no modules at this depth")
            continue
        for label, entries in by_measure:
            lines.append(f"    {label:<{width}} - {', '.join(_entry(*entry) for entry in entries)}")
    return "\n".join(lines)


def top_entries(
    profile: Profile,
    *,
    k: int | None = 3,
    depths: Iterable[int] | None = None,
    precision: int = 2,
    unit: str | None = None,
    param_unit: str | None = None,
) -> list[tuple[int, list[tuple[str, list[TopEntry]]] | None]]:
    """``render_top``'s figures before layout: per depth, per measure label, the k entries
    (None for a depth past the deepest module)."""
    chosen, _ = _checked(profile, k, depths)
    found: list[tuple[int, list[tuple[str, list[TopEntry]]] | None]] = []
    for depth in chosen:
        if depth > profile.max_depth:
            found.append((depth, None))
            continue
        by_measure: list[tuple[str, list[TopEntry]]] = []
        for label, by, suffix in _MEASURES:
            entries = []
            for type_name, count, cost, params in profile.top(depth, k, by):
                if by == "params":
                    shown = format_params(params, unit=param_unit, precision=precision)
                else:
                    value = cost.macs if by == "macs" else cost.flops
                    shown = format_count(value, unit=unit, precision=precision, suffix=suffix)
                entries.append((type_name, count, shown))
            by_measure.append((label, entries))
        if profile.memory is not None:
            by_measure.append((_ACTIVATIONS, [(type_name, count, format_bytes(held, precision=precision))
                                              for type_name, count, held in profile.top_activations(depth, k)]))
        if profile.run_timing is not None:
            by_measure.append((_LATENCY, [(type_name, count, format_latency(seconds, precision=precision))
                                          for type_name, count, seconds in _top_latency(profile, depth, k)]))
        found.append((depth, by_measure))
    return found


def _checked(profile: Profile, k: int | None, depths: Iterable[int] | None) -> tuple[list[int], list[str]]:
    """The depths asked for and the measure labels shown, once the arguments are checked."""
    # Checked here as Profile.top checks it (tree/ is not importable from report/ at runtime).
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise InputError(f"k takes None (all) or a whole number at least 1, got {k!r}")
    chosen = list(range(profile.max_depth + 1)) if depths is None else list(depths)
    if any(depth < 0 for depth in chosen):
        raise InputError(f"depths must be at least 0, got {chosen}")
    labels = [label for label, _, _ in _MEASURES] + ([_ACTIVATIONS] if profile.memory is not None else [])
    return chosen, labels + ([_LATENCY] if profile.run_timing is not None else [])


def _top_latency(profile: Profile, depth: int, k: int | None) -> list[tuple[str, int, float]]:
    """The module types at ``depth`` with the longest median forward latency, same-type modules
    summed: (type name, timed module count, seconds), the k largest."""
    groups: dict[str, tuple[int, float]] = {}
    for node in profile.modules():
        if node.depth == depth and node.timing is not None:
            count, seconds = groups.get(node.type, (0, 0.0))
            groups[node.type] = (count + 1, seconds + node.timing.forward.median)
    rows = sorted(((name, count, seconds) for name, (count, seconds) in groups.items()), key=lambda r: -r[2])
    return rows[:k]


def _entry(type_name: str, count: int, shown: str) -> str:
    """``4 x Block: 8.64 K``: ``count`` modules of one type and their summed figure."""
    times = f"{count} x " if count > 1 else ""
    return f"{times}{type_name}: {shown}"
