"""Per-op cost formulas. Importing this package registers every built-in family."""

from . import (  # noqa: F401
    attention, composite, convolution, data_movement, distance, dropout, flex_attention, free_ops, fused_attention, interpolation,
    linalg, losses, matmul, normalization, pointwise, pooling, recurrent, reduction, sampling, sparse, spectral,
)
from .base import OpCost
from .registry import COMMUNICATION, REGISTRY, CostRegistry, Formula, mark_free, register_cost, unregister_cost

__all__ = ["COMMUNICATION", "REGISTRY", "CostRegistry", "Formula", "OpCost", "mark_free", "register_cost", "unregister_cost"]
