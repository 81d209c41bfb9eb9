"""What ops cost: one call (OpCost) and the sum of many calls (OpTotals). Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OpCost:
    """What one call of one aten op costs; summed over ops, the cost of a module's phase.

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


ZERO = OpCost()


@dataclass(slots=True)
class OpTotals:
    """Sums over every call of one op charged to one (module, phase).

    ``fused_bytes`` is the part of ``bytes_read + bytes_written`` a compiler fusing elementwise
    chains would not move (``capture/fusion.py``); eager PyTorch moves it all.
    """

    calls: int = 0
    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    masked_flops: int = 0
    fused_bytes: int = 0

    def add(self, cost: "OpCost | OpTotals", calls: int = 1) -> None:
        """Add an OpCost (one call) or another OpTotals (``calls=other.calls``)."""
        self.calls += calls
        self.macs += cost.macs
        self.flops += cost.flops
        self.bytes_read += cost.bytes_read
        self.bytes_written += cost.bytes_written
        self.masked_flops += cost.masked_flops
        if isinstance(cost, OpTotals):
            self.fused_bytes += cost.fused_bytes

    def to_dict(self) -> dict[str, int]:
        fused = {"fused_bytes": self.fused_bytes} if self.fused_bytes else {}
        return {"calls": self.calls, "macs": self.macs, "flops": self.flops, "bytes_read": self.bytes_read,
                "bytes_written": self.bytes_written, "masked_flops": self.masked_flops, **fused}
