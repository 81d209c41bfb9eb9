"""report/memory_snapshot.py: a memory_viz snapshot that PyTorch's own readers take, and whose
allocated bytes reach the profile's peak."""

from __future__ import annotations

import base64
import copy
import json
import pickle
import pickletools
import re
from typing import Any

import pytest
import torch
from torch import nn
from torch.cuda import _memory_viz

import flopsight
from flopsight.report.memory_snapshot import SNAPSHOT_PICKLE_PROTOCOL, memory_snapshot, memory_snapshot_pickle
import zoo

# The opcodes the viewer's unpickler knows (``unpickle`` in torch/utils/viz/MemoryViz.js, which
# also refuses protocols above 4); a snapshot written with any other could not be opened there.
VIEWER_OPCODES = {
    "PROTO", "FRAME", "STOP", "MARK", "MEMOIZE", "BINPUT", "LONG_BINPUT", "BINGET", "LONG_BINGET", "EMPTY_DICT",
    "DICT", "SETITEM", "SETITEMS", "EMPTY_LIST", "LIST", "APPEND", "APPENDS", "EMPTY_TUPLE", "TUPLE", "TUPLE1",
    "TUPLE2", "TUPLE3", "NONE", "NEWTRUE", "NEWFALSE", "BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT",
    "SHORT_BINUNICODE", "BINUNICODE",
}


@pytest.fixture(scope="module")
def trained() -> flopsight.Profile:
    torch.manual_seed(0)
    return flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (2, 6)), backward=True, memory=True)


def replay(snapshot: dict[str, Any]) -> tuple[int, int]:
    """(most bytes allocated at once, bytes allocated at the end) of device 0's trace, as the
    viewer's "Active Memory Timeline" stacks them: +size at alloc, -size at free_completed."""
    live: dict[int, int] = {}
    allocated = most = 0
    for event in snapshot["device_traces"][0]:
        if event["action"] == "alloc":
            assert event["addr"] not in live
            live[event["addr"]] = event["size"]
            allocated += event["size"]
            most = max(most, allocated)
        elif event["action"] == "free_completed":
            allocated -= live.pop(event["addr"])
    return most, allocated


def live_at_end(profile: flopsight.Profile) -> int:
    assert profile.memory is not None
    return sum(life.nbytes for life in profile.memory.record.storages if life.freed is None)


@pytest.mark.parametrize("backward", [False, True])
def test_the_trace_reaches_the_peak_and_ends_with_the_segments(backward: bool) -> None:
    torch.manual_seed(0)
    p = flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (2, 6)), backward=backward, memory=True)
    snapshot = memory_snapshot(p)
    most, end = replay(snapshot)
    assert p.memory is not None and most == p.memory.peak_bytes
    assert end == live_at_end(p) == sum(segment["allocated_size"] for segment in snapshot["segments"])


def test_torchs_readers_take_it_and_agree(trained: flopsight.Profile) -> None:
    snapshot = memory_snapshot(trained)
    end = live_at_end(trained)
    # segsum checks that every segment's blocks tile it, and sums what is allocated.
    stats = _memory_viz.segsum(copy.deepcopy(snapshot))
    assert f"total_allocated: {_memory_viz.Bytes(end)}\n" in stats
    assert f"segments: {len(snapshot['segments'])}\n" in stats
    entries = snapshot["device_traces"][0]
    assert _memory_viz.trace(copy.deepcopy(snapshot)).startswith(f"Device 0 ----------------\n{len(entries)} entries\n")
    # The flamegraph input: one line per live block, "stream_0;active_allocated;frames... bytes".
    lines = _memory_viz.memory(copy.deepcopy(snapshot), format_flamegraph=lambda text: text).splitlines()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == end
    assert "stream_0;active_allocated;(model):0:backward;layers:0:backward;layers.0:0:backward" in "\n".join(lines)
    per_segment = _memory_viz.segments(copy.deepcopy(snapshot), format_flamegraph=lambda text: text).splitlines()
    assert sum(int(line.rsplit(" ", 1)[1]) for line in per_segment) == end
    # Only what is still live at the end stays after dropping alloc-free pairs.
    kept = _memory_viz.filter_alloc_free_pairs(copy.deepcopy(snapshot))["device_traces"][0]
    assert sum(event["size"] for event in kept if event["action"] == "alloc") == end


def test_the_viewer_pages_embed_the_pickle(trained: flopsight.Profile) -> None:
    data = memory_snapshot_pickle(trained)
    assert data[:2] == bytes([0x80, SNAPSHOT_PICKLE_PROTOCOL]) and SNAPSHOT_PICKLE_PROTOCOL <= 4
    assert {opcode.name for opcode, _, _ in pickletools.genops(data)} <= VIEWER_OPCODES
    snapshot = pickle.loads(data)
    assert snapshot == memory_snapshot(trained)
    for page in (_memory_viz.trace_plot(snapshot), _memory_viz.segment_plot(snapshot)):
        embedded = json.loads(re.search(r"const local_files = (\[.*?\])\n", page).group(1))  # type: ignore[union-attr]
        assert pickle.loads(base64.b64decode(embedded[0]["base64"])) == snapshot


def test_events_are_consistent(trained: flopsight.Profile) -> None:
    snapshot = memory_snapshot(trained)
    events = snapshot["device_traces"][0]
    actions = [event["action"] for event in events]
    assert set(actions) == {"segment_alloc", "alloc", "free_requested", "free_completed", "segment_free", "snapshot"}
    assert actions[-1] == "snapshot"
    spans = []
    for i, event in enumerate(events):
        assert event["stream"] == 0 and isinstance(event["frames"], list)
        if event["action"] == "alloc":
            assert events[i - 1] == {**{k: v for k, v in event.items() if k != "category"}, "action": "segment_alloc"}
            assert event["addr"] % 512 == 0 and event["size"] > 0
            spans.append((event["addr"], event["addr"] + event["size"]))
        if event["action"] == "free_requested":
            assert [e["action"] for e in events[i + 1: i + 3]] == ["free_completed", "segment_free"]
    spans.sort()
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))  # no two allocations overlap
    categories = {event["category"] for event in events if "category" in event}
    assert categories >= {"parameter", "input", "activation", "gradient", "temporary", "unknown"}
    for segment in snapshot["segments"]:
        (block,) = segment["blocks"]
        assert segment["device"] == 0 and block["state"] == "active_allocated"
        assert block["size"] == block["requested_size"] == segment["total_size"] == segment["allocated_size"]


def test_frames_name_the_module_its_parents_and_the_phase() -> None:
    torch.manual_seed(0)
    p = flopsight.profile(nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8)), torch.randn(4, 16),
                          backward=True, memory=True)
    allocations = [event for event in memory_snapshot(p)["device_traces"][0] if event["action"] == "alloc"]
    assert allocations[0]["frames"] == [{"filename": "(before the run)", "line": 0, "name": "parameter"}]
    relu = [event for event in allocations if event["frames"][0]["filename"] == "1"]
    assert relu[0]["frames"] == [{"filename": "1", "line": 0, "name": "forward"},
                                 {"filename": "(model)", "line": 0, "name": "forward"}]
    assert relu[0]["category"] == "activation" and relu[0]["size"] == 4 * 32 * 4  # the ReLU's output, kept


def test_a_profile_read_back_from_json_gives_the_same_snapshot(trained: flopsight.Profile) -> None:
    again = flopsight.Profile.from_dict(json.loads(json.dumps(trained.to_dict())))
    assert memory_snapshot_pickle(again) == memory_snapshot_pickle(trained)


def test_a_profile_without_memory_is_refused() -> None:
    with pytest.raises(flopsight.InputError, match="memory=True"):
        memory_snapshot(flopsight.profile(nn.Linear(4, 2), torch.randn(1, 4)))
