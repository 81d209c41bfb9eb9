"""Parameter counting: each parameter once (tied ones at their first path), trainable and frozen.

A sharded parameter (DTensor, FSDP1's FlatParameter) counts its global logical size, as one
unique parameter of the whole job, and, apart, the local shard this rank holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from ..capture.sharded import global_numel, local_numel


@dataclass(slots=True)
class ParameterCounts:
    """Own (directly held) parameter and buffer counts per module path."""

    trainable: dict[str, int] = field(default_factory=dict)
    frozen: dict[str, int] = field(default_factory=dict)
    buffers: dict[str, int] = field(default_factory=dict)
    tied: list[tuple[str, str]] = field(default_factory=list)  # (alias name, canonical name)
    param_bytes: dict[str, int] = field(default_factory=dict)  # global bytes, trainable and frozen
    # Only modules holding a parameter whose local shard differs from its global size:
    local_params: dict[str, int] = field(default_factory=dict)
    local_param_bytes: dict[str, int] = field(default_factory=dict)


def count_parameters(model: nn.Module) -> ParameterCounts:
    """Count each parameter at the module that first holds it in ``named_parameters()`` order.

    A parameter reachable under several names (tied embeddings, a shared module) is counted
    once; its other names are listed in ``tied`` beside the name it is counted under.
    """
    counts = ParameterCounts()
    canonical: dict[int, str] = {}
    held_locally: dict[str, list[tuple[int, int, int]]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        key = id(param)
        if key in canonical:
            if not _same_owner(model, name, canonical[key]):  # a shared module is not a tie
                counts.tied.append((name, canonical[key]))
            continue
        canonical[key] = name
        owner = name.rpartition(".")[0]
        bucket = counts.trainable if param.requires_grad else counts.frozen
        whole, local, size = global_numel(param), local_numel(param), param.element_size()
        bucket[owner] = bucket.get(owner, 0) + whole
        counts.param_bytes[owner] = counts.param_bytes.get(owner, 0) + whole * size
        held_locally.setdefault(owner, []).append((whole, local, size))
    for owner, held in held_locally.items():
        if any(whole != local for whole, local, _ in held):
            counts.local_params[owner] = sum(local for _, local, _ in held)
            counts.local_param_bytes[owner] = sum(local * size for _, local, size in held)
    seen_buffers: set[int] = set()
    for name, buffer in model.named_buffers(remove_duplicate=False):
        if id(buffer) in seen_buffers:
            continue
        seen_buffers.add(id(buffer))
        owner = name.rpartition(".")[0]
        counts.buffers[owner] = counts.buffers.get(owner, 0) + buffer.numel()
    return counts


def _same_owner(model: nn.Module, name: str, other: str) -> bool:
    """Whether two parameter names reach the parameter through one module object."""
    owner, _, attribute = name.rpartition(".")
    other_owner, _, other_attribute = other.rpartition(".")
    return attribute == other_attribute and model.get_submodule(owner) is model.get_submodule(other_owner)
