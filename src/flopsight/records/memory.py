"""What the memory instrument records and what the tree makes of it. Plain data, no torch.

The record is one entry per tensor storage the run held: its bytes, when it was created and
freed (op ticks), who created it (module path, phase) and its category. Sums, the peak and
what was live then are computed once, at the end (``tree.memory``), not per op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .phase import Phase

__all__ = ["Category", "MemoryRecord", "MemorySummary", "ModuleMemory", "StorageLife"]


class Category(str, Enum):
    """What a storage holds, as a training step's memory is usually broken down."""

    PARAMETER = "parameter"
    BUFFER = "buffer"
    INPUT = "input"
    ACTIVATION = "activation"  # created by the forward and still held when it ends
    OUTPUT = "output"  # what the model returned
    GRADIENT = "gradient"  # the gradients the backward returns for parameters and inputs
    OPTIMIZER = "optimizer"  # the optimizer's state (moments, step counts)
    TEMPORARY = "temporary"  # everything else: freed inside the forward, or a backward scratch

    def __str__(self) -> str:
        return self.value


@dataclass(slots=True)
class StorageLife:
    """One storage: ``created`` and ``freed`` are op ticks (-1: before the run; None: alive at
    its end). It is live at every tick ``t`` with ``created <= t <= freed``: a storage freed
    between two ops was live during the first."""

    nbytes: int
    created: int
    category: Category
    path: str | None = None  # the module whose op created it (innermost); None outside any
    phase: Phase | None = None
    freed: int | None = None

    def to_list(self) -> list[Any]:
        """The compact JSON form: [nbytes, created, freed, category, path, phase]."""
        return [self.nbytes, self.created, self.freed, self.category.value, self.path,
                None if self.phase is None else self.phase.value]

    @classmethod
    def from_list(cls, data: list[Any]) -> "StorageLife":
        nbytes, created, freed, category, path, phase = data
        return cls(int(nbytes), int(created), Category(category), path, None if phase is None else Phase(phase),
                   None if freed is None else int(freed))


@dataclass(slots=True)
class MemoryRecord:
    """Everything the memory instrument saw in one run.

    ``paths`` / ``phases`` give the running module and phase of each op tick; ``scopes`` the
    forward calls of each module as (path, first tick, last tick); ``outputs`` the bytes of
    each module's outputs, summed over its calls; ``forward_end`` the last tick of the model's
    forward. ``target`` says whose memory it stands for; with ``cuda_allocator`` the storages
    are sized as the CUDA caching allocator holds them (``tree.allocator``), and
    ``context_bytes`` is the fixed line given for the CUDA context and library workspaces.
    """

    storages: list[StorageLife] = field(default_factory=list)
    paths: list[str | None] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    scopes: list[tuple[str, int, int]] = field(default_factory=list)
    outputs: dict[str, int] = field(default_factory=dict)
    forward_end: int = -1
    target: str = ""
    cuda_allocator: bool = False
    context_bytes: int = 0
    # On a CUDA device, torch.cuda's own figures for the run: allocated at its start, and the
    # peaks of allocated and reserved bytes during it.
    measured: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "cuda_allocator": self.cuda_allocator,
            "context_bytes": self.context_bytes,
            "measured": None if self.measured is None else dict(self.measured),
            "forward_end": self.forward_end,
            "ticks": {"paths": list(self.paths), "phases": [p.value for p in self.phases]},
            "scopes": [list(scope) for scope in self.scopes],
            "outputs": dict(self.outputs),
            "storages": [life.to_list() for life in self.storages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MemoryRecord":
        ticks = data.get("ticks", {})
        return cls(
            storages=[StorageLife.from_list(item) for item in data.get("storages", [])],
            paths=list(ticks.get("paths", [])),
            phases=[Phase(p) for p in ticks.get("phases", [])],
            scopes=[(str(a), int(b), int(c)) for a, b, c in data.get("scopes", [])],
            outputs={str(k): int(v) for k, v in data.get("outputs", {}).items()},
            forward_end=int(data.get("forward_end", -1)),
            target=str(data.get("target", "")),
            cuda_allocator=bool(data.get("cuda_allocator", False)),
            context_bytes=int(data.get("context_bytes", 0)),
            measured=None if data.get("measured") is None else {str(k): int(v) for k, v in data["measured"].items()},
        )


@dataclass(frozen=True, slots=True)
class ModuleMemory:
    """One module's memory, inclusive of its submodules (as its FLOPs are).

    Attributes:
        activation_bytes: storages created by the module's forward ops and still held when the
            forward ends (saved for backward, or part of an output), each storage once.
        own_activation_bytes: the part created by ops the module runs itself.
        output_bytes: bytes of the storages of its outputs, summed over its calls (their own
            bytes, also under a CUDA target: the record keeps the sum, not the storages).
        peak_bytes: the most bytes live (everything the run holds) while its forward ran.
    """

    activation_bytes: int = 0
    own_activation_bytes: int = 0
    output_bytes: int = 0
    peak_bytes: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"activation_bytes": self.activation_bytes, "own_activation_bytes": self.own_activation_bytes,
                "output_bytes": self.output_bytes, "peak_bytes": self.peak_bytes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleMemory":
        return cls(**{key: int(data.get(key, 0)) for key in ("activation_bytes", "own_activation_bytes",
                                                            "output_bytes", "peak_bytes")})


@dataclass(frozen=True, slots=True)
class MemorySummary:
    """The memory of a whole run.

    Attributes:
        target: whose memory this is: "cuda (simulated on meta)" (a meta run, by default: the
            CUDA kernels' save sets, sized by the CUDA caching allocator), "cuda" (a CUDA run),
            or the device the run's kernels allocated on, as they allocated ("cpu", "meta").
        peak_bytes: the most bytes live at once; ``peak_module`` / ``peak_phase`` say where
            (None: outside any module of the model). Under a CUDA target every figure counts
            allocator blocks (512-byte multiples), as ``torch.cuda.max_memory_allocated()``.
        at_peak: bytes live at the peak, per category.
        parameter_bytes, buffer_bytes, input_bytes: held through the run.
        activation_bytes: created by the forward and still held when it ends.
        gradient_bytes: the gradients the backward returned.
        output_bytes: what the model returned.
        optimizer_bytes: optimizer state (0 when no optimizer step ran).
        temporary_bytes: live at the peak and none of the above.
        measured_peak_bytes, measured_reserved_bytes: on a real CUDA device, what torch.cuda
            measured during the run, the peak counted as the simulated one is (what the device
            held at the start replaced by what the record held then); None elsewhere.
        reserved_bytes: under a CUDA target, the peak of the caching allocator's segments (as
            ``torch.cuda.max_memory_reserved()``); None for other targets.
        context_bytes: a fixed line for what the device holds outside the allocator (the CUDA
            context, about 300-500 MiB; given by the caller, 0 unless given).
        record: the storages, op ticks and module scopes the figures come from (the timeline
            and the memory_viz snapshot are drawn from it).
    """

    target: str
    peak_bytes: int
    peak_module: str | None
    peak_phase: Phase | None
    at_peak: dict[str, int]
    parameter_bytes: int
    buffer_bytes: int
    input_bytes: int
    activation_bytes: int
    gradient_bytes: int
    output_bytes: int
    optimizer_bytes: int
    temporary_bytes: int
    reserved_bytes: int | None = None
    context_bytes: int = 0
    measured_peak_bytes: int | None = None
    measured_reserved_bytes: int | None = None
    record: MemoryRecord = field(default_factory=MemoryRecord, compare=False, repr=False)

    @property
    def device_bytes(self) -> int | None:
        """What the device would show in use (``nvidia-smi``): reserved plus the context line."""
        return None if self.reserved_bytes is None else self.reserved_bytes + self.context_bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "peak_bytes": self.peak_bytes,
            "peak_module": self.peak_module,
            "peak_phase": None if self.peak_phase is None else self.peak_phase.value,
            "at_peak": dict(self.at_peak),
            "parameter_bytes": self.parameter_bytes,
            "buffer_bytes": self.buffer_bytes,
            "input_bytes": self.input_bytes,
            "activation_bytes": self.activation_bytes,
            "gradient_bytes": self.gradient_bytes,
            "output_bytes": self.output_bytes,
            "optimizer_bytes": self.optimizer_bytes,
            "temporary_bytes": self.temporary_bytes,
            "reserved_bytes": self.reserved_bytes,
            "context_bytes": self.context_bytes,
            "measured_peak_bytes": self.measured_peak_bytes,
            "measured_reserved_bytes": self.measured_reserved_bytes,
            "record": self.record.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MemorySummary":
        phase = data.get("peak_phase")
        reserved = data.get("reserved_bytes")
        return cls(
            target=str(data["target"]),
            peak_bytes=int(data["peak_bytes"]),
            peak_module=data.get("peak_module"),
            peak_phase=None if phase is None else Phase(phase),
            at_peak={str(k): int(v) for k, v in data.get("at_peak", {}).items()},
            reserved_bytes=None if reserved is None else int(reserved),
            context_bytes=int(data.get("context_bytes", 0)),
            measured_peak_bytes=_optional_int(data.get("measured_peak_bytes")),
            measured_reserved_bytes=_optional_int(data.get("measured_reserved_bytes")),
            record=MemoryRecord.from_dict(data.get("record", {})),
            **{key: int(data[key]) for key in ("parameter_bytes", "buffer_bytes", "input_bytes", "activation_bytes",
                                               "gradient_bytes", "output_bytes", "optimizer_bytes", "temporary_bytes")},
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
