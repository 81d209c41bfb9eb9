"""What a run sent between ranks: collectives by kind and process group, with payload and bus bytes.

Plain data, no torch. The byte conventions are NCCL's (nccl-tests' PERFORMANCE.md): the payload
``S`` of a collective is the size of the whole buffer it works on (an all-gather's gathered output,
a reduce-scatter's unreduced input, an all-reduce's tensor, an all-to-all's input), and its bus
bytes are what each rank's link carries for a ring implementation of it:

- all-gather, reduce-scatter, all-to-all: ``(n-1)/n x S``
- all-reduce: ``2(n-1)/n x S``
- broadcast, reduce, gather, scatter, send, recv: ``S``

Bus bytes divided by a link's bandwidth is the time the collective needs on that link, which
is why they, not the payload, are what a plan compares across group sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Collective(str, Enum):
    ALL_GATHER = "all_gather"
    REDUCE_SCATTER = "reduce_scatter"
    ALL_REDUCE = "all_reduce"
    ALL_TO_ALL = "all_to_all"
    BROADCAST = "broadcast"
    REDUCE = "reduce"
    GATHER = "gather"
    SCATTER = "scatter"
    SEND = "send"
    RECV = "recv"
    BARRIER = "barrier"


def bus_bytes(kind: Collective, payload: int, group_size: int) -> float:
    """NCCL-style bus bytes of one call of ``kind`` moving ``payload`` bytes in a group of ``group_size``."""
    n = max(group_size, 1)
    if kind in (Collective.ALL_GATHER, Collective.REDUCE_SCATTER, Collective.ALL_TO_ALL):
        return payload * (n - 1) / n
    if kind is Collective.ALL_REDUCE:
        return 2 * payload * (n - 1) / n
    if kind is Collective.BARRIER:
        return 0.0
    return float(payload)


@dataclass(frozen=True, slots=True)
class ProcessGroupInfo:
    """A process group a run communicated in.

    Attributes:
        name: torch.distributed's group name (unique per process).
        size: ranks in the group.
        ranks: their global ranks, when known.
        mesh_dim: the DeviceMesh dimension the group spans ("dp", "tp", ...), when one does.
    """

    name: str
    size: int
    ranks: tuple[int, ...] = ()
    mesh_dim: str | None = None

    @property
    def label(self) -> str:
        """How reports name the group: its mesh dimension ("world" for the default group, as
        capture names it), else "group N"."""
        if self.mesh_dim is not None:
            return self.mesh_dim
        return f"group {self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "ranks": list(self.ranks), "mesh_dim": self.mesh_dim}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProcessGroupInfo":
        return cls(name=str(data["name"]), size=int(data["size"]), ranks=tuple(int(r) for r in data.get("ranks", ())),
                   mesh_dim=data.get("mesh_dim"))


@dataclass(slots=True)
class CommTotals:
    """Calls of one collective kind in one group, with the bytes they moved."""

    calls: int = 0
    payload_bytes: int = 0
    bus_bytes: float = 0.0

    def add(self, payload: int, bus: float, calls: int = 1) -> None:
        self.calls += calls
        self.payload_bytes += payload
        self.bus_bytes += bus

    def __add__(self, other: "CommTotals") -> "CommTotals":
        return CommTotals(self.calls + other.calls, self.payload_bytes + other.payload_bytes,
                          self.bus_bytes + other.bus_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "payload_bytes": self.payload_bytes, "bus_bytes": self.bus_bytes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CommTotals":
        return cls(int(data["calls"]), int(data["payload_bytes"]), float(data["bus_bytes"]))


# One collective key: (kind, process group name).
CommKey = tuple[Collective, str]


def comm_key_text(key: CommKey) -> str:
    """``(ALL_GATHER, "3")`` -> ``"all_gather@3"``, the key as JSON writes it."""
    return f"{key[0].value}@{key[1]}"


def comm_key_from_text(text: str) -> CommKey:
    kind, _, group = text.partition("@")
    return Collective(kind), group
