"""report/diff: per-module changes between two runs, checked against figures derived by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import Block, TinyLM, token_ids
from torch import nn

import flopsight
from flopsight.errors import InputError
from flopsight.report.diff import ProfileDiff, diff, render_diff
from flopsight.tree.module_match import MatchedBy

IN, OUT, N = 4, 2, 3  # Linear(IN, w) -> ReLU -> Linear(w, OUT) on a batch of N


def mlp(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(IN, width), nn.ReLU(), nn.Linear(width, OUT))


def mlp_figures(width: int) -> dict[str, dict[str, int]]:
    """Per module: params and forward MACs/FLOPs (a Linear's bias adds N x out FLOPs; ReLU one per element)."""
    return {
        "0": {"params": IN * width + width, "forward_macs": N * IN * width, "forward_flops": 2 * N * IN * width + N * width},
        "1": {"params": 0, "forward_macs": 0, "forward_flops": N * width},
        "2": {"params": width * OUT + OUT, "forward_macs": N * width * OUT,
              "forward_flops": 2 * N * width * OUT + N * OUT},
    }


@pytest.fixture(scope="module")
def narrow() -> flopsight.Profile:
    return flopsight.profile(mlp(8), input_shape=(N, IN))


@pytest.fixture(scope="module")
def wide() -> flopsight.Profile:
    return flopsight.profile(mlp(16), input_shape=(N, IN))


def test_each_modules_change_is_the_formulas_difference(narrow: flopsight.Profile, wide: flopsight.Profile) -> None:
    d = diff(narrow, wide)
    small, large = mlp_figures(8), mlp_figures(16)
    assert {m.path_a: m.matched_by for m in d.modules} == {"0": MatchedBy.PATH, "1": MatchedBy.PATH, "2": MatchedBy.PATH}
    for m in d.modules:
        assert m.path_a is not None
        for name, value in small[m.path_a].items():
            change = m.changes[name]
            assert (change.a, change.b, change.delta) == (value, large[m.path_a][name], large[m.path_a][name] - value)
    assert d.modules[0].changes["forward_flops"].relative == 1.0  # 216 -> 432
    for name in ("params", "forward_macs", "forward_flops"):
        total = d.total.changes[name]
        assert total.a == sum(f[name] for f in small.values()) and total.b == sum(f[name] for f in large.values())


def test_modules_rank_by_the_size_of_their_change_of_the_chosen_figure(narrow: flopsight.Profile,
                                                                       wide: flopsight.Profile) -> None:
    # FLOPs changes: fc 0 by 27 x 8 = 216, ReLU by 3 x 8 = 24, fc 2 by 12 x 8 = 96.
    assert [m.path_a for m in diff(narrow, wide).ranked()] == ["0", "2", "1"]
    shrunk = diff(wide, narrow)  # every change negative: ranked by size all the same
    assert [m.path_a for m in shrunk.ranked()] == ["0", "2", "1"]
    assert shrunk.modules[0].changes["forward_flops"].delta == -216
    same_params = diff(narrow, flopsight.profile(mlp(8), input_shape=(2 * N, IN)), sort="params")
    assert [m.path_a for m in same_params.ranked()] == ["0", "1", "2"]  # all unchanged: tree order
    assert [m.path_a for m in diff(narrow, wide, top=2).ranked()] == ["0", "2"]


def test_models_of_one_family_line_up_and_extra_layers_are_added() -> None:
    torch.manual_seed(0)
    two = flopsight.profile(TinyLM([Block(), Block()]), token_ids())
    four = flopsight.profile(TinyLM(), token_ids())
    d = diff(two, four)
    added = [m for m in d.modules if m.matched_by is MatchedBy.ADDED]
    block = ["", ".norm", ".fc1", ".act", ".fc2"]
    assert [m.path_b for m in added] == [f"layers.{i}{part}" for i in (2, 3) for part in block]
    for m in added:
        assert m.path_b is not None
        assert m.changes["forward_flops"].a == 0 and m.changes["forward_flops"].b == four.module(m.path_b).forward.flops
    layer_flops = four.module("layers.0").forward.flops
    assert d.total.changes["forward_flops"].delta == 2 * layer_flops
    matched = {m.path_a: m.changes["forward_flops"].delta for m in d.modules if m.matched_by is MatchedBy.PATH}
    assert len(matched) == len(list(two.modules())) - 1  # every module of A but the root (the total)
    assert matched.pop("layers") == 2 * layer_flops and set(matched.values()) == {0}  # the rest ran the same
    assert not any(m.matched_by is MatchedBy.REMOVED for m in d.modules)


class Wrapped(nn.Module):
    def __init__(self, name: str, width: int) -> None:
        super().__init__()
        self.add_module(name, mlp(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = next(iter(self.children()))(x)
        return out


def test_a_renamed_wrapper_lines_up_by_type() -> None:
    a = flopsight.profile(Wrapped("model", 8), input_shape=(N, IN))
    b = flopsight.profile(Wrapped("backbone", 16), input_shape=(N, IN))
    d = diff(a, b)
    assert [(m.path_a, m.path_b, m.matched_by) for m in d.modules] == [
        ("model", "backbone", MatchedBy.TYPE), ("model.0", "backbone.0", MatchedBy.PATH),
        ("model.1", "backbone.1", MatchedBy.PATH), ("model.2", "backbone.2", MatchedBy.PATH)]
    assert d.modules[0].label == "model -> backbone"
    assert d.modules[1].changes["params"].delta == (IN + 1) * (16 - 8)


def test_figures_are_compared_only_when_both_runs_have_them(narrow: flopsight.Profile) -> None:
    backward = flopsight.profile(mlp(16), input_shape=(N, IN), backward=True)
    assert "backward_flops" not in diff(narrow, backward).figures
    assert "backward_flops" in diff(backward, backward).figures
    remembered = flopsight.profile(mlp(8), input_shape=(N, IN), memory=True)
    assert "activation_bytes" in diff(remembered, remembered).figures
    assert "activation_bytes" not in diff(narrow, remembered).figures
    with pytest.raises(InputError, match="not a figure both runs have"):
        diff(narrow, backward, sort="backward_flops")
    with pytest.raises(InputError, match="not a figure"):
        diff(narrow, narrow, sort="speed")
    with pytest.raises(InputError, match="positive"):
        diff(narrow, narrow, top=0)


def test_json_reads_back_to_the_same_diff(narrow: flopsight.Profile, wide: flopsight.Profile) -> None:
    d = diff(narrow, wide, top=2)
    data = json.loads(render_diff(d, "json"))
    assert data == d.to_dict() and data["kind"] == "flopsight-diff"
    assert [m["path_a"] for m in data["modules"]] == ["0", "2"]
    assert data["modules"][0]["changes"]["forward_flops"] == {"a": 216, "b": 432, "delta": 216, "relative": 1.0}
    again = ProfileDiff.from_dict(data)
    assert again.to_dict() == data and str(again) == str(d)


def test_saved_files_compare_as_the_profiles_do(narrow: flopsight.Profile, wide: flopsight.Profile,
                                               tmp_path: Path) -> None:
    paths = []
    for name, profile in (("a.json", narrow), ("b.json", wide)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(profile.to_dict()))
    from_files = diff(*paths).to_dict()
    from_profiles = diff(narrow, wide).to_dict()
    assert from_files["a"] == str(paths[0]) and from_files["b"] == str(paths[1])
    assert {k: v for k, v in from_files.items() if k not in "ab"} == {k: v for k, v in from_profiles.items() if k not in "ab"}


def test_text_and_markdown_show_the_totals_and_each_ranked_module(narrow: flopsight.Profile,
                                                                  wide: flopsight.Profile) -> None:
    d = diff(narrow, wide)
    text = str(d)
    assert "modules: 3 matched by path, 0 by type, 0 added (only in B), 0 removed (only in A)" in text
    # fwd FLOPs of the whole model: 342 -> 678, +336 (+98.25%)
    assert any(line.split() == ["fwd", "FLOPs", "342", "FLOPs", "678", "FLOPs", "+336", "FLOPs", "+98.25%"]
               for line in text.splitlines())
    module_lines = text.split("largest first")[1].splitlines()[3:]
    assert [line.split()[0] for line in module_lines] == ["0", "2", "1"]
    markdown = render_diff(d, "markdown")
    assert "| fwd FLOPs | 342 FLOPs | 678 FLOPs | +336 FLOPs | +98.25% |" in markdown
    assert [line.split("|")[1].strip() for line in markdown.splitlines() if line.startswith("| `")] == ["`0`", "`2`", "`1`"]
