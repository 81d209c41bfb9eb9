"""A hand-built timed Profile for the export tests: every figure is written here, so tests
derive their expectations from these numbers, not from the code under test.

    Net ("")            own add 10 FLOPs fwd; fwd 10 ms, bwd 20 ms
    ├── enc             fwd 6 ms, bwd 12 ms (its backward is clamped: head leaves it 11 ms)
    │   ├── enc.a       own mm 1000 FLOPs fwd, 2000 bwd; 40 params; fwd 2 ms, bwd 5 ms
    │   └── enc.b       own mm 300 FLOPs fwd;             10 params; fwd 3 ms, bwd 4 ms
    ├── head            own mm 500 FLOPs fwd, 1000 bwd;   20 params; fwd 3 ms, bwd 9 ms
    └── tail            the same module as head (alias_of="head"): nothing of its own
"""

from __future__ import annotations

from flopsight.records import ModuleTiming, OpTotals, Phase, TimingResult, summarize
from flopsight import Profile
from flopsight.tree import ModuleNode

MS = 1e-3
FORWARD_MS = {"": 10.0, "enc": 6.0, "enc.a": 2.0, "enc.b": 3.0, "head": 3.0}
BACKWARD_MS = {"": 20.0, "enc": 12.0, "enc.a": 5.0, "enc.b": 4.0, "head": 9.0}
# (module, phase, op) -> (calls, macs, flops, bytes_read, bytes_written, masked_flops, fused_bytes)
OPS = {
    ("", Phase.FORWARD, "aten.add.Tensor"): (1, 0, 10, 80, 40, 0, 40),
    ("enc.a", Phase.FORWARD, "aten.mm.default"): (2, 500, 1000, 400, 100, 0, 0),
    ("enc.a", Phase.BACKWARD, "aten.mm.default"): (4, 1000, 2000, 800, 200, 0, 0),
    ("enc.b", Phase.FORWARD, "aten.mm.default"): (1, 150, 300, 120, 30, 6, 0),
    ("head", Phase.FORWARD, "aten.mm.default"): (1, 250, 500, 200, 50, 0, 0),
    ("head", Phase.BACKWARD, "aten.mm.default"): (2, 500, 1000, 400, 100, 0, 0),
}
TOTAL_FLOPS = 10 + 1000 + 2000 + 300 + 500 + 1000
TOTAL_MACS = 500 + 1000 + 150 + 250 + 500
PARAMS = {"enc.a": 40, "enc.b": 10, "head": 20}


def _node(name: str, type_: str, children: list[ModuleNode] | None = None, alias_of: str | None = None) -> ModuleNode:
    own_ops: dict[Phase, dict[str, OpTotals]] = {}
    for (module, phase, op), figures in OPS.items():
        if module == name and alias_of is None:
            own_ops.setdefault(phase, {})[op] = OpTotals(*figures)
    return ModuleNode(name=name, type=type_, calls=0 if alias_of else 1, alias_of=alias_of, own_ops=own_ops,
                      own_trainable_params=0 if alias_of else PARAMS.get(name, 0), children=children or [])


def build_tree() -> ModuleNode:
    return _node("", "Net", [
        _node("enc", "Encoder", [_node("enc.a", "Linear"), _node("enc.b", "Linear")]),
        _node("head", "Linear"),
        _node("tail", "Linear", alias_of="head"),
    ])


def timing() -> TimingResult:
    modules = {name: ModuleTiming(name=name, calls=1, forward=summarize([FORWARD_MS[name] * MS]),
                                  backward=summarize([BACKWARD_MS[name] * MS])) for name in FORWARD_MS}
    return TimingResult(device="cpu", device_name="test cpu", dtype="float32", warmup=0, repeat=1,
                        forward=summarize([FORWARD_MS[""] * MS]), iteration=summarize([30 * MS]),
                        backward=summarize([BACKWARD_MS[""] * MS]), modules=modules)


def counted_profile() -> Profile:
    return Profile(root=build_tree(), metadata={"backward_measured": True})


def timed_profile() -> Profile:
    return counted_profile().with_timing(timing())
