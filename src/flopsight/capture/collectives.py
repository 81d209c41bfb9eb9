"""The communication instrument: every collective a run issues, by kind and process group.

torch.distributed's eager calls (``dist.all_reduce``, FSDP2's all-gathers and reduce-scatters,
DDP's bucket all-reduces from its C++ reducer) dispatch ``c10d`` ops; DTensor's redistributes and
functional collectives dispatch ``_c10d_functional`` ops. Both pass through the counting mode,
which hands each one here with the (module, phase) it ran in. Each op's schema says which of
its tensors is the payload (``records.communication``: the whole buffer) and where its group is.

Waits (``wait_tensor``) move nothing and are left to the op-call counts.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..records import Phase
from ..records.communication import Collective, CommKey, CommTotals, ProcessGroupInfo, bus_bytes
from .sharded import data_parallel_wrappers, is_fully_sharded

__all__ = ["CollectiveRecorder", "mesh_dims_of"]

# Which tensors an op's payload is, and where its group is, by argument position in its schema.
Payload = Callable[[tuple[Any, ...], dict[str, Any], Any], int]


def _bytes(value: Any) -> int:
    """Bytes of a tensor, or of every tensor in (nested) lists of them."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_bytes(item) for item in value)
    return 0


def _arg(index: int) -> Payload:
    return lambda args, kwargs, out: _bytes(args[index])


def _output(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return _bytes(kwargs["out"]) if "out" in kwargs else _bytes(out)


_A, _AG, _RS, _AR = Collective.ALL_TO_ALL, Collective.ALL_GATHER, Collective.REDUCE_SCATTER, Collective.ALL_REDUCE
_BC, _RD, _SD, _RV = Collective.BROADCAST, Collective.REDUCE, Collective.SEND, Collective.RECV

# c10d ops carry the ProcessGroup object; ``group`` is its argument position.
_C10D: dict[str, tuple[Collective, Payload, int]] = {
    "_allgather_base_": (_AG, _arg(0), 2),
    "allgather_": (_AG, _arg(0), 2),
    "allgather_coalesced_": (_AG, _arg(0), 2),
    "allgather_into_tensor_coalesced_": (_AG, _arg(0), 2),
    "_reduce_scatter_base_": (_RS, _arg(1), 2),
    "reduce_scatter_": (_RS, _arg(1), 2),
    "reduce_scatter_tensor_coalesced_": (_RS, _arg(1), 2),
    "allreduce_": (_AR, _arg(0), 1),
    "allreduce_coalesced_": (_AR, _arg(0), 1),
    "alltoall_": (_A, _arg(1), 2),
    "alltoall_base_": (_A, _arg(1), 2),
    "broadcast_": (_BC, _arg(0), 1),
    "reduce_": (_RD, _arg(0), 1),
    # one rank's piece, times the group below: only the root's lists hold every piece
    "gather_": (Collective.GATHER, _arg(1), 2),
    "scatter_": (Collective.SCATTER, _arg(0), 2),
    "send": (_SD, _arg(0), 1),
    "recv_": (_RV, _arg(0), 1),
    "recv_any_source_": (_RV, _arg(0), 1),
    "barrier": (Collective.BARRIER, lambda args, kwargs, out: 0, 1),
    "monitored_barrier_": (Collective.BARRIER, lambda args, kwargs, out: 0, 1),
}

# Functional collectives name their group; ``group`` is the position of the group name.
_FUNCTIONAL: dict[str, tuple[Collective, Payload, int]] = {
    "all_gather_into_tensor": (_AG, _output, 2),
    "all_gather_into_tensor_coalesced": (_AG, _output, 2),
    "all_gather_into_tensor_out": (_AG, _output, 2),
    "all_reduce": (_AR, _arg(0), 2),
    "all_reduce_": (_AR, _arg(0), 2),
    "all_reduce_coalesced": (_AR, _arg(0), 2),
    "all_reduce_coalesced_": (_AR, _arg(0), 2),
    "all_to_all_single": (_A, _arg(0), 3),
    "broadcast": (_BC, _arg(0), 2),
    "broadcast_": (_BC, _arg(0), 2),
    "reduce_scatter_tensor": (_RS, _arg(0), 3),
    "reduce_scatter_tensor_coalesced": (_RS, _arg(0), 3),
    "reduce_scatter_tensor_out": (_RS, _arg(0), 3),
    "isend": (_SD, _arg(0), 3),
    "irecv": (_RV, _arg(0), 3),
    "shard_dim_alltoall": (_A, _arg(0), 3),  # _dtensor's
}
_NAMESPACES = {"c10d": _C10D, "_c10d_functional": _FUNCTIONAL, "_c10d_functional_autograd": _FUNCTIONAL,
               "_dtensor": _FUNCTIONAL}


class CollectiveRecorder:
    """Sums each collective into ``collectives[(path, phase)][(kind, group name)]``.

    ``mesh_dims`` names the groups that span a DeviceMesh dimension (``mesh_dims_of``), so that
    reports say "tp" rather than a group number. Per call: one dict lookup for the op, one for
    the group (resolved once per group).
    """

    def __init__(self, collectives: dict[tuple[str, Phase], dict[CommKey, CommTotals]],
                 groups: dict[str, ProcessGroupInfo], *, mesh_dims: dict[str, str] | None = None) -> None:
        self._collectives = collectives
        self._groups = groups
        self.mesh_dims = mesh_dims or {}
        self._specs: dict[Any, tuple[Collective, Payload, int] | None] = {}

    def record(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, path: str,
               phase: Phase) -> None:
        if func in self._specs:
            spec = self._specs[func]
        else:
            spec = self._specs[func] = _spec_of(func)
        if spec is None:  # a wait, or bookkeeping
            return
        kind, payload_of, group_at = spec
        group = self._group(args[group_at] if group_at < len(args) else kwargs.get("group_name"))
        if group is None:
            return
        payload = payload_of(args, kwargs, out)
        if kind in (Collective.GATHER, Collective.SCATTER):  # S: every rank's piece
            payload *= group.size
        per_key = self._collectives.setdefault((path, phase), {})
        key = (kind, group.name)
        totals = per_key.get(key)
        if totals is None:
            totals = per_key[key] = CommTotals()
        totals.add(payload, bus_bytes(kind, payload, group.size))

    def _group(self, handle: Any) -> ProcessGroupInfo | None:
        name = handle if isinstance(handle, str) else None
        if name is not None and name in self._groups:
            return self._groups[name]
        group = _process_group(handle)
        if group is None:
            return None
        name = str(group.group_name)
        info = self._groups.get(name)
        if info is None:
            info = self._groups[name] = _describe(group, self.mesh_dims.get(name))
        return info


def _spec_of(func: Any) -> tuple[Collective, Payload, int] | None:
    table = _NAMESPACES.get(getattr(func, "namespace", ""))
    return None if table is None else table.get(func._opname)


def _process_group(handle: Any) -> Any:
    import torch.distributed as dist
    from torch.distributed import distributed_c10d

    if isinstance(handle, str):
        try:
            return distributed_c10d._resolve_process_group(handle)  # type: ignore[attr-defined,arg-type]
        except (RuntimeError, ValueError, KeyError):
            return None
    if isinstance(handle, torch.ScriptObject):
        return dist.ProcessGroup.unbox(handle)
    if isinstance(handle, dist.ProcessGroup):
        return handle
    return None


def _describe(group: Any, mesh_dim: str | None) -> ProcessGroupInfo:
    import torch.distributed as dist

    try:
        ranks = tuple(dist.get_process_group_ranks(group))
    except (RuntimeError, ValueError):  # a group this process is not registered in
        ranks = ()
    world = dist.group.WORLD if dist.is_initialized() else None
    if mesh_dim is None and world is not None and group.group_name == world.group_name:
        mesh_dim = "world"
    return ProcessGroupInfo(name=str(group.group_name), size=int(group.size()), ranks=ranks, mesh_dim=mesh_dim)


def mesh_dims_of(model: torch.nn.Module) -> dict[str, str]:
    """Group name -> mesh dimension name, for every DeviceMesh the model's DTensor parameters
    live on (FSDP2 and tensor-parallel parameters are DTensors), and the root meshes they were
    cut from. A data-parallel wrapper's group (DDP, FSDP1, FSDP2 on its default unnamed 1-D
    mesh) is "dp", as the job's mesh reads it (``describe_job``)."""
    import sys

    names: dict[str, str] = {}
    wrappers = data_parallel_wrappers()
    for module in model.modules():
        group = getattr(module, "process_group", None)
        if group is not None and isinstance(module, wrappers):
            names.setdefault(str(group.group_name), "dp")
    tensor_module = sys.modules.get("torch.distributed.tensor")
    if tensor_module is None:  # nothing made a DTensor in this process
        return names
    meshes: dict[int, Any] = {}
    for p in model.parameters():
        if isinstance(p, tensor_module.DTensor):
            for mesh in (p.device_mesh._get_root_mesh(), p.device_mesh):
                meshes.setdefault(id(mesh), mesh)
    fully_sharded = is_fully_sharded(model)
    for mesh in meshes.values():
        dim_names = mesh.mesh_dim_names or (("dp",) if fully_sharded and mesh.ndim == 1 else ())
        for dim, dim_name in enumerate(dim_names):
            try:
                group = mesh.get_group(dim)
            except RuntimeError:  # a mesh FSDP2 concatenated, whose groups torch resolves lazily
                continue
            names.setdefault(str(group.group_name), str(dim_name))
    return names
