"""report/tree.py: collapsing, depth limit, shared modules, phases, and columns that add up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from conftest import HIDDEN, Block, TinyLM, token_ids
from torch import nn

import flopsight
from flopsight.report.tree import describe_columns, render_tree

Golden = Callable[[str, str], None]


def test_identical_layers_collapse_into_one_entry(tiny_profile: flopsight.Profile) -> None:
    text = render_tree(tiny_profile)
    assert "    (0-3): 4 x Block(\n" in text
    # One block's lines are shown once, with one block's own figures.
    assert text.count("(fc1): Linear(") == 1
    one_block = tiny_profile.module("layers.0")
    assert f"= {100 * one_block.params / tiny_profile.params:.2f}% Params" in text


def test_blocks_that_differ_are_not_collapsed() -> None:
    # Blocks 0 and 1 match; block 2 has no fc1 bias; block 3 matches 0 and 1 but is not
    # next to them, so it stays on its own.
    blocks: list[nn.Module] = [Block(), Block(), Block(bias=False), Block()]
    text = render_tree(flopsight.profile(TinyLM(blocks), token_ids()))
    entries = re.findall(r"^    \((\S+)\): (?:(\d+) x )?Block\(", text, flags=re.MULTILINE)
    assert entries == [("0-1", "2"), ("2", ""), ("3", "")]
    assert text.count("bias=False") == 2  # block 2's fc1 and the head


def test_named_siblings_that_look_alike_are_not_collapsed() -> None:
    model = nn.Sequential()
    model.add_module("q", nn.Linear(HIDDEN, HIDDEN))
    model.add_module("k", nn.Linear(HIDDEN, HIDDEN))
    text = render_tree(flopsight.profile(model, torch.ones(2, HIDDEN)))
    assert "(q): Linear(" in text and "(k): Linear(" in text and " x Linear" not in text


def test_a_run_of_collapsed_layers_keeps_what_is_inside_collapsible() -> None:
    # Nested ModuleLists: the outer pair collapses, and so do the inner triples.
    outer = nn.ModuleList(nn.ModuleList(nn.Linear(HIDDEN, HIDDEN) for _ in range(3)) for _ in range(2))

    class Nested(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stages = outer

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for stage in self.stages:
                assert isinstance(stage, nn.ModuleList)
                for layer in stage:
                    x = layer(x)
            return x

    text = render_tree(flopsight.profile(Nested(), torch.ones(2, HIDDEN)))
    entries = [line for line in text.splitlines() if line.lstrip().startswith("(")]
    assert [line.split(": ")[0] + ": " + line.split(": ")[1].split("(")[0] for line in entries] == [
        "  (stages): ModuleList",
        "    (0-1): 2 x ModuleList",
        "      (0-2): 3 x Linear",
    ]


def test_depth_limit_hides_deeper_modules_but_keeps_their_figures(tiny_profile: flopsight.Profile) -> None:
    full = render_tree(tiny_profile).splitlines()
    root_only = render_tree(tiny_profile, depth=0).splitlines()
    assert len(root_only) == 1
    # The root's figures do not change when its children are hidden.
    assert root_only[0] == f"TinyLM({full[1].strip()})"

    depth1 = render_tree(tiny_profile, depth=1)
    assert "Block" not in depth1 and "LayerNorm" not in depth1
    assert "  (layers): ModuleList(8.64 K = 72.97% Params, 131.07 KMACs" in depth1

    depth2 = render_tree(tiny_profile, depth=2)
    assert "    (0-3): 4 x Block(2.16 K = 18.24% Params" in depth2 and "(fc1)" not in depth2
    assert render_tree(tiny_profile, depth=tiny_profile.max_depth) == render_tree(tiny_profile)


def test_negative_depth_is_refused(tiny_profile: flopsight.Profile) -> None:
    with pytest.raises(flopsight.InputError, match="depth"):
        render_tree(tiny_profile, depth=-1)


def test_a_shared_module_renders_once_with_an_alias_line(towers_profile: flopsight.Profile) -> None:
    text = render_tree(towers_profile)
    assert "    (shared): Block -> left.shared (counted there)\n" in text
    assert text.count("(shared): Block(") == 1 and text.count("(norm): LayerNorm(") == 1
    # The right tower holds only its own Linear: 16 x 16 + 16 parameters.
    assert "  (right): Tower(\n    272 = " in text


def test_backward_columns_appear_only_when_backward_was_measured(
    tiny_profile: flopsight.Profile, tiny_backward_profile: flopsight.Profile
) -> None:
    assert "bwd" not in render_tree(tiny_profile)
    with_backward = render_tree(tiny_backward_profile)
    assert "652.54 KFLOPs = 100% bwd FLOPs" in with_backward.splitlines()[1]
    assert describe_columns(tiny_backward_profile).endswith("bwd FLOPs, % of all bwd FLOPs")


@pytest.mark.parametrize(
    ("phase", "root_figures"),
    [
        ("forward", "156.67 KMACs = 100% MACs, 329.73 KFLOPs = 100% FLOPs, 652.54 KFLOPs = 100% bwd FLOPs"),
        ("backward", "313.34 KMACs = 100% bwd MACs, 652.54 KFLOPs = 100% bwd FLOPs"),
        ("total", "470.02 KMACs = 100% fwd+bwd MACs, 982.27 KFLOPs = 100% fwd+bwd FLOPs"),
        (flopsight.Phase.BACKWARD, "313.34 KMACs = 100% bwd MACs, 652.54 KFLOPs = 100% bwd FLOPs"),
    ],
)
def test_phase_picks_the_cost_shown(tiny_backward_profile: flopsight.Profile, phase: str, root_figures: str) -> None:
    root_line = render_tree(tiny_backward_profile, phase=phase).splitlines()[1]
    assert root_line == f"  11.84 K = 100% Params, {root_figures}"


def test_unknown_phase_is_refused(tiny_profile: flopsight.Profile) -> None:
    with pytest.raises(flopsight.InputError, match="phase"):
        render_tree(tiny_profile, phase="sideways")


def test_a_leaf_profile_is_one_line() -> None:
    text = render_tree(flopsight.profile(nn.Linear(8, 4), torch.ones(2, 8)))
    # 8 x 4 + 4 params; 2 x 8 x 4 MACs; 2 x 64 + 2 x 4 bias FLOPs.
    assert text == (
        "Linear(36 = 100% Params, 64 MACs = 100% MACs, 136 FLOPs = 100% FLOPs, "
        "in_features=8, out_features=4, bias=True)"
    )


@dataclass
class Printed:
    """One module as the tree prints it, parsed back."""

    path: str
    count: int
    figures: dict[str, int]
    children: list["Printed"] = field(default_factory=list)


_FIGURE = re.compile(r"(\d+)(?: MACs| FLOPs)? = <?[\d.]+% (Params|MACs|FLOPs|bwd FLOPs)")
_ENTRY = re.compile(r"^\((?P<name>[^)]+)\): (?:(?P<count>\d+) x )?(?P<rest>.*)$")


def parse_tree(text: str) -> Printed:
    """Rebuild the printed tree: paths from indentation, figures from the "value = share" items."""
    lines = text.splitlines()
    root = Printed("", 1, dict_of(lines[0]) or dict_of(lines[1]))
    stack = [(0, root)]
    for position, line in enumerate(lines):
        if position == 0:
            continue
        indent = (len(line) - len(line.lstrip(" "))) // 2
        entry = _ENTRY.match(line.strip())
        if entry is None:
            continue  # a figures line (read with its opener) or a closing parenthesis
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        name = entry["name"].split("-")[0]  # "(0-3)" is printed as index 0's figures
        path = f"{parent.path}.{name}" if parent.path else name
        if "->" in line:
            figures: dict[str, int] = {}  # an alias: counted at its first path
        else:
            # A leaf carries its figures on its line; an opened block on the next one.
            figures = dict_of(line) or dict_of(lines[position + 1])
        node = Printed(path, int(entry["count"] or 1), figures)
        parent.children.append(node)
        stack.append((indent, node))
    return root


def dict_of(line: str) -> dict[str, int]:
    return {label: int(value) for value, label in _FIGURE.findall(line)}


def own_figures(profile: flopsight.Profile, path: str) -> dict[str, int]:
    node = profile.module(path)
    forward, backward = node.own_costs[flopsight.Phase.FORWARD], node.own_costs[flopsight.Phase.BACKWARD]
    return {"Params": node.own_params, "MACs": forward.macs, "FLOPs": forward.flops, "bwd FLOPs": backward.flops}


@pytest.mark.parametrize("profile_name", ["tiny_backward_profile", "towers_profile"])
def test_printed_columns_add_up(profile_name: str, request: pytest.FixtureRequest) -> None:
    """Each printed parent == its printed children (times their count) + its own ops."""
    profile: flopsight.Profile = request.getfixturevalue(profile_name)
    # Plain numbers: rounding to prefixes would break exact sums.
    printed = parse_tree(render_tree(profile, unit="", param_unit=""))
    assert printed.figures == {
        "Params": profile.params, "MACs": profile.forward.macs,
        "FLOPs": profile.forward.flops, "bwd FLOPs": profile.backward.flops,
    }
    parents = 0
    pending = [printed]
    while pending:
        parent = pending.pop()
        pending += parent.children
        if not parent.children:
            continue
        parents += 1
        own = own_figures(profile, parent.path)
        for label, value in parent.figures.items():
            children = sum(child.count * child.figures.get(label, 0) for child in parent.children)
            assert value == children + own[label], (parent.path, label)
    assert parents >= 3


def test_ignored_modules_and_multi_line_extra_repr() -> None:
    class TwoLines(nn.Module):
        def extra_repr(self) -> str:
            return "first\nsecond"

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    model = nn.Sequential(nn.Dropout(0.1), TwoLines())
    text = render_tree(flopsight.profile(model, torch.ones(2, 4), ignore_modules=[nn.Dropout]))
    dropout = "  (0): Dropout(0 = 0% Params, 0 MACs = 0% MACs, 0 FLOPs = 0% FLOPs, ignored, p=0.1, inplace=False)\n"
    assert dropout in text
    # As nn.Module's repr: a multi-line extra_repr opens a block; 2 x 4 multiplications.
    assert text.endswith(
        "  (1): TwoLines(\n    0 = 0% Params, 0 MACs = 0% MACs, 8 FLOPs = 100% FLOPs, first\n    second\n  )\n)"
    )


def test_narrow_layout_at_80_and_100_matches_golden(
    tiny_profile: flopsight.Profile, towers_profile: flopsight.Profile, golden: Golden
) -> None:
    golden("tiny_tree_width80.txt", render_tree(tiny_profile, width=80) + "\n")
    golden("towers_tree_width100.txt", render_tree(towers_profile, width=100) + "\n")
    golden("towers_tree_width80.txt", render_tree(towers_profile, width=80) + "\n")


@pytest.mark.parametrize("width", [20, 40, 60, 80, 100, 120, 150])
@pytest.mark.parametrize("profile_name", ["tiny_profile", "tiny_backward_profile", "towers_profile"])
def test_no_line_exceeds_the_width(profile_name: str, width: int, request: pytest.FixtureRequest) -> None:
    profile: flopsight.Profile = request.getfixturevalue(profile_name)
    wide = render_tree(profile)
    text = render_tree(profile, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    # A width the calflops layout fits in keeps that layout, line for line.
    if max(len(line) for line in wide.splitlines()) <= width:
        assert text == wide
    else:
        assert text != wide and "in_features=" not in text  # the repr details are left out


def test_narrow_layout_figures_are_the_modules_own(tiny_profile: flopsight.Profile) -> None:
    # TinyLM fc1 (hidden 16 -> MLP 64, 16 tokens): 16 * 64 + 64 params, 16 * 16 * 64 MACs,
    # 2 x MACs + 16 * 64 bias adds; of the whole model's 11,840 params, 156,672 MACs, 329,728 FLOPs.
    text = render_tree(tiny_profile, width=100, unit="", param_unit="")
    row = next(line for line in text.splitlines() if "(fc1): Linear" in line).split()
    params, macs, flops = 16 * 64 + 64, 16 * 16 * 64, 2 * 16 * 16 * 64 + 16 * 64
    assert row == ["(fc1):", "Linear", str(params), f"{100 * params / 11840:.2f}%", str(macs),
                   f"{100 * macs / 156672:.2f}%", str(flops), f"{100 * flops / 329728:.2f}%"]
    header = text.splitlines()[0].split()
    assert header == ["Module", "Params", "%", "MACs", "%", "FLOPs", "%"]


@pytest.mark.parametrize("bad", [0, -80, 80.5, "80", True])
def test_a_bad_width_is_refused(tiny_profile: flopsight.Profile, bad: object) -> None:
    with pytest.raises(flopsight.InputError, match="width must be None"):
        render_tree(tiny_profile, width=bad)  # type: ignore[arg-type]


def test_narrow_layout_keeps_the_latency_columns() -> None:
    from flopsight.timing import ModuleTiming, TimingResult, summarize

    profile = flopsight.profile(nn.Sequential(nn.Linear(32, 16), nn.ReLU()), torch.ones(4, 32))
    timing = TimingResult(
        device="cpu", device_name="test", dtype="float32", warmup=0, repeat=1,
        forward=summarize([2e-3]), iteration=summarize([2e-3]), backward=None,
        modules={"": ModuleTiming("", 1, summarize([2e-3]), None), "0": ModuleTiming("0", 1, summarize([1.5e-3]), None)},
        batch_size=4, tokens=None,
    )
    text = render_tree(profile, timing=timing, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert text.splitlines()[0].split()[-4:] == ["fwd", "latency", "%", "FLOPS"]
    # Linear 32 -> 16 on 4 rows: 2 * 4 * 32 * 16 + 4 * 16 = 4,160 FLOPs in 1.5 ms, 75% of 2 ms.
    row = next(line for line in text.splitlines() if "(0): Linear" in line).split()
    assert row[-5:] == ["1.5", "ms", "75%", f"{4160 / 1.5e-3 / 1e6:.2f}", "MFLOPS"]
    relu = next(line for line in text.splitlines() if "(1): ReLU" in line)
    assert "ms" not in relu  # untimed: its latency cells stay blank
