"""The price of one aten op, and the small helpers every formula shares."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import torch


@dataclass(frozen=True, slots=True)
class OpCost:
    """What one call of one aten op costs; summed, the cost of a module's phase (``Cost``).

    Attributes:
        macs: multiply-accumulates of matmul-class work (matrix products, convolutions,
            attention's QK^T and PV products).
        flops: floating-point operations: 2 x macs plus every other arithmetic op.
        bytes_read: bytes of the tensor inputs the op reads.
        bytes_written: bytes of the tensors it writes.
        masked_flops: part of ``flops`` spent on attention scores a causal mask discards;
            ``flops - masked_flops`` is the causal-effective count.
        upper_bound: the formula could not see all it needs (packed sequence lengths on meta)
            and priced the most the op can cost; the profile lists such ops.
    """

    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    masked_flops: int = 0
    upper_bound: bool = False

    @property
    def effective_flops(self) -> int:
        """FLOPs without the attention work a mask discards."""
        return self.flops - self.masked_flops

    def __add__(self, other: "OpCost") -> "OpCost":
        return OpCost(
            self.macs + other.macs,
            self.flops + other.flops,
            self.bytes_read + other.bytes_read,
            self.bytes_written + other.bytes_written,
            self.masked_flops + other.masked_flops,
            self.upper_bound or other.upper_bound,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "macs": self.macs,
            "flops": self.flops,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "masked_flops": self.masked_flops,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OpCost":
        def count(key: str) -> int:
            return int(data.get(key, 0))

        return cls(macs=count("macs"), flops=count("flops"), bytes_read=count("bytes_read"),
                   bytes_written=count("bytes_written"), masked_flops=count("masked_flops"))


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
