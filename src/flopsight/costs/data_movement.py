"""Ops that copy or move data and do no arithmetic: 0 FLOPs, and the bytes their kernel moves.

A cast, a clone, a concatenation, a pad, a masked fill or a ``where`` is no floating-point work
(``flopsight.conventions``), but a GPU runs a kernel for it that reads its inputs and writes its
output, and the roofline prices that time. Views, metadata, creation and random numbers stay
free (``free_ops.py``): a view moves nothing, and what a fill of a new tensor writes is left out.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, io_bytes, tensor_bytes
from .registry import aten, register_cost

MOVING_OP_NAMES = (
    # copies and casts
    "clone", "_to_copy", "_copy_from", "_copy_from_and_resize",
    # rearranging: every element read once and written once (or more, for repeats)
    "cat", "stack", "hstack", "vstack", "concat", "repeat", "repeat_interleave", "tile", "roll", "flip",
    "tril", "triu", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
    "replication_pad1d", "replication_pad2d", "replication_pad3d",
    "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
    "_upsample_nearest_exact1d", "_upsample_nearest_exact2d", "_upsample_nearest_exact3d",
    "max_unpool2d", "max_unpool3d",
    # selecting by a mask or an index
    "masked_fill", "index_fill", "scatter", "masked_scatter", "masked_select", "where",
    "slice_scatter", "select_scatter", "as_strided_scatter", "diagonal_scatter", "index_copy",
    "masked_scatter_backward",
    # gradients of views: a zero tensor with the gradient copied into a slice
    "select_backward", "slice_backward", "diagonal_backward", "unfold_backward", "as_strided_backward",
)
# Ops that overwrite their first argument without reading it: copy_(dst, src), fill_, zero_.
OVERWRITING_OP_NAMES = ("copy_", "fill", "zero")


def moved_cost(*args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Reads every tensor input, writes the output: 0 FLOPs."""
    read, written = io_bytes(args, out)
    return OpCost(bytes_read=read, bytes_written=written)


def overwritten_cost(*args: Any, out: Any, **kwargs: Any) -> OpCost:
    """Reads the inputs after the first (the source, or nothing for a fill), writes the first."""
    read = sum(tensor_bytes(a) for a in args[1:])
    return OpCost(bytes_read=read, bytes_written=tensor_bytes(out))


def _packets(names: tuple[str, ...]) -> list[Any]:
    found = (getattr(aten, variant) for name in names for variant in (name, name + "_"))
    return [op for op in found if isinstance(op, torch._ops.OpOverloadPacket)]


register_cost(*_packets(MOVING_OP_NAMES))(moved_cost)
register_cost(*_packets(OVERWRITING_OP_NAMES))(overwritten_cost)


_MOVING = frozenset(f"aten.{name}" for name in (*MOVING_OP_NAMES, *OVERWRITING_OP_NAMES))


def is_data_movement(op_name: str) -> bool:
    """Whether the recorded op ("aten._to_copy.default") only moves data: 0 FLOPs by definition.

    Example:
        >>> is_data_movement("aten._to_copy.default"), is_data_movement("aten.copy_.default")
        (True, True)
        >>> is_data_movement("aten.mm.default")
        False
    """
    packet = op_name.rsplit(".", 1)[0] if op_name.count(".") > 1 else op_name
    return packet in _MOVING or packet.rstrip("_") in _MOVING
