"""Summed costs of one phase, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cost:
    """MACs, FLOPs and bytes of one phase of a module (or the whole model).

    ``masked_flops`` is the part of ``flops`` spent on attention scores that a causal (or
    padding) mask discards; ``effective_flops`` is what remains.
    """

    macs: int = 0
    flops: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    masked_flops: int = 0

    @property
    def effective_flops(self) -> int:
        return self.flops - self.masked_flops

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(
            self.macs + other.macs,
            self.flops + other.flops,
            self.bytes_read + other.bytes_read,
            self.bytes_written + other.bytes_written,
            self.masked_flops + other.masked_flops,
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
    def from_dict(cls, data: dict[str, Any]) -> "Cost":
        return cls(**{k: int(data.get(k, 0)) for k in ("macs", "flops", "bytes_read", "bytes_written", "masked_flops")})


ZERO = Cost()
