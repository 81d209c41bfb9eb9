"""A profile's memory as a CUDA memory snapshot, the dict ``torch.cuda.memory._snapshot()``
returns, so that PyTorch's viewer (pytorch.org/memory_viz, "Active Memory Timeline") and
``torch.cuda._memory_viz`` (``trace_plot``, ``segsum``, ``memory``) draw it. No torch.

Each storage of the run is one allocation, in the order of the run's ops: the allocations of
an op, then the frees after it, so the allocated bytes of the trace reach the profile's
``peak_bytes`` exactly. The allocator drawn is the caching allocator with caching off
(``PYTORCH_NO_CUDA_MEMORY_CACHING=1``): a segment per allocation, at a synthetic address of
its own (512-byte aligned, never reused), so the viewer's "reserved" equals allocated.
An allocation's frames are its module and the modules around it, innermost first, as a
Python stack is: ``{"filename": "layers.0.mlp", "line": 0, "name": "forward"}``.
"""

from __future__ import annotations

import pickle
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..records.memory import StorageLife
from ..tree.memory import category_of

if TYPE_CHECKING:
    from ..tree.profile import Profile

__all__ = ["SNAPSHOT_PICKLE_PROTOCOL", "memory_snapshot", "memory_snapshot_pickle"]

# The viewer's own unpickler reads protocols 2 to 4 (Python 3.14 writes 5 by default).
SNAPSHOT_PICKLE_PROTOCOL = 4
# A frame's file name is a module path; the root's path "" and storages of no module read so:
ROOT_FRAME = "(model)"
BEFORE_RUN_FRAME = "(before the run)"
OUTSIDE_FRAME = "(outside the model)"
_BASE_ADDRESS = 0x10000000
_ALIGNMENT = 512  # the caching allocator's block size
_LARGE_SEGMENT = 1 << 20  # the allocator's "large" pool holds blocks above 1 MiB


def memory_snapshot(profile: Profile) -> dict[str, Any]:
    """The run's storages as ``torch.cuda.memory._snapshot()`` would have recorded them.

    Returns:
        ``{"segments": [...], "device_traces": [[...]]}``: the trace of device 0 (``alloc``,
        ``free_requested``, ``free_completed``, ``segment_alloc``, ``segment_free``, each with
        ``addr``, ``size``, ``stream`` 0 and ``frames``; allocations also carry their
        ``category``) and, as a snapshot taken when the run ended, a segment per storage still
        live then. Save it with ``memory_snapshot_pickle`` for the viewer.

    Raises:
        InputError: the profile recorded no memory.

    Example:
        >>> snapshot = memory_snapshot(flopsight.profile(mlp, x, backward=True, memory=True))
        >>> snapshot["device_traces"][0][1]
        {'action': 'alloc', 'addr': 268435456, 'size': 2048, 'stream': 0, 'frames': [...], 'category': 'parameter'}
    """
    memory = profile.memory
    if memory is None:
        raise InputError("this profile recorded no memory: profile it with memory=True (the CLI's --memory)")
    record = memory.record
    kept = [life for life in record.storages if life.nbytes > 0]  # the allocator hands out nothing for 0 bytes
    made: dict[int, list[int]] = {}
    freed: dict[int, list[int]] = {}
    for i, life in enumerate(kept):
        made.setdefault(life.created, []).append(i)
        if life.freed is not None:
            freed.setdefault(life.freed, []).append(i)
    frames = _Frames()
    addresses: dict[int, int] = {}  # in allocation order, which is address order
    address = _BASE_ADDRESS
    trace: list[dict[str, Any]] = []
    for tick in sorted(made.keys() | freed.keys()):
        for i in made.get(tick, []):
            life, stack = kept[i], frames.of(kept[i])
            addresses[i] = address
            address += -(-life.nbytes // _ALIGNMENT) * _ALIGNMENT
            trace.append(_event("segment_alloc", addresses[i], life.nbytes, stack))
            trace.append({**_event("alloc", addresses[i], life.nbytes, stack),
                          "category": str(category_of(life, record.forward_end))})
        for i in freed.get(tick, []):
            trace += [_event(action, addresses[i], kept[i].nbytes, frames.of(kept[i]))
                      for action in ("free_requested", "free_completed", "segment_free")]
    # The viewer adds "unknown" to the categories the events name, and fails unless one names it.
    trace.append({"action": "snapshot", "addr": 0, "size": 0, "stream": 0, "frames": [], "category": "unknown"})
    segments = [_segment(addresses[i], kept[i], frames.of(kept[i])) for i in addresses if kept[i].freed is None]
    return {"segments": segments, "device_traces": [trace]}


def memory_snapshot_pickle(profile: Profile) -> bytes:
    """``memory_snapshot(profile)`` pickled as the viewer reads it: the file to drop on
    pytorch.org/memory_viz or to pass to ``python -m torch.cuda._memory_viz``."""
    return pickle.dumps(memory_snapshot(profile), protocol=SNAPSHOT_PICKLE_PROTOCOL)


class _Frames:
    """Each storage's frames, one list per (module, phase) shared by its storages (the pickle
    writes a shared list once)."""

    def __init__(self) -> None:
        self._made: dict[tuple[str | None, str, bool], list[dict[str, Any]]] = {}

    def of(self, life: StorageLife) -> list[dict[str, Any]]:
        """The module that made the storage and each module around it, innermost first. Made
        before the run (parameters, inputs): one frame named for its category; made outside
        any module (a loss, the backward's seed): one frame saying so."""
        before = life.created < 0
        name = str(life.category) if before else "" if life.phase is None else life.phase.value
        key = (life.path, name, before)
        if key not in self._made:
            if life.path is None:
                paths = [BEFORE_RUN_FRAME if before else OUTSIDE_FRAME]
            else:
                parts = life.path.split(".") if life.path else []
                paths = [".".join(parts[:end]) for end in range(len(parts), 0, -1)] + [ROOT_FRAME]
            # Interned, so that the pickle (which writes a string object once) depends on the
            # values alone: a profile read back from JSON gives the same bytes.
            self._made[key] = [{"filename": sys.intern(path), "line": 0, "name": sys.intern(name)} for path in paths]
        return self._made[key]


def _event(action: str, address: int, size: int, frames: list[dict[str, Any]]) -> dict[str, Any]:
    return {"action": action, "addr": address, "size": size, "stream": 0, "frames": frames}


def _segment(address: int, life: StorageLife, frames: list[dict[str, Any]]) -> dict[str, Any]:
    """One segment holding one allocated block, as the snapshot describes a live allocation."""
    size = life.nbytes
    block = {"address": address, "size": size, "requested_size": size, "state": "active_allocated", "frames": frames}
    return {"device": 0, "address": address, "total_size": size, "stream": 0,
            "segment_type": "large" if size > _LARGE_SEGMENT else "small", "segment_pool_id": (0, 0),
            "allocated_size": size, "active_size": size, "requested_size": size, "blocks": [block]}
