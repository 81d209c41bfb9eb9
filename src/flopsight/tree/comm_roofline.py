"""Predicted communication time: each recorded collective's bus bytes over the link it would use.

    comm_s = bus_bytes / link bandwidth

Bus bytes are NCCL's (``records/communication.py``): what each rank's link carries for a ring
implementation, so dividing by one link's bandwidth gives the collective's time on it. The link
is the GPU's NVLink (or Infinity Fabric) per-GPU bandwidth when the group fits in one node
(group size <= ``gpus_per_node``), else ``inter_node_bytes_per_s`` per GPU, by default 50e9
bytes/s (one 400 Gb/s NIC per GPU). A GPU with no NVLink figure uses its PCIe figure within a
node. As for compute, this is a lower bound: no latency, no contention, the full datasheet rate.

Pure: nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from ..errors import InputError
from ..records import Phase
from ..records.communication import CommKey, CommTotals, ProcessGroupInfo

if TYPE_CHECKING:
    from .profile import Profile
    from .roofline import RooflineTarget

__all__ = ["CommRoofline", "link_for", "predicted_comm", "price_comm"]


@dataclass(frozen=True, slots=True)
class CommRoofline:
    """One collective kind in one group, summed over a (module, phase), priced on the target."""

    module: str
    phase: Phase
    kind: str
    group: str
    group_size: int | None
    calls: int
    bus_bytes: float
    link: str
    link_bytes_per_s: float

    @property
    def predicted_s(self) -> float:
        return self.bus_bytes / self.link_bytes_per_s


def link_for(target: RooflineTarget, group_size: int | None) -> tuple[str, float]:
    """("NVLink" or "PCIe" or "inter-node", bytes/s) of a group of ``group_size`` ranks; a group
    of unknown size is taken to fit in one node (the faster link: a lower bound on time).

    Raises:
        InputError: the group fits in a node and the GPU has neither an NVLink nor a PCIe figure.
    """
    if group_size is not None and group_size > target.gpus_per_node:
        return "inter-node", target.inter_node_bytes_per_s
    if target.intra_node_bytes_per_s is None:
        raise InputError(f"the GPU table has no NVLink or PCIe bandwidth for {target.gpu}; "
                         "pass a GpuSpec with one to price its collectives")
    return target.intra_node_link, target.intra_node_bytes_per_s


def _priced(target: RooflineTarget, groups: Mapping[str, ProcessGroupInfo], module: str, phase: Phase,
            key: CommKey, totals: CommTotals) -> CommRoofline:
    kind, group = key
    info = groups.get(group)
    size = None if info is None else info.size
    link, bandwidth = link_for(target, size)
    label = group if info is None else info.label
    return CommRoofline(module, phase, kind.value, label, size, totals.calls, totals.bus_bytes, link, bandwidth)


def price_comm(target: RooflineTarget, groups: Mapping[str, ProcessGroupInfo], module: str,
               per_phase: Mapping[Phase, Mapping[CommKey, CommTotals]]) -> dict[Phase, float]:
    """Predicted seconds per phase of one module's own collectives (phases with none are left out)."""
    return {phase: sum((_priced(target, groups, module, phase, key, t).predicted_s for key, t in per_key.items()), 0.0)
            for phase, per_key in per_phase.items() if per_key}


def predicted_comm(profile: Profile, phase: Phase | str | None = None) -> list[CommRoofline]:
    """Every (module, phase, collective, group) sum priced on the profile's target, the longest
    first; [] when the profile carries no roofline or no collectives."""
    target = profile.roofline_target
    if target is None:
        return []
    wanted = None if phase is None else Phase(phase)
    found = [_priced(target, profile.process_groups, node.name, ph, key, t)
             for node in profile.modules() for ph, per_key in node.own_comm.items()
             if wanted is None or ph is wanted for key, t in per_key.items()]
    return sorted(found, key=lambda c: -c.predicted_s)
