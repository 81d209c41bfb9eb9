"""The price of one aten op, and the small helpers every formula shares."""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch

from ..records import OpCost as OpCost  # the formulas' return type, re-exported for them


def prod(dims: Iterable[int]) -> int:
    """Product of a shape's dimensions as a Python int (1 for a scalar shape)."""
    return math.prod(int(d) for d in dims)


def tensor_bytes(value: Any) -> int:
    """Bytes held by a tensor, or summed over a list/tuple of tensors; 0 for anything else."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(v) for v in value)
    return 0


def io_bytes(inputs: Iterable[Any], out: Any) -> tuple[int, int]:
    """(bytes read, bytes written) for the given tensor inputs and output(s)."""
    return sum(tensor_bytes(t) for t in inputs), tensor_bytes(out)


def matmul_cost(*, macs: int, inputs: Iterable[Any], out: Any, extra_flops: int = 0) -> OpCost:
    """Cost of a matmul-class op: 2 FLOPs per MAC plus any bias or scaling FLOPs."""
    read, written = io_bytes(inputs, out)
    return OpCost(macs=macs, flops=2 * macs + extra_flops, bytes_read=read, bytes_written=written)


def elementwise_cost(*, flops: int, inputs: Iterable[Any], out: Any) -> OpCost:
    """Cost of an op with no matmul-class work."""
    read, written = io_bytes(inputs, out)
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)
