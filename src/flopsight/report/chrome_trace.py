"""A timed Profile as a Chrome trace (the JSON Trace Event Format that chrome://tracing,
Perfetto's ui.perfetto.dev and speedscope open): each timed module one complete event
(``"ph": "X"``) nested inside its parent's, forward and backward on two tracks. No torch.

A timing run keeps each module's median latency per iteration, not when it started, so the
layout is synthesized: a parent's children sit one after another from the parent's start (in
tree order forward; in reverse, as autograd runs them, backward), and whatever of the parent's
time they leave is its own. A child's median longer than what its parent has left (medians of
different modules come from different iterations) is cut at the parent's end and marked
``clamped``, so children never leave their parent. Backward starts where forward ends.

A module without timing (not timed per module, or no backward through it) draws no slice;
its timed submodules are laid out in its parent directly.

A profile with no timing but a roofline (``Profile.roofline``, the CLI's ``--gpu``) gives the
trace of the predicted seconds instead: there a parent's time is its children's plus its own
exactly, so nothing is clamped. A profile with neither is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import InputError
from ..records import Phase
from .json_text import json_text

if TYPE_CHECKING:
    from ..tree import ModuleNode, Profile
    from .formats import RenderOptions

__all__ = ["TRACK_IDS", "chrome_trace", "render_chrome_trace"]

PROCESS_ID = 1
# One track (thread) per phase; Perfetto sorts tracks by thread_sort_index.
TRACK_IDS = {Phase.FORWARD: 1, Phase.BACKWARD: 2}
_NS_PER_S = 1_000_000_000
_SLACK_S = 1e-12

# A module's seconds in a phase, None when it has none (not timed, not priced).
Seconds = Callable[["ModuleNode", Phase], "float | None"]


def render_chrome_trace(profile: Profile, options: RenderOptions) -> str:
    """``chrome_trace(profile)`` as JSON text."""
    return json_text(chrome_trace(profile), indent=None)


def chrome_trace(profile: Profile) -> dict[str, Any]:
    """The profile's per-module latencies (else its roofline's predicted seconds) as a Chrome /
    Perfetto trace.

    Returns:
        ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``: metadata events
        (``"ph": "M"``) naming the process and the forward and backward tracks, then one complete
        event per timed module and phase, ``ts`` and ``dur`` in microseconds, ``args`` holding
        the module's path, type, calls, params, MACs and FLOPs of that phase, its median
        (``median_us``; ``predicted_us`` from a roofline) and its own ops' FLOPs of that phase.

    Raises:
        InputError: the profile carries neither timing nor a roofline.

    Example:
        >>> trace = chrome_trace(flopsight.profile(mlp, x).with_timing(flopsight.measure_time(mlp, x)))
        >>> [e["name"] for e in trace["traceEvents"] if e["ph"] == "X"]
        ['MLP', 'fc1', 'act', 'fc2']
    """
    timing, target = profile.run_timing, profile.roofline_target
    if timing is not None:
        seconds, key = _measured, "median_us"
        source = {"source": "timing", "device": timing.device_name, "repeat": timing.repeat,
                  "layout": "synthesized from per-module median latencies: children laid out one after "
                            "another inside their parent, the rest of the parent's time its own"}
        whole = {Phase.FORWARD: timing.forward.median,
                 Phase.BACKWARD: None if timing.backward is None else timing.backward.median}
    elif target is not None:
        seconds, key = _predicted, "predicted_us"
        source = {"source": "roofline", "gpu": target.gpu, "dtype": target.dtype,
                  "layout": "predicted seconds of each module on the roofline: children laid out one "
                            "after another inside their parent, the rest of the parent's time its own"}
        whole = {phase: _predicted(profile.root, phase) for phase in TRACK_IDS}
    else:
        raise InputError("the trace needs timing: add --time (or --gpu NAME for the roofline's predicted "
                         "time; in Python, with_timing or roofline)")
    events: list[dict[str, Any]] = [
        _metadata("process_name", {"name": f"flopsight: {profile.root.type}"}, tid=0),
    ]
    start = 0.0
    for phase, tid in TRACK_IDS.items():
        # The root may lack a module timing (root-only runs keep the model's own figure).
        root_s = seconds(profile.root, phase) or whole[phase]
        if not root_s:
            continue  # not timed, or priced at nothing (no backward ran)
        events.append(_metadata("thread_name", {"name": phase.value}, tid=tid))
        events.append(_metadata("thread_sort_index", {"sort_index": tid}, tid=tid))
        layout = _Layout(phase, seconds, key, events)
        start = layout.place(_Slice(profile.root, root_s), start, None)
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": {"producer": "flopsight", **source}}


@dataclass(frozen=True, slots=True)
class _Slice:
    node: ModuleNode
    seconds: float


@dataclass(frozen=True, slots=True)
class _Layout:
    """Places one phase's slices on its track, appending their events."""

    phase: Phase
    seconds: Seconds
    key: str  # the args entry holding the recorded seconds, in microseconds
    events: list[dict[str, Any]]

    def place(self, piece: _Slice, start_s: float, limit_s: float | None) -> float:
        """Append ``piece``'s event from ``start_s`` (cut at ``limit_s``), then its children's
        inside it; returns where it ends. Both ends are rounded to whole nanoseconds from the
        exact seconds, so a child that ends within its parent still does once rounded."""
        end_s = start_s + piece.seconds
        # A picosecond's slack: a parent's predicted seconds are its parts summed in another order.
        clamped = limit_s is not None and end_s > limit_s + _SLACK_S
        if limit_s is not None and end_s > limit_s:
            end_s = limit_s
        start_ns, end_ns = round(start_s * _NS_PER_S), round(end_s * _NS_PER_S)
        self.events.append(self._complete(piece, start_ns, end_ns - start_ns, clamped=clamped))
        cursor = start_s
        children = list(self._children(piece.node))
        for child in reversed(children) if self.phase is Phase.BACKWARD else children:
            cursor = self.place(child, cursor, end_s)
        return end_s

    def _children(self, node: ModuleNode) -> Iterator[_Slice]:
        """The nearest descendants of ``node`` with seconds, in tree order; a shared module's
        other positions are left out (its time is at its first)."""
        for child in node.children:
            if child.alias_of is not None:
                continue
            seconds = self.seconds(child, self.phase)
            if seconds is None:
                yield from self._children(child)
            else:
                yield _Slice(child, seconds)

    def _complete(self, piece: _Slice, start_ns: int, duration_ns: int, *, clamped: bool) -> dict[str, Any]:
        node, phase = piece.node, self.phase
        cost = node.costs.get(phase)
        args: dict[str, Any] = {
            "module": node.name, "type": node.type, "calls": node.calls, "params": node.params,
            "macs": 0 if cost is None else cost.macs, "flops": 0 if cost is None else cost.flops,
            self.key: piece.seconds * 1e6,
            "own_op_flops": {op: t.flops for op, t in node.own_ops.get(phase, {}).items()},
        }
        if clamped:
            args["clamped"] = True
        return {"name": node.attribute or node.type, "cat": phase.value, "ph": "X", "pid": PROCESS_ID,
                "tid": TRACK_IDS[phase], "ts": start_ns / 1000, "dur": duration_ns / 1000, "args": args}


def _measured(node: ModuleNode, phase: Phase) -> float | None:
    if node.timing is None:
        return None
    stats = node.timing.forward if phase is Phase.FORWARD else node.timing.backward
    return None if stats is None else stats.median


def _predicted(node: ModuleNode, phase: Phase) -> float | None:
    return None if node.roofline is None else node.roofline.predicted_s.get(phase)


def _metadata(name: str, args: dict[str, Any], *, tid: int) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": PROCESS_ID, "tid": tid, "args": args}
