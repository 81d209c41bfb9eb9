"""Every tensor in a model's inputs or outputs, however they are nested, and whether a run is on meta."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["tensors_in", "uses_meta"]


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in a nested structure of tuples, lists, dicts and dataclass-like outputs."""
    found: list[torch.Tensor] = []
    pending = [value]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif hasattr(item, "__dict__") and id(item) not in seen and not isinstance(item, (nn.Module, type)):
            seen.add(id(item))
            pending.extend(v for v in vars(item).values() if isinstance(v, (torch.Tensor, list, tuple, dict)))
    return found


def uses_meta(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether the run is on meta: a meta parameter or input (integer inputs may stay real, and
    a model built on meta may keep a parameter its code made on the CPU: XLNet's mask_emb)."""
    if any(p.device.type == "meta" for p in model.parameters()):
        return True
    return any(t.device.type == "meta" for t in tensors_in(args) + tensors_in(kwargs))
