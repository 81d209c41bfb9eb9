"""When an op ran: forward, backward, or recomputed in backward."""

from __future__ import annotations

from enum import Enum


class Phase(str, Enum):
    """When an op ran. ``"forward"`` and ``Phase.FORWARD`` are interchangeable."""

    FORWARD = "forward"
    BACKWARD = "backward"
    RECOMPUTE = "recompute"  # forward ops re-run during backward by activation checkpointing
    OPTIMIZER = "optimizer"  # the optimizer step of a training step (memory only; not charged)

    def __str__(self) -> str:
        return self.value
