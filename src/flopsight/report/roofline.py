"""The roofline section: predicted time on a target GPU per module and for the slowest ops,
with what bounds them, beside the counted FLOPs (``tree/roofline.py``). Pure; no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import InputError
from .columns import Table, aligned
from .units import format_count, format_duration, format_number, format_percent

if TYPE_CHECKING:
    from ..tree.profile import Profile
    from ..tree.roofline import Prediction, RooflineTarget

__all__ = ["render_roofline", "roofline_facts", "roofline_module_table", "slowest_ops_table"]

_HEADER = ("module", "type", "FLOPs", "predicted", "share", "compute-bound", "FLOPs/byte")
_OP_HEADER = ("module", "phase", "op", "calls", "predicted", "bound", "FLOPs/byte")


def render_roofline(profile: Profile, *, depth: int | None = None, ops: int = 5, precision: int = 2) -> str:
    """The target, the step's predicted time and best MFU (for a distributed run also the links,
    the communication time and the step without and with full overlap), then a table per
    module and the slowest ops.

    Each module's row is inclusive of its submodules and covers the whole step (forward +
    backward + recompute): its FLOPs, predicted seconds, share of the step's, the part of its
    time in compute-bound ops, and its FLOPs per byte moved.

    Args:
        profile: a profile made with ``Profile.roofline`` (or read back from its JSON).
        depth: the deepest module level listed; None lists every module.
        ops: how many of the slowest (module, phase, op) sums to list; 0 lists none.
        precision: decimals kept in numbers and percentages.

    Returns:
        The section, no trailing newline; "" when the profile carries no roofline.

    Example:
        >>> model = torch.nn.Linear(4096, 4096, device="meta", dtype=torch.bfloat16)
        >>> p = flopsight.profile(model, input_shape=(8192, 4096)).roofline("h100-sxm")
        >>> print(render_roofline(p, ops=0))
        target:     H100 SXM: bfloat16 dense peak 989.5 TFLOPS, memory 3.35 TB/s (NVIDIA H100 Tensor Core GPU datasheet (2023))
        ridge:      295.37 FLOPs/byte (ops below it are memory-bound)
        efficiency: compute 1, memory 1 (the datasheet roofline: the fastest the GPU could run these ops)
        predicted:  step 277.83 us (forward 277.83 us)
        best MFU:   100% (forward + backward FLOPs / (step time x peak))
        <BLANKLINE>
        module   type       FLOPs  predicted  share  compute-bound  FLOPs/byte
        -------  ------  --------  ---------  -----  -------------  ----------
        (model)  Linear  274.91 G  277.83 us   100%           100%      1.64 K
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise InputError(f"depth takes None (every module) or a whole number at least 0, got {depth!r}")
    if profile.prediction is None:
        return ""
    lines = [aligned(roofline_facts(profile, precision=precision)), "",
             *roofline_module_table(profile, depth=depth, precision=precision).lines()]
    slowest = slowest_ops_table(profile, ops=ops, precision=precision)
    if slowest.rows:
        lines += ["", f"Slowest ops ({len(slowest.rows)}):", *slowest.lines()]
    return "\n".join(lines)


def _seconds(precision: int) -> Callable[[float], str]:
    def seconds(value: float) -> str:
        return "0 s" if value == 0 else format_duration(value, precision=precision, nanoseconds=True)
    return seconds


def roofline_facts(profile: Profile, *, precision: int = 2) -> list[tuple[str, str]]:
    """The section's (label, value) lines: target, ridge, efficiencies, kernels mode, the
    predicted step per phase, best MFU and the communication lines; none without a roofline."""
    predicted = profile.prediction
    if predicted is None:
        return []
    target = predicted.target
    seconds = _seconds(precision)
    phases = ", ".join(f"{phase.value} {seconds(s)}" for phase, s in predicted.predicted_s.items() if s)
    return [
        ("target", f"{target.gpu}: {target.dtype} dense peak {format_number(target.peak_tflops * 1e12, precision=precision, suffix='FLOPS')}, "
                   f"memory {format_number(target.memory_bytes_per_s, precision=precision, suffix='B/s')} ({target.source})"),
        ("ridge", f"{format_number(target.peak_tflops * 1e12 / target.memory_bytes_per_s, precision=precision)} FLOPs/byte "
                  "(ops below it are memory-bound)"),
        ("efficiency", f"compute {target.compute_efficiency:g}, memory {target.memory_efficiency:g}"
                       + (" (the datasheet roofline: the fastest the GPU could run these ops)"
                          if target.compute_efficiency == target.memory_efficiency == 1
                          and not target.class_efficiency else "")),
        *_class_lines(target),
        ("kernels", "elementwise chains fused, as a compiler would (their intermediates are not moved)"
                    if target.fuse_elementwise else "every op its own kernel, as eager PyTorch runs them"),
        ("predicted", f"step {seconds(predicted.step_s)}" + (f" ({phases})" if phases else "")),
        ("best MFU", "n/a" if predicted.mfu is None else
         f"{format_percent(predicted.mfu, 1, precision=precision)} (forward + backward FLOPs / (step time x peak))"),
        *_comm_lines(predicted, seconds, precision),
    ]


def roofline_module_table(profile: Profile, *, depth: int | None = None, precision: int = 2) -> Table:
    """One row per module with a prediction (down to ``depth``): its whole step's FLOPs,
    predicted time, share of the step, compute-bound share and FLOPs per byte moved."""
    predicted = profile.prediction
    step = 0.0 if predicted is None else predicted.step_s
    seconds = _seconds(precision)
    rows = []
    for node in profile.modules():
        if node.roofline is None or (depth is not None and node.depth > depth):
            continue
        total = node.total
        # as priced (less what fused chains keep on chip); a profile saved before it was recorded: every byte
        moved = node.roofline.moved_bytes or total.bytes_read + total.bytes_written
        rows.append([node.name or "(model)", node.type, format_count(total.flops, precision=precision),
                     seconds(node.roofline.step_s), format_percent(node.roofline.step_s, step, precision=precision),
                     format_percent(node.roofline.compute_bound_share, 1, precision=precision),
                     "-" if not moved else format_number(total.flops / moved, precision=precision)])
    return Table(list(_HEADER), rows, left=2)


def slowest_ops_table(profile: Profile, *, ops: int = 5, precision: int = 2) -> Table:
    """The ``ops`` slowest (module, phase, op) sums, with what bounds each; no rows for 0."""
    seconds = _seconds(precision)
    slowest = profile.predicted_ops()[:ops] if ops > 0 and profile.prediction is not None else []
    cells = [[o.module or "(model)", o.phase.value, o.op, str(o.calls), seconds(o.predicted_s), o.bound,
              "-" if o.intensity is None else format_number(o.intensity, precision=precision)] for o in slowest]
    return Table(list(_OP_HEADER), cells, left=3)


def _class_lines(target: RooflineTarget) -> list[tuple[str, str]]:
    """The per-op-class efficiencies and where they came from; none at the datasheet roofline."""
    if not target.class_efficiency:
        return []
    fitted = ", ".join(f"{cls} {eff:.3g}" for cls, eff in target.class_efficiency.items())
    return [("per class", f"{fitted}, other classes 1 (both peaks x the class's; {target.efficiency_source})")]


def _comm_lines(predicted: Prediction, seconds: Callable[[float], str], precision: int) -> list[tuple[str, str]]:
    """The links, the collectives' time and the step without and with full overlap; none when
    the run recorded no collectives."""
    if not predicted.comm_s:
        return []
    target = predicted.target

    def rate(value: float | None) -> str:
        return "unknown" if value is None else format_number(value, precision=precision, suffix="B/s")

    phases = ", ".join(f"{phase.value} {seconds(s)}" for phase, s in predicted.comm_s.items() if s)
    return [
        ("links", f"{target.intra_node_link} {rate(target.intra_node_bytes_per_s)} within a node "
                  f"(groups of <= {target.gpus_per_node} GPUs), {rate(target.inter_node_bytes_per_s)} per GPU "
                  "between nodes"),
        ("comm", f"{seconds(predicted.comm_step_s)}" + (f" ({phases})" if phases else "")
                 + " (bus bytes / link bandwidth)"),
        ("with comm", f"step {seconds(predicted.no_overlap_step_s)} with no overlap (the sum), "
                      f"{seconds(predicted.full_overlap_step_s)} with full overlap (the larger)"),
    ]
