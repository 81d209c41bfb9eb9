"""Whether a model is sharded or replicated across ranks, and a parameter's local and global size.

A DTensor parameter (FSDP2 ``fully_shard``, tensor parallel) holds its local shard
(``to_local()``) and reports the global logical shape; an FSDP1 ``FlatParameter`` holds this
rank's shard of the flattened, padded parameters of its wrapper and records their original
sizes; a DDP replica's parameters are whole on every rank.
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch import nn

from ..records.distributed import DistributedInfo

__all__ = ["data_parallel_wrappers", "describe_job", "global_numel", "is_distributed", "is_fully_sharded", "local_numel",
           "local_tensor"]


def _dtensor_type() -> type | None:
    module = sys.modules.get("torch.distributed.tensor")  # no DTensor exists unless it is imported
    return None if module is None else module.DTensor


def is_distributed(model: nn.Module) -> bool:
    """Whether ``model`` is wrapped or sharded for a distributed run: DDP, FSDP1, FSDP2, or
    any DTensor parameter. Such a model's backward must run as ``loss.backward()``: its
    gradient hooks (DDP's bucket all-reduces, FSDP's reduce-scatters) fire on the gradients
    accumulated into ``.grad``, which ``torch.autograd.grad`` never writes."""
    if "torch.distributed" not in sys.modules:
        return False
    dtensor = _dtensor_type()
    if dtensor is not None and any(isinstance(p, dtensor) for p in model.parameters()):
        return True
    wrappers = _wrapper_types()
    return any(isinstance(m, wrappers) for m in model.modules())


def _wrapper_types() -> tuple[type, ...]:
    return data_parallel_wrappers() + tuple(t for t in [_fsdp_attribute("FSDPModule")] if t is not None)


def data_parallel_wrappers() -> tuple[type, ...]:
    """The wrapper modules that hold a data-parallel ``process_group``: DDP and FSDP1."""
    parallel = sys.modules.get("torch.nn.parallel")
    found = [parallel.DistributedDataParallel] if parallel is not None else []
    fsdp1 = _fsdp_attribute("FullyShardedDataParallel")
    return tuple(found + ([fsdp1] if fsdp1 is not None else []))


def is_fully_sharded(model: nn.Module) -> bool:
    """Whether FSDP2 (``fully_shard``) wraps any module of ``model``."""
    mixin = _fsdp_attribute("FSDPModule")
    return mixin is not None and any(isinstance(m, mixin) for m in model.modules())


def _fsdp_attribute(name: str) -> type | None:
    fsdp = sys.modules.get("torch.distributed.fsdp")  # not imported: nothing is wrapped by it
    found = getattr(fsdp, name, None) if fsdp is not None else None
    return found if isinstance(found, type) else None


def local_tensor(param: torch.Tensor) -> torch.Tensor:
    """The tensor this rank holds of ``param``: a DTensor's local shard, else ``param``."""
    dtensor = _dtensor_type()
    if dtensor is not None and isinstance(param, dtensor):
        return param.to_local()  # type: ignore[attr-defined,no-any-return]
    return param


def local_numel(param: torch.Tensor) -> int:
    """Elements this rank holds (FSDP1's padding included: it is allocated)."""
    return int(local_tensor(param).numel())


def global_numel(param: torch.Tensor) -> int:
    """Elements of the logical parameter across ranks (each counted once)."""
    numels = getattr(param, "_numels", None)  # an FSDP1 FlatParameter: its original parameters
    if numels is not None:
        return int(sum(numels))
    return int(param.numel())


def describe_job(model: nn.Module) -> DistributedInfo | None:
    """This rank and the job's mesh, when torch.distributed is initialized; else None.

    The mesh is read from the DeviceMeshes of the model's DTensor parameters (their root mesh,
    so a tensor-parallel submesh and FSDP's data-parallel one give one 2-D mesh); a model with
    no DTensor parameter (DDP, FSDP1) is data parallel over the whole world.
    """
    if "torch.distributed" not in sys.modules:
        return None
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return None
    mesh: dict[str, int] = {}
    coordinate: dict[str, int] = {}
    dtensor = _dtensor_type()
    roots = {}
    if dtensor is not None:
        for p in model.parameters():
            if isinstance(p, dtensor):
                root = p.device_mesh._get_root_mesh()  # type: ignore[attr-defined]
                roots[id(root)] = root
    for root in roots.values():
        # Read from the mesh's rank layout: get_local_rank would resolve a process group and
        # get_coordinate answers for the rank the mesh was made on, both wrong for a mesh torch
        # keeps from an earlier (simulated) world in the same process.
        place = _place_in(root, dist.get_rank())
        for dim, name in enumerate(root.mesh_dim_names or ()):
            mesh.setdefault(str(name), int(root.size(dim)))
            if dim < len(place):
                coordinate.setdefault(str(name), int(place[dim]))
    if not mesh:
        world = dist.get_world_size()
        mesh = {"dp": world}
        coordinate = {"dp": dist.get_rank()}
    return DistributedInfo(rank=dist.get_rank(), world_size=dist.get_world_size(), backend=str(dist.get_backend()),
                           mesh=mesh, mesh_coordinate=coordinate)


def _place_in(mesh: Any, rank: int) -> list[int]:
    """``rank``'s index along each dimension of ``mesh`` (read outside any fake mode: the
    layout is a real tensor of ranks)."""
    from torch._subclasses.fake_tensor import unset_fake_temporarily

    with unset_fake_temporarily():
        layout = mesh.mesh.tolist()

    def find(block: Any, prefix: list[int]) -> list[int] | None:
        if not isinstance(block, list):
            return prefix if block == rank else None
        for index, inner in enumerate(block):
            hit = find(inner, prefix + [index])
            if hit is not None:
                return hit
        return None
    return find(layout, []) or []
