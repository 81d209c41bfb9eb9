"""The CUDA caching allocator replay: c10's rounding, pools, segments, best fit, splits and
merges, each against a hand derivation."""

from __future__ import annotations

import doctest

import pytest

from flopsight.tree import allocator
from flopsight.tree.allocator import CachingAllocator, allocated_size, replay, segment_size

KIB = 1024
MIB = 1024 * KIB


@pytest.mark.parametrize(
    ("nbytes", "block"),
    [(0, 0), (1, 512), (4, 512), (511, 512), (512, 512), (513, 1024), (3000, 3072), (MIB, MIB), (MIB + 1, MIB + 512)],
)
def test_a_request_is_rounded_up_to_512_bytes_and_nothing_for_zero(nbytes: int, block: int) -> None:
    assert allocated_size(nbytes) == block


@pytest.mark.parametrize(
    ("size", "segment"),
    [
        (512, 2 * MIB), (MIB, 2 * MIB),  # small pool: 2 MiB segments
        (MIB + 512, 20 * MIB), (10 * MIB - 512, 20 * MIB),  # large, under 10 MiB: 20 MiB segments
        (10 * MIB, 10 * MIB), (10 * MIB + 512, 12 * MIB), (21 * MIB, 22 * MIB),  # from 10 MiB: rounded to 2 MiB
    ],
)
def test_a_new_segment_has_the_size_of_its_pool_rule(size: int, segment: int) -> None:
    assert segment_size(size) == segment


def test_small_requests_are_packed_into_2_mib_segments() -> None:
    a = CachingAllocator()
    for _ in range(4):  # 4 x 512 KiB fill one 2 MiB segment exactly
        assert a.malloc(512 * KIB)[1] == 512 * KIB
    assert (a.reserved_bytes, a.segments) == (2 * MIB, 1)
    a.malloc(512 * KIB)
    assert (a.reserved_bytes, a.segments, a.allocated_bytes) == (4 * MIB, 2, 5 * 512 * KIB)


def test_a_freed_block_is_reused_and_reserved_memory_never_shrinks() -> None:
    a = CachingAllocator()
    block, _ = a.malloc(MIB)
    a.free(block)
    assert (a.allocated_bytes, a.reserved_bytes) == (0, 2 * MIB)
    a.malloc(512 * KIB)
    assert (a.allocated_bytes, a.reserved_bytes, a.peak_allocated_bytes) == (512 * KIB, 2 * MIB, MIB)


def test_a_large_remainder_of_one_mib_or_less_is_not_split_off() -> None:
    a = CachingAllocator()
    # 1.5 MiB requests carve a 20 MiB segment; after 12 of them 2 MiB is left, and the 13th
    # would leave 0.5 MiB (not more than 1 MiB): it gets the whole 2 MiB block.
    sizes = [a.malloc(3 * MIB // 2)[1] for _ in range(13)]
    assert sizes == [3 * MIB // 2] * 12 + [2 * MIB]
    assert (a.allocated_bytes, a.reserved_bytes, a.segments) == (20 * MIB, 20 * MIB, 1)


def test_a_request_of_10_mib_or_more_gets_its_own_segment_rounded_to_2_mib() -> None:
    a = CachingAllocator()
    # 11 MiB: a 12 MiB segment, remainder 1 MiB is not split off: the block is 12 MiB.
    assert a.malloc(11 * MIB)[1] == 12 * MIB
    b = CachingAllocator()
    # 10.5 MiB: a 12 MiB segment, remainder 1.5 MiB is split off and serves a later 1.25 MiB
    # request whole (its 0.25 MiB remainder is not split): no new segment.
    assert b.malloc(21 * MIB // 2)[1] == 21 * MIB // 2
    assert b.malloc(5 * MIB // 4)[1] == 3 * MIB // 2
    assert (b.reserved_bytes, b.segments, b.allocated_bytes) == (12 * MIB, 1, 12 * MIB)


def test_freed_neighbours_merge_so_a_larger_request_fits() -> None:
    a = CachingAllocator()
    first, second, _, _ = (a.malloc(512 * KIB)[0] for _ in range(4))
    a.free(first)
    a.free(second)  # merges with first: one free 1 MiB block at the segment's start
    assert a.malloc(MIB)[1] == MIB
    assert (a.reserved_bytes, a.segments) == (2 * MIB, 1)


def test_best_fit_takes_the_smallest_free_block_that_fits() -> None:
    a = CachingAllocator()
    big, _ = a.malloc(MIB)
    a.malloc(512 * KIB)
    small, _ = a.malloc(512 * KIB)
    a.free(big)
    a.free(small)  # free: 1 MiB at the start, 512 KiB at the end, not adjacent
    a.malloc(512 * KIB)  # best fit: the 512 KiB block (first fit would split the 1 MiB one)
    a.malloc(MIB)  # so the 1 MiB block is still there
    assert (a.reserved_bytes, a.segments, a.allocated_bytes) == (2 * MIB, 1, 2 * MIB)


def test_pools_are_separate() -> None:
    a = CachingAllocator()
    block, _ = a.malloc(20 * MIB)
    a.free(block)  # 20 MiB free in the large pool
    a.malloc(512)  # a small request does not use it
    assert (a.reserved_bytes, a.segments) == (22 * MIB, 2)


def test_zero_bytes_allocate_nothing() -> None:
    a = CachingAllocator()
    block, size = a.malloc(0)
    a.free(block)
    assert (block, size, a.reserved_bytes, a.segments) == (None, 0, 0, 0)


def test_replay_allocates_an_ops_outputs_before_freeing_what_died_after_it() -> None:
    # A lives over ticks 0-1; B and C are created at tick 1, while A is still held: 3 MiB
    # allocated at once; A and B fill the first 2 MiB segment, C takes a second one.
    r = replay([(MIB, 0, 1), (MIB, 1, None), (MIB, 1, None)])
    assert (r.block_bytes, r.peak_allocated_bytes, r.peak_reserved_bytes, r.segments) == (
        [MIB, MIB, MIB], 3 * MIB, 4 * MIB, 2)
    # Freed at tick 0, before B is created at tick 1: B reuses A's block.
    r = replay([(MIB, 0, 0), (MIB, 1, None)])
    assert (r.peak_allocated_bytes, r.peak_reserved_bytes) == (MIB, 2 * MIB)


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(allocator).failed == 0
