"""One module of the profiled model, with its own and inclusive costs. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..records import ZERO, ModuleTiming, OpCost, OpTotals, Phase
from ..records.communication import CommKey, CommTotals, comm_key_from_text, comm_key_text
from ..records.memory import ModuleMemory
from .roofline import ModuleRoofline

PHASES = (Phase.FORWARD, Phase.BACKWARD, Phase.RECOMPUTE)


@dataclass(slots=True)
class ModuleNode:
    """A module at its qualified path ("" is the root).

    Inclusive figures (``params``, ``forward``, ``backward``...) cover the module and its
    subtree; ``own_*`` figures cover only what the module holds or runs directly. A module
    reachable from several parents appears once, at its first path; its other positions are
    nodes with ``alias_of`` set and no costs of their own, so nothing is counted twice.

    Each instrument's results are optional fields of the node: ``timing`` is the module's
    measured latency per iteration (forward, backward), None when the run was not timed;
    ``memory`` its activation, output and peak bytes, None when memory was not recorded;
    ``roofline`` its predicted seconds on a target GPU (``Profile.roofline``), None otherwise.

    In a distributed run, ``own_local_params`` / ``own_local_param_bytes`` are the parts of
    its own parameters this rank holds (None: it holds them whole), beside the global counts;
    ``own_comm`` the collectives it issued, per phase, by (kind, process group).
    """

    name: str
    type: str
    extra_repr: str = ""
    own_trainable_params: int = 0
    own_frozen_params: int = 0
    own_buffers: int = 0
    calls: int = 0
    ignored: bool = False
    alias_of: str | None = None
    own_ops: dict[Phase, dict[str, OpTotals]] = field(default_factory=dict)
    children: list["ModuleNode"] = field(default_factory=list)
    timing: ModuleTiming | None = None
    memory: ModuleMemory | None = None
    roofline: ModuleRoofline | None = None
    own_param_bytes: int = 0
    own_local_params: int | None = None
    own_local_param_bytes: int | None = None
    own_comm: dict[Phase, dict[CommKey, CommTotals]] = field(default_factory=dict)
    # Filled by finalize(): inclusive sums over the subtree.
    param_bytes: int = 0
    local_params: int = 0
    local_param_bytes: int = 0
    comm: dict[Phase, dict[CommKey, CommTotals]] = field(default_factory=dict)
    trainable_params: int = 0
    frozen_params: int = 0
    buffers: int = 0
    costs: dict[Phase, OpCost] = field(default_factory=dict)
    own_costs: dict[Phase, OpCost] = field(default_factory=dict)

    @property
    def attribute(self) -> str:
        """The name the parent holds this module under (last component of the path)."""
        return self.name.rpartition(".")[2]

    @property
    def depth(self) -> int:
        return 0 if not self.name else self.name.count(".") + 1

    @property
    def params(self) -> int:
        return self.trainable_params + self.frozen_params

    @property
    def own_params(self) -> int:
        return self.own_trainable_params + self.own_frozen_params

    @property
    def forward(self) -> OpCost:
        return self.costs.get(Phase.FORWARD, ZERO)

    @property
    def backward(self) -> OpCost:
        return self.costs.get(Phase.BACKWARD, ZERO)

    @property
    def recompute(self) -> OpCost:
        return self.costs.get(Phase.RECOMPUTE, ZERO)

    @property
    def total(self) -> OpCost:
        return self.forward + self.backward + self.recompute

    @property
    def forward_flops_per_s(self) -> float | None:
        """Achieved forward FLOPS: the counted forward FLOPs over the median forward latency."""
        return None if self.timing is None else _rate(self.forward.flops, self.timing.forward.median)

    @property
    def backward_flops_per_s(self) -> float | None:
        """Achieved backward FLOPS (None when the module's backward was not timed)."""
        if self.timing is None or self.timing.backward is None:
            return None
        return _rate(self.backward.flops, self.timing.backward.median)

    def walk(self) -> Iterator["ModuleNode"]:
        """This node and every descendant, depth first, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()

    def finalize(self) -> None:
        """Compute inclusive sums from own figures, children first (each module once)."""
        for child in self.children:
            child.finalize()
        self.own_costs = {phase: _sum_ops(self.own_ops.get(phase, {})) for phase in PHASES}
        counted = [c for c in self.children if c.alias_of is None]
        self.trainable_params = self.own_trainable_params + sum(c.trainable_params for c in counted)
        self.frozen_params = self.own_frozen_params + sum(c.frozen_params for c in counted)
        self.buffers = self.own_buffers + sum(c.buffers for c in counted)
        self.param_bytes = self.own_param_bytes + sum(c.param_bytes for c in counted)
        own_local = self.own_params if self.own_local_params is None else self.own_local_params
        own_local_bytes = self.own_param_bytes if self.own_local_param_bytes is None else self.own_local_param_bytes
        self.local_params = own_local + sum(c.local_params for c in counted)
        self.local_param_bytes = own_local_bytes + sum(c.local_param_bytes for c in counted)
        self.comm = _sum_comm([self.own_comm] + [c.comm for c in counted])
        self.costs = {}
        for phase in PHASES:
            total = self.own_costs[phase]
            for child in counted:
                total = total + child.costs.get(phase, ZERO)
            self.costs[phase] = total

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "extra_repr": self.extra_repr,
            "own_trainable_params": self.own_trainable_params,
            "own_frozen_params": self.own_frozen_params,
            "own_buffers": self.own_buffers,
            "calls": self.calls,
            "ignored": self.ignored,
            "alias_of": self.alias_of,
            "own_ops": {
                phase.value: {op: t.to_dict() for op, t in ops.items()}
                for phase, ops in self.own_ops.items()
                if ops
            },
            # Inclusive figures are derived; they are written for readers of the JSON only.
            "params": self.params,
            "trainable_params": self.trainable_params,
            "forward": self.forward.to_dict(),
            "backward": self.backward.to_dict(),
            "children": [c.to_dict() for c in self.children],
            **({} if self.timing is None else {"timing": self.timing.to_dict()}),
            **({} if self.memory is None else {"memory": self.memory.to_dict()}),
            **({} if self.roofline is None else {"roofline": self.roofline.to_dict()}),
            **({} if not self.own_param_bytes else {"own_param_bytes": self.own_param_bytes}),
            **({} if self.own_local_params is None else {"own_local_params": self.own_local_params,
                                                         "own_local_param_bytes": self.own_local_param_bytes}),
            **({} if not self.own_comm else {"own_comm": {
                phase.value: {comm_key_text(key): t.to_dict() for key, t in per_key.items()}
                for phase, per_key in self.own_comm.items()}}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleNode":
        node = cls(
            name=data["name"],
            type=data["type"],
            extra_repr=data.get("extra_repr", ""),
            own_trainable_params=int(data.get("own_trainable_params", 0)),
            own_frozen_params=int(data.get("own_frozen_params", 0)),
            own_buffers=int(data.get("own_buffers", 0)),
            calls=int(data.get("calls", 0)),
            ignored=bool(data.get("ignored", False)),
            alias_of=data.get("alias_of"),
            own_ops={
                Phase(phase): {op: OpTotals(**t) for op, t in ops.items()}
                for phase, ops in data.get("own_ops", {}).items()
            },
            children=[cls.from_dict(c) for c in data.get("children", [])],
            timing=None if data.get("timing") is None else ModuleTiming.from_dict(data["timing"]),
            memory=None if data.get("memory") is None else ModuleMemory.from_dict(data["memory"]),
            roofline=None if data.get("roofline") is None else ModuleRoofline.from_dict(data["roofline"]),
            own_param_bytes=int(data.get("own_param_bytes", 0)),
            own_local_params=None if data.get("own_local_params") is None else int(data["own_local_params"]),
            own_local_param_bytes=(None if data.get("own_local_param_bytes") is None
                                   else int(data["own_local_param_bytes"])),
            own_comm={Phase(phase): {comm_key_from_text(key): CommTotals.from_dict(t) for key, t in per_key.items()}
                      for phase, per_key in data.get("own_comm", {}).items()},
        )
        return node


def _sum_ops(ops: dict[str, OpTotals]) -> OpCost:
    return OpCost(
        macs=sum(t.macs for t in ops.values()),
        flops=sum(t.flops for t in ops.values()),
        bytes_read=sum(t.bytes_read for t in ops.values()),
        bytes_written=sum(t.bytes_written for t in ops.values()),
        masked_flops=sum(t.masked_flops for t in ops.values()),
    )


def _sum_comm(parts: list[dict[Phase, dict[CommKey, CommTotals]]]) -> dict[Phase, dict[CommKey, CommTotals]]:
    total: dict[Phase, dict[CommKey, CommTotals]] = {}
    for part in parts:
        for phase, per_key in part.items():
            into = total.setdefault(phase, {})
            for key, totals in per_key.items():
                into[key] = into.get(key, CommTotals()) + totals
    return total


def _rate(flops: int, seconds: float) -> float | None:
    return flops / seconds if seconds > 0 else None
