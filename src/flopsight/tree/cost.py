"""Summed costs of one phase: the same five figures as one op's cost, added up."""

from __future__ import annotations

from ..costs.base import OpCost

# A module's (or the model's) cost in one phase: MACs, FLOPs, bytes and masked FLOPs summed over
# its ops. It is an OpCost: the same fields, addition and JSON form.
Cost = OpCost

ZERO = Cost()

__all__ = ["ZERO", "Cost"]
