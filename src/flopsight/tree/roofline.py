"""Roofline prediction: how long each op, module and step would take on a target GPU.

Each (module, phase, op) sum is priced from what the count recorded, never from a kernel run:

    compute_s = flops / (compute_efficiency x peak[dtype])
    memory_s  = (bytes_read + bytes_written) / (memory_efficiency x memory bandwidth)
    predicted_s = max(compute_s, memory_s)

The op is compute-bound when ``compute_s >= memory_s`` (and does any arithmetic), memory-bound
otherwise; its arithmetic intensity is flops / bytes. Every op uses the dense peak of the
model's dtype (``profile.metadata["dtype"]``; float32 at the TF32 rate only with ``tf32=True``):
elementwise ops, which would run at a lower vector rate, are almost always memory-bound anyway.
Efficiencies default to 1.0, the datasheet roofline, so a prediction is a lower bound on time.
A per-op-class efficiency (``class_efficiency``, fitted by ``tree/calibration.py``) divides both
times of the ops of that class (``tree/op_classes.py``), on top of the two global ones.
Ops are priced one by one, as eager PyTorch runs them. With ``fuse_elementwise`` an op moves
``bytes_read + bytes_written - fused_bytes``: the traffic of elementwise chains a compiler keeps
in registers is left out (``capture/fusion.py`` states the model).

Collectives are priced apart (``tree/comm_roofline.py``): bus bytes / link bandwidth, NVLink within
a node, ``inter_node_bytes_per_s`` between nodes. The step summary states both extremes of
overlapping them with compute: none (the sum) and full (the larger of the two).

Pure: nothing here imports torch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, TypeVar

from ..errors import InputError
from ..records import OpTotals, Phase
from ..records.communication import ProcessGroupInfo
from .comm_roofline import price_comm
from .gpus import GpuSpec, gpu_spec, normalize_dtype
from .op_classes import OP_CLASSES, op_class

if TYPE_CHECKING:
    from .module_node import ModuleNode
    from .profile import Profile

__all__ = ["ModuleRoofline", "OpRoofline", "Prediction", "RooflineTarget", "apply_roofline", "predicted_ops",
           "prediction", "roofline_target"]

P = TypeVar("P", bound="Profile")

_PHASES = (Phase.FORWARD, Phase.BACKWARD, Phase.RECOMPUTE)


@dataclass(frozen=True, slots=True)
class RooflineTarget:
    """The GPU a prediction is for, as the numbers it used (so a saved prediction needs no table).

    Attributes:
        gpu: the GPU table's name ("H100 SXM").
        dtype: the peak's dtype key ("bfloat16"; "tf32" for float32 at the TF32 rate).
        peak_tflops: the dense datasheet peak for ``dtype``.
        memory_bytes_per_s: the datasheet memory bandwidth.
        compute_efficiency, memory_efficiency: the fractions of the peaks assumed reached (<= 1).
        source: the datasheet of the figures.
        intra_node_link, intra_node_bytes_per_s: the link a group within one node uses ("NVLink",
            or "PCIe" for a GPU without one) and its per-GPU bandwidth; None when unknown.
        inter_node_bytes_per_s: the per-GPU bandwidth between nodes (default 50e9: 400 Gb/s).
        gpus_per_node: the largest group that fits in one node (default 8).
        fuse_elementwise: elementwise chains are priced as one fused kernel each (the bytes a
            compiler keeps on chip are not moved); False: every op as eager PyTorch runs it.
        class_efficiency: op class -> the fraction of both peaks its ops reach (<= 1); a class
            not listed runs at 1. Empty (the default): the datasheet roofline.
        efficiency_source: where ``class_efficiency`` came from (a stored calibration, the user).
    """

    gpu: str
    dtype: str
    peak_tflops: float
    memory_bytes_per_s: float
    compute_efficiency: float = 1.0
    memory_efficiency: float = 1.0
    source: str = ""
    intra_node_link: str = "NVLink"
    intra_node_bytes_per_s: float | None = None
    inter_node_bytes_per_s: float = 50e9
    gpus_per_node: int = 8
    fuse_elementwise: bool = False
    class_efficiency: Mapping[str, float] = field(default_factory=dict)
    efficiency_source: str = ""

    def class_slowdown(self, op: str) -> float:
        """1 / the efficiency of ``op``'s class: how many times its datasheet time it takes."""
        return 1.0 / self.class_efficiency.get(op_class(op), 1.0)

    def price(self, flops: int, moved_bytes: int) -> tuple[float, float]:
        """(compute seconds, memory seconds) of ``flops`` and ``moved_bytes`` on this target."""
        compute_s = flops / (self.compute_efficiency * self.peak_tflops * 1e12)
        memory_s = moved_bytes / (self.memory_efficiency * self.memory_bytes_per_s)
        return compute_s, memory_s

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": self.gpu, "dtype": self.dtype, "peak_tflops": self.peak_tflops,
                "memory_bytes_per_s": self.memory_bytes_per_s, "compute_efficiency": self.compute_efficiency,
                "memory_efficiency": self.memory_efficiency, "source": self.source,
                "intra_node_link": self.intra_node_link, "intra_node_bytes_per_s": self.intra_node_bytes_per_s,
                "inter_node_bytes_per_s": self.inter_node_bytes_per_s, "gpus_per_node": self.gpus_per_node,
                "fuse_elementwise": self.fuse_elementwise,
                **({} if not self.class_efficiency else {"class_efficiency": dict(self.class_efficiency),
                                                         "efficiency_source": self.efficiency_source})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RooflineTarget":
        return cls(gpu=str(data["gpu"]), dtype=str(data["dtype"]), peak_tflops=float(data["peak_tflops"]),
                   memory_bytes_per_s=float(data["memory_bytes_per_s"]),
                   compute_efficiency=float(data.get("compute_efficiency", 1.0)),
                   memory_efficiency=float(data.get("memory_efficiency", 1.0)), source=str(data.get("source", "")),
                   intra_node_link=str(data.get("intra_node_link", "NVLink")),
                   intra_node_bytes_per_s=None if data.get("intra_node_bytes_per_s") is None
                   else float(data["intra_node_bytes_per_s"]),
                   inter_node_bytes_per_s=float(data.get("inter_node_bytes_per_s", 50e9)),
                   gpus_per_node=int(data.get("gpus_per_node", 8)),
                   class_efficiency={str(k): float(v) for k, v in (data.get("class_efficiency") or {}).items()},
                   efficiency_source=str(data.get("efficiency_source", "")),
                   fuse_elementwise=bool(data.get("fuse_elementwise", False)))


@dataclass(frozen=True, slots=True)
class OpRoofline:
    """One op's sum over the calls charged to one (module, phase), priced on the target."""

    module: str
    phase: Phase
    op: str
    calls: int
    flops: int
    bytes: int
    compute_s: float
    memory_s: float

    @property
    def predicted_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        """"compute" or "memory": the floor that sets the time (an op moving nothing and doing
        no arithmetic, a view, is "memory" at 0 s)."""
        return "compute" if self.flops and self.compute_s >= self.memory_s else "memory"

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity, FLOPs per byte moved; None when it moves nothing."""
        return self.flops / self.bytes if self.bytes else None


@dataclass(slots=True)
class ModuleRoofline:
    """A module's predicted seconds per phase: its own ops, and inclusive of its submodules;
    ``compute_bound_s`` is the part of the inclusive time spent in compute-bound ops;
    ``own_comm_s`` and ``comm_s`` its collectives' time, own and inclusive (phases with none
    are left out); ``moved_bytes`` the bytes its ops move as priced, inclusive, every phase."""

    own_s: dict[Phase, float] = field(default_factory=dict)
    predicted_s: dict[Phase, float] = field(default_factory=dict)
    compute_bound_s: dict[Phase, float] = field(default_factory=dict)
    own_comm_s: dict[Phase, float] = field(default_factory=dict)
    comm_s: dict[Phase, float] = field(default_factory=dict)
    moved_bytes: int = 0

    @property
    def step_s(self) -> float:
        """Forward + backward + recompute, inclusive."""
        return sum(self.predicted_s.values())

    @property
    def own_step_s(self) -> float:
        return sum(self.own_s.values())

    @property
    def comm_step_s(self) -> float:
        """The collectives' time over every phase, inclusive."""
        return sum(self.comm_s.values())

    @property
    def compute_bound_share(self) -> float:
        """The fraction of the step's predicted time in compute-bound ops (0 when it takes none)."""
        step = self.step_s
        return sum(self.compute_bound_s.values()) / step if step else 0.0

    def to_dict(self) -> dict[str, Any]:
        def per_phase(values: dict[Phase, float]) -> dict[str, float]:
            return {phase.value: seconds for phase, seconds in values.items()}

        comm = {} if not self.comm_s else {
            "comm_predicted_s": {**per_phase(self.comm_s), "step": self.comm_step_s},
            "own_comm_predicted_s": per_phase(self.own_comm_s)}
        return {"predicted_s": {**per_phase(self.predicted_s), "step": self.step_s},
                "own_predicted_s": per_phase(self.own_s), "compute_bound_s": per_phase(self.compute_bound_s),
                "moved_bytes": self.moved_bytes, **comm}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleRoofline":
        def per_phase(values: dict[str, float]) -> dict[Phase, float]:
            return {Phase(key): float(seconds) for key, seconds in values.items() if key != "step"}

        return cls(own_s=per_phase(data.get("own_predicted_s", {})), predicted_s=per_phase(data.get("predicted_s", {})),
                   compute_bound_s=per_phase(data.get("compute_bound_s", {})),
                   own_comm_s=per_phase(data.get("own_comm_predicted_s", {})),
                   comm_s=per_phase(data.get("comm_predicted_s", {})), moved_bytes=int(data.get("moved_bytes", 0)))


@dataclass(frozen=True, slots=True)
class Prediction:
    """The whole step on the target: predicted seconds per phase and the best achievable MFU.

    Attributes:
        target: the GPU figures and efficiencies used.
        predicted_s: seconds per phase (forward, backward, recompute).
        step_s: their sum, one training step (or one forward when backward was not measured).
        model_flops: forward + backward FLOPs (recomputation excluded, as MFU counts them).
        mfu: model_flops / (step_s x datasheet peak): the most a real run can reach; None when
            the step takes no time. Communication is left out (it is 1 - idle at full overlap).
        comm_s: the collectives' seconds per phase (empty when the run recorded none).
        comm_step_s: their sum.
        no_overlap_step_s: step_s + comm_step_s, communication never overlapping compute.
        full_overlap_step_s: max(step_s, comm_step_s), communication hidden behind compute (or
            the reverse) entirely.
    """

    target: RooflineTarget
    predicted_s: dict[Phase, float]
    step_s: float
    model_flops: int
    mfu: float | None
    comm_s: dict[Phase, float] = field(default_factory=dict)

    @property
    def comm_step_s(self) -> float:
        return sum(self.comm_s.values())

    @property
    def no_overlap_step_s(self) -> float:
        return self.step_s + self.comm_step_s

    @property
    def full_overlap_step_s(self) -> float:
        return max(self.step_s, self.comm_step_s)

    def to_dict(self) -> dict[str, Any]:
        comm = {} if not self.comm_s else {
            "comm_predicted_s": {**{p.value: s for p, s in self.comm_s.items()}, "step": self.comm_step_s},
            "no_overlap_step_s": self.no_overlap_step_s, "full_overlap_step_s": self.full_overlap_step_s}
        return {**self.target.to_dict(),
                "predicted_s": {**{p.value: s for p, s in self.predicted_s.items()}, "step": self.step_s},
                "model_flops": self.model_flops, "mfu": self.mfu, **comm}


def roofline_target(
    gpu: str | GpuSpec,
    dtype: str = "float32",
    *,
    compute_efficiency: float = 1.0,
    memory_efficiency: float = 1.0,
    tf32: bool = False,
    gpus_per_node: int = 8,
    inter_node_bytes_per_s: float = 50e9,
    fuse_elementwise: bool = False,
    class_efficiency: Mapping[str, float] | None = None,
    efficiency_source: str = "given by the user",
) -> RooflineTarget:
    """The numbers a prediction uses, from the GPU table.

    Args:
        gpu: a table name, short name or device string ("h100-sxm", "NVIDIA H100 80GB HBM3"),
            or a GpuSpec.
        dtype: the model's dtype; its dense peak prices every op.
        compute_efficiency, memory_efficiency: fractions of the peak FLOPS and bandwidth assumed
            reached, in (0, 1]; 1.0 (the default) is the datasheet roofline.
        tf32: price float32 at the TF32 tensor-core rate.
        gpus_per_node: the largest process group priced at the GPU's NVLink bandwidth.
        inter_node_bytes_per_s: the per-GPU bandwidth of a larger group (default 50e9 bytes/s,
            one 400 Gb/s NIC per GPU).
        fuse_elementwise: price elementwise chains as fused kernels (``fused_bytes`` not moved).
        class_efficiency: op class ("matmul", "attention", ... ``tree/op_classes.py``) -> the
            fraction of both peaks its ops reach, in (0, 1]; None: every class at 1.
        efficiency_source: what ``class_efficiency`` comes from, stated in the report.

    Raises:
        InputError: unknown GPU, an efficiency outside (0, 1] or of an unknown class, a figure
            the table lacks, or a gpus_per_node or inter-node bandwidth that is not positive.

    Example:
        >>> roofline_target("h100-sxm", "bfloat16").peak_tflops
        989.5
    """
    spec = gpu_spec(gpu)
    classes = dict(class_efficiency or {})
    unknown = sorted(set(classes) - set(OP_CLASSES))
    if unknown:
        raise InputError(f"class_efficiency names unknown op classes {unknown}; use {', '.join(OP_CLASSES)}")
    for label, value in (("compute_efficiency", compute_efficiency), ("memory_efficiency", memory_efficiency),
                         *((f"class_efficiency[{c!r}]", e) for c, e in classes.items())):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0 < value <= 1:
            raise InputError(f"{label} takes a fraction of the peak in (0, 1], got {value!r}")
    if isinstance(gpus_per_node, bool) or not isinstance(gpus_per_node, int) or gpus_per_node < 1:
        raise InputError(f"gpus_per_node takes a whole number at least 1, got {gpus_per_node!r}")
    if (isinstance(inter_node_bytes_per_s, bool) or not isinstance(inter_node_bytes_per_s, (int, float))
            or not inter_node_bytes_per_s > 0 or math.isinf(inter_node_bytes_per_s)):
        raise InputError(f"inter_node_bytes_per_s takes a positive bandwidth, got {inter_node_bytes_per_s!r}")
    key = normalize_dtype(dtype)
    if key == "float32" and tf32:
        key = "tf32"
    peak = spec.peak_tflops.get(key)
    if peak is None:
        known = ", ".join(spec.peak_tflops) or "none"
        raise InputError(f"the GPU table has no dense {key} peak for {spec.name} (it has: {known}); "
                         "pass a GpuSpec with one")
    if spec.memory_bytes_per_s is None:
        raise InputError(f"the GPU table has no memory bandwidth for {spec.name}; pass a GpuSpec with one")
    link = "NVLink" if spec.nvlink_bytes_per_s is not None else "PCIe"
    intra = spec.nvlink_bytes_per_s if spec.nvlink_bytes_per_s is not None else spec.pcie_bytes_per_s
    return RooflineTarget(spec.name, key, peak, spec.memory_bytes_per_s, float(compute_efficiency),
                          float(memory_efficiency), spec.source, link,
                          None if intra is None else float(intra),
                          float(inter_node_bytes_per_s), gpus_per_node, bool(fuse_elementwise),
                          {c: float(e) for c, e in classes.items()}, efficiency_source if classes else "")


def price_op(target: RooflineTarget, module: str, phase: Phase, op: str, totals: OpTotals) -> OpRoofline:
    """One op's sum priced on ``target``: its FLOPs and the bytes it read and wrote (less what a
    fused chain keeps on chip, when the target fuses elementwise chains), slowed by its class's
    efficiency."""
    moved = totals.bytes_read + totals.bytes_written
    if target.fuse_elementwise:
        moved -= totals.fused_bytes
    compute_s, memory_s = target.price(totals.flops, moved)
    slowdown = target.class_slowdown(op)
    return OpRoofline(module, phase, op, totals.calls, totals.flops, moved, compute_s * slowdown, memory_s * slowdown)


def apply_roofline(profile: P, target: RooflineTarget) -> P:
    """A copy of ``profile`` with ``target`` and every module's ``roofline`` filled in."""
    predicted = copy.deepcopy(profile)
    predicted.roofline_target = target
    _fill(predicted.root, target, predicted.process_groups)
    return predicted


def _fill(node: ModuleNode, target: RooflineTarget, groups: Mapping[str, ProcessGroupInfo]) -> ModuleRoofline:
    own: dict[Phase, float] = {}
    inclusive: dict[Phase, float] = {}
    compute: dict[Phase, float] = {}
    moved = 0
    for phase in _PHASES:
        priced = [price_op(target, node.name, phase, op, t) for op, t in node.own_ops.get(phase, {}).items()]
        moved += sum(p.bytes for p in priced)
        own[phase] = sum((p.predicted_s for p in priced), 0.0)
        inclusive[phase] = own[phase]
        compute[phase] = sum((p.predicted_s for p in priced if p.bound == "compute"), 0.0)
    own_comm = price_comm(target, groups, node.name, node.own_comm)
    comm = dict(own_comm)
    for child in node.children:
        if child.alias_of is not None:
            continue  # a shared module's second position: counted at its first
        below = _fill(child, target, groups)
        moved += below.moved_bytes
        for phase in _PHASES:
            inclusive[phase] += below.predicted_s[phase]
            compute[phase] += below.compute_bound_s[phase]
        for phase, seconds in below.comm_s.items():
            comm[phase] = comm.get(phase, 0.0) + seconds
    node.roofline = ModuleRoofline(own, inclusive, compute, own_comm, comm, moved)
    return node.roofline


def predicted_ops(profile: Profile, phase: Phase | str | None = None) -> list[OpRoofline]:
    """Every (module, phase, op) sum priced on the profile's target, the longest first; [] when
    the profile carries no roofline."""
    target = profile.roofline_target
    if target is None:
        return []
    phases = _PHASES if phase is None else (Phase(phase),)
    ops = [price_op(target, node.name, ph, op, t)
           for node in profile.modules() for ph in phases for op, t in node.own_ops.get(ph, {}).items()]
    return sorted(ops, key=lambda o: -o.predicted_s)


def prediction(profile: Profile) -> Prediction | None:
    """The step's predicted time and best achievable MFU; None when no roofline was applied."""
    target = profile.roofline_target
    root = profile.root.roofline
    if target is None or root is None:
        return None
    step = root.step_s
    model_flops = profile.forward.flops + profile.backward.flops
    mfu = model_flops / (step * target.peak_tflops * 1e12) if step > 0 else None
    return Prediction(target, dict(root.predicted_s), step, model_flops, mfu, dict(root.comm_s))
