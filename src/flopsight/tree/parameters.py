"""Parameter counting: each parameter once (tied ones at their first path), trainable and frozen."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn


@dataclass(slots=True)
class ParameterCounts:
    """Own (directly held) parameter and buffer counts per module path."""

    trainable: dict[str, int] = field(default_factory=dict)
    frozen: dict[str, int] = field(default_factory=dict)
    buffers: dict[str, int] = field(default_factory=dict)
    tied: list[tuple[str, str]] = field(default_factory=list)  # (alias name, canonical name)


def count_parameters(model: nn.Module) -> ParameterCounts:
    """Count each parameter at the module that first holds it in ``named_parameters()`` order.

    A parameter reachable under several names (tied embeddings, a shared module) is counted
    once; its other names are listed in ``tied`` beside the name it is counted under.
    """
    counts = ParameterCounts()
    canonical: dict[int, str] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        key = id(param)
        if key in canonical:
            if not _same_owner(model, name, canonical[key]):  # a shared module is not a tie
                counts.tied.append((name, canonical[key]))
            continue
        canonical[key] = name
        owner = name.rpartition(".")[0]
        bucket = counts.trainable if param.requires_grad else counts.frozen
        bucket[owner] = bucket.get(owner, 0) + param.numel()
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
