"""PyTorch's CUDA caching allocator, replayed over a run's allocations and frees. No torch.

A CUDA device does not hold a tensor's bytes: it holds the block the caching allocator
(``c10/cuda/CUDACachingAllocator.cpp``, ``DeviceCachingAllocator``) hands out for them, carved
from segments it got from ``cudaMalloc`` and keeps. This module replays that allocator, best
fit, block splitting and merging included, with its default settings (``PYTORCH_CUDA_ALLOC_CONF``
unset), on one stream. The rules, with c10's constants:

- A request of ``n`` bytes takes ``round_size(n)``: ``n`` rounded up to a multiple of
  ``kMinBlockSize`` = 512 bytes (at least 512). A request of 0 bytes allocates nothing
  (``allocate()`` skips ``malloc`` when ``size == 0``).
- Requests up to ``kSmallSize`` = 1 MiB (after rounding) go to the small pool, larger ones to
  the large pool; a pool only serves its own requests.
- Best fit: the smallest free block of the pool at least as large as the request (the lowest
  address among equal sizes).
- None fits: a new segment (``cudaMalloc``) of ``get_allocation_size``: ``kSmallBuffer`` = 2 MiB
  for a small request, ``kLargeBuffer`` = 20 MiB for a large one under ``kMinLargeAlloc`` =
  10 MiB, and from 10 MiB up the request rounded up to a multiple of ``kRoundLarge`` = 2 MiB.
- Splitting (``should_split``): the block found is split and its tail returned to the pool when
  the remainder is at least 512 bytes (small pool) or more than ``kSmallSize`` = 1 MiB (large
  pool); otherwise the request gets the whole block, and the allocated bytes count all of it, as
  ``torch.cuda.memory_allocated()`` does (``stats.allocated_bytes`` grows by ``block->size``).
- A freed block merges with free neighbours of its segment (``try_merge_blocks``). Segments are
  never given back: ``cudaFree`` only happens on an out-of-memory retry or ``empty_cache()``, so
  reserved memory only grows.

Left out: expandable segments, ``max_split_size_mb`` and ``roundup_power2_divisions`` (off by
default), several streams, CUDA graphs' private pools, and out-of-memory retries (the replay
assumes the device is large enough). Reserved memory also depends on what the process allocated
before the run (the replay starts from an empty allocator, the run's held tensors first).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "AllocatorReplay", "CachingAllocator", "allocated_size", "pool_is_small", "replay", "segment_size",
    "K_LARGE_BUFFER", "K_MIN_BLOCK_SIZE", "K_MIN_LARGE_ALLOC", "K_ROUND_LARGE", "K_SMALL_BUFFER", "K_SMALL_SIZE",
]

MIB = 1024 * 1024
K_MIN_BLOCK_SIZE = 512  # every block is a multiple of this
K_SMALL_SIZE = 1 * MIB  # largest request the small pool serves
K_SMALL_BUFFER = 2 * MIB  # the small pool's segments
K_LARGE_BUFFER = 20 * MIB  # a segment for a large request under K_MIN_LARGE_ALLOC
K_MIN_LARGE_ALLOC = 10 * MIB  # from here a request gets a segment of its own size...
K_ROUND_LARGE = 2 * MIB  # ...rounded up to a multiple of this


def allocated_size(nbytes: int) -> int:
    """The bytes of the block a request of ``nbytes`` asks for (c10's ``round_size``).

    >>> allocated_size(0), allocated_size(1), allocated_size(512), allocated_size(513)
    (0, 512, 512, 1024)
    """
    if nbytes <= 0:
        return 0
    return -(-nbytes // K_MIN_BLOCK_SIZE) * K_MIN_BLOCK_SIZE


def pool_is_small(size: int) -> bool:
    """Whether a rounded request goes to the small pool."""
    return size <= K_SMALL_SIZE


def segment_size(size: int) -> int:
    """The segment ``cudaMalloc`` gets when no free block fits a rounded request (c10's
    ``get_allocation_size``).

    >>> segment_size(512) == K_SMALL_BUFFER, segment_size(2 * MIB) == K_LARGE_BUFFER
    (True, True)
    >>> segment_size(10 * MIB + 512) // MIB
    12
    """
    if pool_is_small(size):
        return K_SMALL_BUFFER
    if size < K_MIN_LARGE_ALLOC:
        return K_LARGE_BUFFER
    return -(-size // K_ROUND_LARGE) * K_ROUND_LARGE


def _should_split(small: bool, remaining: int) -> bool:
    return remaining >= K_MIN_BLOCK_SIZE if small else remaining > K_SMALL_SIZE


class _Block:
    """A piece of a segment, free or allocated; ``prev``/``next`` are its neighbours in it."""

    __slots__ = ("address", "size", "small", "allocated", "prev", "next")

    def __init__(self, address: int, size: int, small: bool) -> None:
        self.address = address
        self.size = size
        self.small = small
        self.allocated = False
        self.prev: _Block | None = None
        self.next: _Block | None = None


class CachingAllocator:
    """One device's caching allocator on one stream, as c10 runs it with default settings.

    ``malloc(n)`` returns a handle for ``free`` (None for 0 bytes) and the block's bytes;
    ``allocated_bytes`` / ``reserved_bytes`` and their peaks follow
    ``torch.cuda.memory_allocated()`` / ``memory_reserved()`` and their maxima.

    >>> a = CachingAllocator()
    >>> x, size = a.malloc(1000)
    >>> size, a.allocated_bytes, a.reserved_bytes == K_SMALL_BUFFER
    (1024, 1024, True)
    >>> a.free(x); a.allocated_bytes, a.reserved_bytes == K_SMALL_BUFFER
    (0, True)
    """

    def __init__(self) -> None:
        self.allocated_bytes = 0
        self.reserved_bytes = 0
        self.peak_allocated_bytes = 0
        self.peak_reserved_bytes = 0
        self.segments = 0
        self._free: dict[bool, list[tuple[int, int]]] = {True: [], False: []}  # small? -> sorted (size, address)
        self._blocks: dict[int, _Block] = {}  # address -> free block
        self._next_address = 0

    def malloc(self, nbytes: int) -> tuple[_Block | None, int]:
        size = allocated_size(nbytes)
        if size == 0:
            return None, 0
        small = pool_is_small(size)
        block = self._best_fit(small, size)
        if block is None:
            block = self._new_segment(small, segment_size(size))
        remaining = block.size - size
        if _should_split(small, remaining):
            tail = _Block(block.address + size, remaining, small)
            tail.prev, tail.next = block, block.next
            if block.next is not None:
                block.next.prev = tail
            block.next = tail
            block.size = size
            self._insert(tail)
        block.allocated = True
        self.allocated_bytes += block.size
        self.peak_allocated_bytes = max(self.peak_allocated_bytes, self.allocated_bytes)
        return block, block.size

    def free(self, block: _Block | None) -> None:
        if block is None:
            return
        block.allocated = False
        self.allocated_bytes -= block.size
        before, after = block.prev, block.next
        if before is not None and not before.allocated:  # block takes its free predecessor's place
            self._remove(before)
            block.address, block.size, block.prev = before.address, before.size + block.size, before.prev
            if block.prev is not None:
                block.prev.next = block
        if after is not None and not after.allocated:
            self._remove(after)
            block.size, block.next = block.size + after.size, after.next
            if block.next is not None:
                block.next.prev = block
        self._insert(block)

    def _best_fit(self, small: bool, size: int) -> _Block | None:
        free = self._free[small]
        at = bisect.bisect_left(free, (size, -1))
        if at == len(free):
            return None
        _, address = free.pop(at)
        return self._blocks.pop(address)

    def _new_segment(self, small: bool, size: int) -> _Block:
        block = _Block(self._next_address, size, small)
        self._next_address += size
        self.segments += 1
        self.reserved_bytes += size
        self.peak_reserved_bytes = max(self.peak_reserved_bytes, self.reserved_bytes)
        return block

    def _insert(self, block: _Block) -> None:
        bisect.insort(self._free[block.small], (block.size, block.address))
        self._blocks[block.address] = block

    def _remove(self, block: _Block) -> None:
        free = self._free[block.small]
        del free[bisect.bisect_left(free, (block.size, block.address))]
        del self._blocks[block.address]


@dataclass(frozen=True, slots=True)
class AllocatorReplay:
    """What the caching allocator made of a run.

    Attributes:
        block_bytes: per storage (in the order given), the bytes of the block it held.
        peak_allocated_bytes: the most bytes in allocated blocks at once.
        peak_reserved_bytes: the bytes of all segments at the end (reserved only grows).
        segments: how many segments were reserved.
    """

    block_bytes: list[int]
    peak_allocated_bytes: int
    peak_reserved_bytes: int
    segments: int


def replay(lifetimes: Sequence[tuple[int, int, int | None]]) -> AllocatorReplay:
    """Replay storages' ``(nbytes, created, freed)`` through one ``CachingAllocator``.

    ``created`` and ``freed`` are ticks (``freed`` None: never freed). At each tick the storages
    created at it are allocated, in the order given, then those freed at it are freed: an op's
    outputs are allocated while its inputs are still held.

    >>> r = replay([(4096, -1, None), (3000, 0, 0), (3000, 1, None)])
    >>> r.block_bytes, r.peak_allocated_bytes, r.peak_reserved_bytes == K_SMALL_BUFFER
    ([4096, 3072, 3072], 7168, True)
    """
    created: dict[int, list[int]] = {}
    freed: dict[int, list[int]] = {}
    for index, (_, start, end) in enumerate(lifetimes):
        created.setdefault(start, []).append(index)
        if end is not None:
            freed.setdefault(end, []).append(index)
    allocator = CachingAllocator()
    blocks: list[_Block | None] = [None] * len(lifetimes)
    sizes = [0] * len(lifetimes)
    for tick in sorted(created.keys() | freed.keys()):
        for index in created.get(tick, ()):
            blocks[index], sizes[index] = allocator.malloc(lifetimes[index][0])
        for index in freed.get(tick, ()):
            allocator.free(blocks[index])
            blocks[index] = None
    return AllocatorReplay(sizes, allocator.peak_allocated_bytes, allocator.peak_reserved_bytes, allocator.segments)
