"""The figures a diff compares: each module's value of one figure, which runs have it, and how it reads.

A figure is compared when both profiles have it: the counts always; backward and recompute
when both measured backward; memory when both recorded it; latency when both were timed;
predicted seconds when both carry a roofline; bus bytes when either communicated. Pure: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .units import format_bytes, format_count, format_duration, format_params

if TYPE_CHECKING:
    from ..tree.module_node import ModuleNode
    from ..tree.profile import Profile

__all__ = ["FIGURES", "FIGURE_NAMES", "Figure", "common_figures", "figure"]


@dataclass(frozen=True, slots=True)
class Figure:
    """``value`` reads the figure off a module (None: the module has none, e.g. never timed);
    ``present`` says whether a profile has the figure at all; ``show`` formats a magnitude."""

    name: str
    label: str
    value: Callable[["ModuleNode"], float | None]
    present: Callable[["Profile"], bool]
    show: Callable[[float], str]


def _always(profile: Profile) -> bool:
    return True


def _backward(profile: Profile) -> bool:
    return profile.backward_measured


def _memory(profile: Profile) -> bool:
    return profile.memory is not None


def _timed(profile: Profile) -> bool:
    return profile.run_timing is not None


def _roofline(profile: Profile) -> bool:
    return profile.roofline_target is not None


def _communicated(profile: Profile) -> bool:
    return bool(profile.root.comm)


def _count(suffix: str) -> Callable[[float], str]:
    return lambda value: format_count(value, suffix=suffix)


def _activation(node: ModuleNode) -> float | None:
    return None if node.memory is None else node.memory.activation_bytes


def _peak(node: ModuleNode) -> float | None:
    return None if node.memory is None else node.memory.peak_bytes


def _forward_latency(node: ModuleNode) -> float | None:
    return None if node.timing is None else node.timing.forward.median


def _backward_latency(node: ModuleNode) -> float | None:
    return None if node.timing is None or node.timing.backward is None else node.timing.backward.median


def _predicted(node: ModuleNode) -> float | None:
    return None if node.roofline is None else node.roofline.step_s


def _bus_bytes(node: ModuleNode) -> float:
    return sum(t.bus_bytes for per_key in node.comm.values() for t in per_key.values())


FIGURES: tuple[Figure, ...] = (
    Figure("params", "params", lambda n: n.params, _always, format_params),
    Figure("forward_macs", "fwd MACs", lambda n: n.forward.macs, _always, _count("MACs")),
    Figure("forward_flops", "fwd FLOPs", lambda n: n.forward.flops, _always, _count("FLOPs")),
    Figure("forward_bytes", "fwd bytes", lambda n: n.forward.bytes_read + n.forward.bytes_written, _always,
           format_bytes),
    Figure("backward_macs", "bwd MACs", lambda n: n.backward.macs, _backward, _count("MACs")),
    Figure("backward_flops", "bwd FLOPs", lambda n: n.backward.flops, _backward, _count("FLOPs")),
    Figure("backward_bytes", "bwd bytes", lambda n: n.backward.bytes_read + n.backward.bytes_written, _backward,
           format_bytes),
    Figure("recompute_flops", "recompute FLOPs", lambda n: n.recompute.flops, _backward, _count("FLOPs")),
    Figure("activation_bytes", "activations", _activation, _memory, format_bytes),
    Figure("peak_bytes", "peak memory", _peak, _memory, format_bytes),
    Figure("forward_latency", "fwd latency", _forward_latency, _timed, format_duration),
    Figure("backward_latency", "bwd latency", _backward_latency, _timed, format_duration),
    Figure("predicted_seconds", "predicted", _predicted, _roofline, format_duration),
    Figure("bus_bytes", "bus bytes", _bus_bytes, _communicated, format_bytes),
)
FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in FIGURES)
_BY_NAME = {f.name: f for f in FIGURES}


def figure(name: str) -> Figure:
    return _BY_NAME[name]


def common_figures(a: Profile, b: Profile) -> list[Figure]:
    """The figures both profiles have; bus bytes when either communicated (the other's are zero)."""
    def compared(f: Figure) -> bool:
        if f.present is _communicated:
            return f.present(a) or f.present(b)
        return f.present(a) and f.present(b)

    return [f for f in FIGURES if compared(f)]
