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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import InputError
from ..records import Phase, Stats

if TYPE_CHECKING:
    from ..tree import ModuleNode, Profile
    from .formats import RenderOptions

__all__ = ["TRACK_IDS", "chrome_trace", "render_chrome_trace"]

PROCESS_ID = 1
# One track (thread) per timed phase; Perfetto sorts tracks by thread_sort_index.
TRACK_IDS = {Phase.FORWARD: 1, Phase.BACKWARD: 2}
_NS_PER_S = 1_000_000_000


def render_chrome_trace(profile: Profile, options: RenderOptions) -> str:
    """``chrome_trace(profile)`` as JSON text."""
    return json.dumps(chrome_trace(profile)) + "\n"


def chrome_trace(profile: Profile) -> dict[str, Any]:
    """The profile's per-module latencies as a Chrome / Perfetto trace.

    Returns:
        ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``: metadata events
        (``"ph": "M"``) naming the process and the forward and backward tracks, then one complete
        event per timed module and phase, ``ts`` and ``dur`` in microseconds, ``args`` holding
        the module's path, type, calls, params, MACs and FLOPs of that phase, its median and its
        own ops' FLOPs of that phase.

    Raises:
        InputError: the profile carries no timing.

    Example:
        >>> trace = chrome_trace(flopsight.profile(mlp, x).with_timing(flopsight.measure_time(mlp, x)))
        >>> [e["name"] for e in trace["traceEvents"] if e["ph"] == "X"]
        ['MLP', 'fc1', 'act', 'fc2']
    """
    timing = profile.run_timing
    if timing is None:
        raise InputError("the trace needs timing: add --time (or profile.with_timing(flopsight.measure_time(...)))")
    events: list[dict[str, Any]] = [
        _metadata("process_name", {"name": f"flopsight: {profile.root.type}"}, tid=0),
    ]
    start = 0
    for phase, run_stats in ((Phase.FORWARD, timing.forward), (Phase.BACKWARD, timing.backward)):
        if run_stats is None:
            continue
        tid = TRACK_IDS[phase]
        events.append(_metadata("thread_name", {"name": phase.value}, tid=tid))
        events.append(_metadata("thread_sort_index", {"sort_index": tid}, tid=tid))
        # The root may lack a module timing (root-only runs keep the model's own figure).
        root = _Slice(profile.root, _stats(profile.root, phase) or run_stats)
        end = _lay_out(root, phase, start, None, events)
        start = end
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "source": "flopsight",
            "layout": "synthesized from per-module median latencies: children laid out one after "
                      "another inside their parent, the rest of the parent's time its own",
            "device": timing.device_name,
            "repeat": timing.repeat,
        },
    }


@dataclass(frozen=True, slots=True)
class _Slice:
    node: ModuleNode
    stats: Stats


def _lay_out(piece: _Slice, phase: Phase, start_ns: int, end_limit_ns: int | None,
             events: list[dict[str, Any]]) -> int:
    """Append ``piece``'s event from ``start_ns`` (cut at ``end_limit_ns``), then its children's
    inside it; returns where it ends. Integer nanoseconds keep every child within its parent."""
    median_ns = round(piece.stats.median * _NS_PER_S)
    end_ns = start_ns + median_ns if end_limit_ns is None else min(start_ns + median_ns, end_limit_ns)
    events.append(_complete(piece, phase, start_ns, end_ns - start_ns, clamped=end_ns - start_ns < median_ns))
    cursor = start_ns
    children = list(_timed_children(piece.node, phase))
    for child in reversed(children) if phase is Phase.BACKWARD else children:
        cursor = _lay_out(child, phase, cursor, end_ns, events)
    return end_ns


def _timed_children(node: ModuleNode, phase: Phase) -> Iterator[_Slice]:
    """The nearest timed descendants of ``node`` in tree order; a shared module's other
    positions are left out (its time is at its first)."""
    for child in node.children:
        if child.alias_of is not None:
            continue
        stats = _stats(child, phase)
        if stats is None:
            yield from _timed_children(child, phase)
        else:
            yield _Slice(child, stats)


def _stats(node: ModuleNode, phase: Phase) -> Stats | None:
    if node.timing is None:
        return None
    return node.timing.forward if phase is Phase.FORWARD else node.timing.backward


def _complete(piece: _Slice, phase: Phase, start_ns: int, duration_ns: int, *, clamped: bool) -> dict[str, Any]:
    node = piece.node
    cost = node.costs.get(phase)
    own_ops = {op: t.flops for op, t in node.own_ops.get(phase, {}).items()}
    args: dict[str, Any] = {
        "module": node.name, "type": node.type, "calls": node.calls, "params": node.params,
        "macs": 0 if cost is None else cost.macs, "flops": 0 if cost is None else cost.flops,
        "median_us": piece.stats.median * 1e6, "own_op_flops": own_ops,
    }
    if clamped:
        args["clamped"] = True
    return {"name": node.attribute or node.type, "cat": phase.value, "ph": "X", "pid": PROCESS_ID,
            "tid": TRACK_IDS[phase], "ts": start_ns / 1000, "dur": duration_ns / 1000, "args": args}


def _metadata(name: str, args: dict[str, Any], *, tid: int) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": PROCESS_ID, "tid": tid, "args": args}
