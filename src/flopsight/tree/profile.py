"""The Profile: the module tree of one run plus what describes the run. Plain data."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
import os
from typing import Any, Iterator, Mapping, TypeVar

from ..errors import InputError, ModuleNotFound
from ..records import OpCost, OpTotals, Phase, TimingResult
from ..records.communication import CommKey, CommTotals, ProcessGroupInfo
from ..records.distributed import DistributedInfo
from ..records.memory import MemorySummary
from .achieved import Achieved, achieved
from .calibration_store import calibration_path as calibration_file
from .calibration_store import find_calibration
from .comm_roofline import CommRoofline, predicted_comm
from .gpus import GpuSpec
from .memory_timeline import MemoryTimeline, memory_timeline
from .module_node import PHASES, ModuleNode
from .roofline import OpRoofline, Prediction, RooflineTarget, apply_roofline, predicted_ops, prediction, roofline_target

SCHEMA_VERSION = 1

P = TypeVar("P", bound="Profile")


@dataclass(slots=True)
class Profile:
    """Where the parameters and arithmetic of one run of a model go.

    Attributes:
        root: the module tree.
        uncounted_ops: ops that ran with no cost formula, with their call counts.
        communication_ops: collectives and their waits (0 FLOPs), with their call counts.
        bounded_ops: ops priced by an upper bound (packed attention on meta, where the sequence
            lengths are unknown), with their call counts.
        tied_parameters: (alias name, counted name) of parameters reachable under two names.
        metadata: conventions, inputs, device, dtype, torch version, backward measured.
        run_timing: when the run was timed, the timing run's figures for the whole model
            (device, repeats, forward/backward/iteration latency, throughput); each module's
            latency is on its node (``ModuleNode.timing``). ``timing`` puts them together.
        peak_tflops: the dense peak given for MFU; None looks it up from the timed device.
        memory: when memory was recorded, the run's peak, where it happened and the bytes per
            category; each module's activation, output and peak bytes are on its node.
        process_groups: the process groups the run communicated in, by name.
        distributed: in a distributed run (real or simulated), the rank and the job's mesh;
            ``params`` is then the global unique count and ``local_params`` this rank's shards.
        roofline_target: when a roofline was applied (``roofline``), the GPU figures it used;
            each module's predicted seconds are on its node (``ModuleNode.roofline``).

    Each instrument's results are optional fields of the same nodes and of the Profile, so a
    Profile read back with ``from_dict`` renders exactly like the measured one.
    """

    root: ModuleNode
    uncounted_ops: dict[str, int] = field(default_factory=dict)
    communication_ops: dict[str, int] = field(default_factory=dict)
    bounded_ops: dict[str, int] = field(default_factory=dict)
    tied_parameters: list[tuple[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    run_timing: TimingResult | None = None
    peak_tflops: float | None = None
    memory: MemorySummary | None = None
    process_groups: dict[str, ProcessGroupInfo] = field(default_factory=dict)
    distributed: DistributedInfo | None = None
    roofline_target: RooflineTarget | None = None
    _index: dict[str, ModuleNode] = field(default_factory=dict, repr=False)
    # A shared module's other positions: alias path -> the path its node lives at.
    _aliases: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.root.finalize()
        self._index = {node.name: node for node in self.root.walk() if node.alias_of is None}
        self._aliases = {node.name: node.alias_of for node in self.root.walk() if node.alias_of is not None}

    @property
    def params(self) -> int:
        return self.root.params

    @property
    def trainable_params(self) -> int:
        return self.root.trainable_params

    @property
    def frozen_params(self) -> int:
        return self.root.frozen_params

    @property
    def buffers(self) -> int:
        return self.root.buffers

    @property
    def param_bytes(self) -> int:
        """Bytes of every parameter, whole (global), each counted once."""
        return self.root.param_bytes

    @property
    def local_params(self) -> int:
        """Parameter elements this rank holds: the local shards of sharded parameters, and
        replicated ones whole. Equal to ``params`` in a run that shards nothing."""
        return self.root.local_params

    @property
    def local_param_bytes(self) -> int:
        return self.root.local_param_bytes

    def communication(self, phase: Phase | str | None = None) -> dict[CommKey, CommTotals]:
        """What the run's collectives moved, by (kind, process group name), for one phase or
        all; the largest bus bytes first. Each module's are on its node (``node.comm``)."""
        phases = list(self.root.comm) if phase is None else [Phase(phase)]
        totals: dict[CommKey, CommTotals] = {}
        for ph in phases:
            for key, t in self.root.comm.get(ph, {}).items():
                totals[key] = totals.get(key, CommTotals()) + t
        return dict(sorted(totals.items(), key=lambda item: -item[1].bus_bytes))

    @property
    def forward(self) -> OpCost:
        return self.root.forward

    @property
    def backward(self) -> OpCost:
        """Measured backward cost (zero unless profiled with backward=True)."""
        return self.root.backward

    @property
    def recompute(self) -> OpCost:
        """Forward work re-run during backward by activation checkpointing."""
        return self.root.recompute

    @property
    def backward_measured(self) -> bool:
        return bool(self.metadata.get("backward_measured", False))

    @property
    def estimated_backward_flops(self) -> int:
        """The conventional estimate, 2 x forward FLOPs, to show beside the measured backward."""
        return 2 * self.forward.flops

    @property
    def total_flops(self) -> int:
        """Forward plus measured backward (plus recomputation) FLOPs."""
        return self.root.total.flops

    @property
    def total_macs(self) -> int:
        return self.root.total.macs

    @property
    def timing(self) -> TimingResult | None:
        """The timing of the run, each module's from its node; None when not timed."""
        if self.run_timing is None:
            return None
        modules = {node.name: node.timing for node in self.modules() if node.timing is not None}
        return dataclasses.replace(self.run_timing, modules=modules)

    def with_timing(self: P, timing: TimingResult, peak_tflops: float | None = None) -> P:
        """A copy of this Profile carrying ``timing`` (from ``measure_time``, a tracker or a
        profiler) on its nodes; ``peak_tflops`` is the peak for MFU (None: the built-in table)."""
        timed = copy.deepcopy(self)
        timed.run_timing = dataclasses.replace(timing, modules={})
        timed.peak_tflops = peak_tflops
        for node in timed.modules():
            node.timing = timing.modules.get(node.name)
        return timed

    def achieved(self) -> Achieved | None:
        """Achieved FLOPS per module and in total, and MFU, from the timing it carries."""
        timing = self.timing
        return None if timing is None else achieved(self, timing, self.peak_tflops)

    def roofline(
        self: P,
        gpu: str | GpuSpec,
        *,
        dtype: str | None = None,
        compute_efficiency: float = 1.0,
        memory_efficiency: float = 1.0,
        tf32: bool = False,
        gpus_per_node: int = 8,
        inter_node_bytes_per_s: float = 50e9,
        fuse_elementwise: bool = False,
        class_efficiency: Mapping[str, float] | None = None,
        calibrated: bool = True,
        calibration_path: str | os.PathLike[str] | None = None,
    ) -> P:
        """A copy of this Profile with the time each op, module and step would take on ``gpu``.

        Each op takes max(FLOPs / (compute_efficiency x peak), bytes / (memory_efficiency x
        bandwidth)) with the dense datasheet figures of ``tree/gpus.py`` (``tree/roofline.py``).

        Args:
            gpu: a short name ("h100-sxm", "a100-80gb", "mi300x"), a table name ("H100 SXM"), a
                ``torch.cuda.get_device_name()`` string, or a ``GpuSpec`` of your own.
            dtype: the dtype whose peak prices the ops; None reads the model's
                (``metadata["dtype"]``, float32 when absent).
            compute_efficiency, memory_efficiency: fractions of the peaks assumed reached, in
                (0, 1]; the default 1.0 predicts the fastest the GPU could run the ops.
            tf32: price float32 at the TF32 tensor-core rate.
            gpus_per_node, inter_node_bytes_per_s: a recorded collective takes bus bytes / the
                GPU's NVLink bandwidth when its group has at most ``gpus_per_node`` ranks, else
                bus bytes / ``inter_node_bytes_per_s`` (default 50e9 bytes/s per GPU: 400 Gb/s).
            fuse_elementwise: assume a compiler fuses elementwise chains (and the reductions
                they feed): the intermediates it keeps in registers are not moved
                (``capture/fusion.py`` states the model); False prices ops as eager PyTorch runs them.
            class_efficiency: op class -> fraction of both peaks its ops reach, in (0, 1]
                (``tree/op_classes.py``); given, it replaces any stored calibration.
            calibrated: use the calibration stored for this GPU and dtype (``flopsight.calibrate``,
                ``save_calibration``) when there is one; False prices at the datasheet.
            calibration_path: the calibration file (default ``$FLOPSIGHT_CALIBRATION``, else
                the user cache's ``flopsight/calibration.json``).

        Returns:
            The copy; ``prediction`` gives the step's seconds and best MFU (and, for a
            distributed run, the communication time and the step without and with full
            overlap), ``predicted_ops`` each op's, ``predicted_comm`` each collective's, and
            each node's ``roofline`` its own and inclusive seconds.

        Raises:
            InputError: an unknown GPU (the message lists the known names), an efficiency
                outside (0, 1], or a dtype the GPU has no peak for.

        Example:
            >>> model = torch.nn.Linear(4096, 4096, device="meta", dtype=torch.bfloat16)
            >>> p = flopsight.profile(model, input_shape=(8192, 4096)).roofline("h100-sxm")
            >>> p.prediction.step_s, p.predicted_ops()[0].bound  # (2 x 8192 x 4096^2 + 8192 x 4096 bias adds) / 989.5e12
            (0.0002778286623304699, 'compute')
        """
        chosen = str(self.metadata.get("dtype") or "float32") if dtype is None else dtype
        target = roofline_target(gpu, chosen, compute_efficiency=compute_efficiency,
                                 memory_efficiency=memory_efficiency, tf32=tf32, gpus_per_node=gpus_per_node,
                                 inter_node_bytes_per_s=inter_node_bytes_per_s, class_efficiency=class_efficiency,
                                 fuse_elementwise=fuse_elementwise)
        if class_efficiency is None and calibrated:
            stored = find_calibration(target.gpu, target.dtype, calibration_path)
            if stored is not None:
                target = dataclasses.replace(target, class_efficiency=dict(stored.efficiency),
                                             efficiency_source=f"{stored.describe()}; {calibration_file(calibration_path)}")
        return apply_roofline(self, target)

    @property
    def prediction(self) -> Prediction | None:
        """The roofline's predicted seconds per phase and per step, and the best achievable MFU;
        None unless made with ``roofline``."""
        return prediction(self)

    def predicted_ops(self, phase: Phase | str | None = None) -> list[OpRoofline]:
        """Every (module, phase, op) priced on the roofline's GPU, longest first (bound,
        intensity); [] unless made with ``roofline``."""
        return predicted_ops(self, phase)

    def predicted_comm(self, phase: Phase | str | None = None) -> list[CommRoofline]:
        """Every (module, phase, collective, group) priced on the roofline's links, longest
        first; [] unless made with ``roofline`` from a run that communicated."""
        return predicted_comm(self, phase)

    def memory_timeline(self) -> MemoryTimeline | None:
        """The bytes live per category at each op of the run; None without memory."""
        return None if self.memory is None else memory_timeline(self.memory.record)

    def module(self, name: str) -> ModuleNode:
        """The node at a qualified path such as ``"layers.0.mlp"`` ("" is the root).

        Every path of ``named_modules(remove_duplicate=False)`` is accepted: a shared module's
        second path, or a path through it (``"right.shared.fc1"``), gives the one node at its
        first path.
        """
        node = self._index.get(self._canonical(name))
        if node is not None:
            return node
        close = [n for n in self._index if n.endswith(name) or name in n][:3]
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ModuleNotFound(f"no module named {name!r} in this profile{hint}")

    def _canonical(self, name: str) -> str:
        """``name`` with each alias prefix replaced by the path its module is counted at."""
        # Each step rewrites to a first path, which comes before its alias in named_modules
        # order; the bound only guards against a hand-edited JSON whose aliases form a cycle.
        for _ in range(len(self._aliases) + 1):
            if name in self._index:
                return name
            prefix = self._alias_prefix(name)
            if prefix is None:
                return name
            name = self._aliases[prefix] + name[len(prefix):]
        return name

    def _alias_prefix(self, name: str) -> str | None:
        """The longest alias path that ``name`` is or lies under, if any."""
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self._aliases:
                return prefix
        return None

    def modules(self) -> Iterator[ModuleNode]:
        """Every module once, parents before children."""
        return iter(self._index.values())

    def by_op(self, phase: Phase | str | None = None) -> dict[str, OpTotals]:
        """Totals per aten op over the whole model, for one phase or all, largest FLOPs first."""
        phases = PHASES if phase is None else (Phase(phase),)
        totals: dict[str, OpTotals] = {}
        for node in self.modules():
            for ph in phases:
                for op, t in node.own_ops.get(ph, {}).items():
                    totals.setdefault(op, OpTotals()).add(t, calls=t.calls)
        return dict(sorted(totals.items(), key=lambda item: -item[1].flops))

    def top(
        self, depth: int, k: int | None = 3, by: str = "flops", phase: Phase | str = Phase.FORWARD
    ) -> list[tuple[str, int, OpCost, int]]:
        """DeepSpeed's aggregated view: modules at ``depth`` grouped by type, the k largest.

        ``k=None`` returns every type. Returns (type name, module count, summed cost of
        ``phase``, summed params) tuples, sorted by ``by`` ("flops", "macs" or "params").
        """
        _check_k("top", k)
        if by not in ("flops", "macs", "params"):
            raise InputError(f"top(by={by!r}): choose 'flops', 'macs' or 'params'")
        chosen = Phase(phase)
        groups: dict[str, tuple[int, OpCost, int]] = {}
        for node in self.modules():
            if node.depth != depth:
                continue
            count, cost, params = groups.get(node.type, (0, OpCost(), 0))
            groups[node.type] = (count + 1, cost + node.costs.get(chosen, OpCost()), params + node.params)
        rows = [(name, count, cost, params) for name, (count, cost, params) in groups.items()]
        key = {"flops": lambda r: r[2].flops, "macs": lambda r: r[2].macs, "params": lambda r: r[3]}[by]
        # A slice with a negative k would silently drop the smallest entries: k is checked above.
        return sorted(rows, key=key, reverse=True)[:k]

    def top_activations(self, depth: int, k: int | None = 3) -> list[tuple[str, int, int]]:
        """The module types at ``depth`` holding the most activation bytes, same-type modules
        summed as in ``top``: (type name, module count, summed ``node.memory.activation_bytes``)
        tuples, the k largest; [] when memory was not recorded."""
        _check_k("top_activations", k)
        if self.memory is None:
            return []
        groups: dict[str, tuple[int, int]] = {}
        for node in self.modules():
            if node.depth == depth:
                count, held = groups.get(node.type, (0, 0))
                groups[node.type] = (count + 1, held + (0 if node.memory is None else node.memory.activation_bytes))
        rows = [(name, count, held) for name, (count, held) in groups.items()]
        return sorted(rows, key=lambda row: row[2], reverse=True)[:k]

    @property
    def max_depth(self) -> int:
        return max(node.depth for node in self.modules())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``Profile.from_dict`` reads it back."""
        return {
            "schema_version": SCHEMA_VERSION,
            "metadata": self.metadata,
            "summary": {
                "params": self.params,
                "trainable_params": self.trainable_params,
                "frozen_params": self.frozen_params,
                "buffers": self.buffers,
                "forward": self.forward.to_dict(),
                "backward": self.backward.to_dict(),
                "recompute": self.recompute.to_dict(),
                "total_flops": self.total_flops,
                "total_macs": self.total_macs,
            },
            "uncounted_ops": dict(self.uncounted_ops),
            "communication_ops": dict(self.communication_ops),
            "bounded_ops": dict(self.bounded_ops),
            "tied_parameters": [list(pair) for pair in self.tied_parameters],
            **self._timing_dict(),
            **self._memory_dict(),
            **self._distributed_dict(),
            **({} if self.prediction is None else {"roofline": self.prediction.to_dict()}),
            "root": self.root.to_dict(),
        }

    def _distributed_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.process_groups:
            found["process_groups"] = {name: g.to_dict() for name, g in self.process_groups.items()}
        if self.distributed is not None:
            found["distributed"] = self.distributed.to_dict()
        if self.local_params != self.params:  # derived; written for readers of the JSON only
            found["summary_local"] = {"local_params": self.local_params, "local_param_bytes": self.local_param_bytes}
        return found

    def _memory_dict(self) -> dict[str, Any]:
        if self.memory is None:
            return {}
        # The timeline is derived from the record; it is written for readers of the JSON only.
        return {"memory": {**self.memory.to_dict(), "timeline": memory_timeline(self.memory.record).to_dict()}}

    def _timing_dict(self) -> dict[str, Any]:
        result = self.achieved()
        if self.run_timing is None or result is None:
            return {}
        # The achieved figures are derived; they are written for readers of the JSON only.
        return {
            "timing": self.run_timing.to_dict(),
            "achieved": {
                "forward_flops_per_s": result.forward_flops_per_s,
                "iteration_flops_per_s": result.iteration_flops_per_s,
                "peak_tflops": result.peak_tflops,
                "peak_source": result.peak_source,
                "mfu": result.mfu,
                "hfu": result.hfu,
            },
        }

    @classmethod
    def from_dict(cls: type[P], data: dict[str, Any]) -> P:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InputError(f"profile schema version {version!r} is not supported (expected {SCHEMA_VERSION})")
        return cls(
            root=ModuleNode.from_dict(data["root"]),
            uncounted_ops={k: int(v) for k, v in data.get("uncounted_ops", {}).items()},
            communication_ops={k: int(v) for k, v in data.get("communication_ops", {}).items()},
            bounded_ops={k: int(v) for k, v in data.get("bounded_ops", {}).items()},
            tied_parameters=[(a, b) for a, b in data.get("tied_parameters", [])],
            metadata=dict(data.get("metadata", {})),
            run_timing=None if data.get("timing") is None else TimingResult.from_dict(data["timing"]),
            peak_tflops=_given_peak(data.get("achieved") or {}),
            memory=None if data.get("memory") is None else MemorySummary.from_dict(data["memory"]),
            process_groups={name: ProcessGroupInfo.from_dict(g) for name, g in data.get("process_groups", {}).items()},
            distributed=None if data.get("distributed") is None else DistributedInfo.from_dict(data["distributed"]),
            roofline_target=None if data.get("roofline") is None else RooflineTarget.from_dict(data["roofline"]),
        )


def _check_k(method: str, k: int | None) -> None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise InputError(f"{method}(k={k!r}): k takes None (all) or a whole number at least 1")


def _given_peak(achieved: dict[str, Any]) -> float | None:
    """The peak the user gave; a peak from the built-in table is looked up again on reading."""
    return float(achieved["peak_tflops"]) if achieved.get("peak_source") == "user" else None

