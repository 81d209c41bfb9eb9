"""The memory section: the peak of the run and where it happened, what was live then, and the
bytes of each category. A pure function of a Profile; no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .units import format_bytes, format_percent

if TYPE_CHECKING:
    from ..tree.profile import Profile

__all__ = ["memory_rows", "render_memory", "peak_place"]

# Category names as the section shows them, in the order a training step's memory is read.
_SHOWN = (("parameter", "parameters"), ("buffer", "buffers"), ("input", "inputs"), ("activation", "activations"),
          ("output", "outputs"), ("gradient", "gradients"), ("optimizer", "optimizer state"),
          ("temporary", "temporaries"))


def render_memory(profile: Profile, *, precision: int = 2) -> str:
    """Aligned "label: value" lines, no trailing newline; "" when memory was not recorded.

    Example:
        >>> p = flopsight.profile(mlp, x, backward=True, memory=True)
        >>> print(render_memory(p))
        Target:            cpu (what the run's kernels allocated)
        Peak:              7.2 KiB, in the backward of 0 (Linear)
        ...
    """
    rows = memory_rows(profile, precision=precision)
    if not rows:
        return ""
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows)


def peak_place(profile: Profile) -> str:
    """Where the run's peak happened, as the Peak line says it ("in the backward of fc (Linear)")."""
    memory = profile.memory
    if memory is None:
        return ""
    if memory.peak_phase is not None and memory.peak_phase.value == "optimizer":
        return "in the optimizer step"
    if memory.peak_module is not None:
        node = profile.module(memory.peak_module)
        phase = f"in the {memory.peak_phase} " if memory.peak_phase is not None else ""
        return f"{phase}of {node.name or '(model)'} ({node.type})"
    return "outside the model" if memory.peak_phase is not None else "before the first op"


def memory_rows(profile: Profile, *, precision: int = 2) -> list[tuple[str, str]]:
    """``render_memory``'s (label, value) lines before alignment; none without memory."""
    memory = profile.memory
    if memory is None:
        return []

    def size(value: int) -> str:
        return format_bytes(value, precision=precision)

    place = peak_place(profile)
    live = ", ".join(f"{shown} {size(memory.at_peak.get(key, 0))}" for key, shown in _SHOWN if memory.at_peak.get(key))
    rows: list[tuple[str, str]] = [
        ("Target", _target(memory.target)),
        ("Peak", f"{size(memory.peak_bytes)}, {place}"),
        ("Live at the peak", live or "nothing"),
        ("Parameters", size(memory.parameter_bytes)),
        ("Buffers", size(memory.buffer_bytes)),
        ("Inputs", size(memory.input_bytes)),
        ("Activations", f"{size(memory.activation_bytes)} (made by the forward, held after it)"),
        ("Outputs", size(memory.output_bytes)),
        ("Gradients", size(memory.gradient_bytes)),
        ("Optimizer state", size(memory.optimizer_bytes)),
    ]
    if memory.reserved_bytes is not None:
        rows.append(("Reserved (estimate)", f"{size(memory.reserved_bytes)} (the caching allocator's segments at their peak)"))
    if memory.context_bytes:
        rows.append(("CUDA context", f"{size(memory.context_bytes)} (a fixed line, as given)"))
    device = memory.device_bytes
    if device is not None and memory.context_bytes:
        rows.append(("Device total", f"{size(device)} (reserved + context)"))
    measured = memory.measured_peak_bytes
    if measured is not None:
        change = format_percent(abs(memory.peak_bytes - measured), measured)
        sign = "-" if memory.peak_bytes < measured else "+"
        rows.append(("Measured peak", f"{size(measured)} (torch.cuda.max_memory_allocated; simulated {sign}{change})"))
    reserved = memory.measured_reserved_bytes
    if reserved is not None:
        rows.append(("Measured reserved", f"{size(reserved)} (torch.cuda.max_memory_reserved)"))
    return rows


def _target(target: str) -> str:
    if target.startswith("cuda"):
        return f"{target}: as a CUDA device holds it (CUDA's kernels, 512-byte allocator blocks)"
    return f"{target}: what the run's kernels allocated"
