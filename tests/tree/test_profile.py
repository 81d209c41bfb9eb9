"""Parameters, the tree's sums, queries and the JSON round trip."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import flopsight
from flopsight import Phase
import zoo


def test_parameters_trainable_frozen_and_buffers() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model[0].bias.requires_grad_(False)
    p = flopsight.profile(model, torch.randn(2, 4))
    assert p.params == 4 * 3 + 3 + 3 + 3
    assert p.trainable_params == 4 * 3 + 3 + 3
    assert p.frozen_params == 3
    assert p.buffers == 3 + 3 + 1  # running mean, running var, num_batches_tracked
    assert p.module("0").own_params == 15 and p.module("1").params == 6


def test_every_parent_equals_children_plus_own_ops() -> None:
    p = flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (1, 6)), backward=True)
    for node in p.modules():
        for phase in (Phase.FORWARD, Phase.BACKWARD):
            children = sum(c.costs[phase].flops for c in node.children if c.alias_of is None)
            assert node.costs[phase].flops == node.own_costs[phase].flops + children, node.name
        assert node.params == node.own_params + sum(c.params for c in node.children if c.alias_of is None)
    assert sum(t.flops for t in p.by_op().values()) == p.total_flops


def test_round_trip_through_json_keeps_everything() -> None:
    p = flopsight.profile(zoo.SharedBlockModel(), torch.randn(2, 16), backward=True)
    data = json.loads(json.dumps(p.to_dict()))
    again = flopsight.Profile.from_dict(data)
    assert again.to_dict() == p.to_dict()
    assert again.module("left.0").calls == 2
    assert data["schema_version"] == 1
    assert data["metadata"]["conventions"]["attention"] == "full"
    assert data["metadata"]["backward_measured"] is True


def test_unknown_schema_version_is_refused() -> None:
    p = flopsight.profile(nn.Linear(2, 2), torch.randn(1, 2))
    data = p.to_dict()
    data["schema_version"] = 99
    with pytest.raises(flopsight.InputError, match="schema version"):
        flopsight.Profile.from_dict(data)


def test_module_lookup_suggests_close_names() -> None:
    p = flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (1, 4)))
    assert p.module("layers.1.mlp.up_proj").type == "Linear"
    with pytest.raises(flopsight.ModuleNotFound, match="did you mean 'layers.0.mlp'"):
        p.module("0.mlp")


def test_top_groups_modules_by_type_per_depth() -> None:
    sizes = zoo.LlamaSizes(layers=3)
    p = flopsight.profile(zoo.TinyLlama(sizes), torch.randint(0, sizes.vocab, (1, 4)))
    name, count, cost, params = p.top(depth=2, k=1)[0]
    assert (name, count) == ("LlamaBlock", 3)
    assert cost.macs == sum(p.module(f"layers.{i}").forward.macs for i in range(3))
    by_params = p.top(depth=1, k=2, by="params")
    assert [row[0] for row in by_params] == ["ModuleList", "Embedding"]
    with pytest.raises(flopsight.InputError):
        p.top(depth=1, by="speed")


def test_uncounted_ops_are_reported_with_call_counts() -> None:
    class Cholesky(nn.Module):
        def forward(self, a: torch.Tensor) -> torch.Tensor:
            return torch.linalg.cholesky(a @ a.mT + torch.eye(3))

    p = flopsight.profile(Cholesky(), torch.randn(3, 3))
    assert p.uncounted_ops == {"aten.linalg_cholesky_ex.default": 1}


def test_user_registered_formula_counts_its_op() -> None:
    op = torch.ops.aten.linalg_cholesky_ex

    @flopsight.register_cost(op)
    def cholesky_cost(a, *args, out, **kwargs):
        n = a.shape[-1]
        return flopsight.OpCost(flops=n**3 // 3)

    try:
        with pytest.raises(flopsight.RegistrationError):
            flopsight.register_cost(op)(cholesky_cost)
        p = flopsight.profile(nn.Identity(), torch.randn(4, 4))
        assert p.forward.flops == 0
        class Cholesky(nn.Module):
            def forward(self, a: torch.Tensor) -> torch.Tensor:
                return torch.linalg.cholesky(a)
        a = torch.eye(4) * 2
        p = flopsight.profile(Cholesky(), a)
        assert p.uncounted_ops == {} and p.forward.flops == 4**3 // 3
    finally:
        flopsight.unregister_cost(op)


def test_top_k_none_is_every_type_and_a_negative_k_is_refused() -> None:
    # TinyLlama depth 3 (inside each block): input_norm and post_norm (RMSNorm), self_attn
    # (LlamaAttention), mlp (LlamaMLP): three types.
    p = flopsight.profile(zoo.TinyLlama(), torch.randint(0, 64, (1, 4)))
    every = p.top(depth=3, k=None, by="params")
    assert sorted((name, count) for name, count, _, _ in every) == [
        ("LlamaAttention", 2), ("LlamaMLP", 2), ("RMSNorm", 4)
    ]
    for bad in (-1, 0, 1.5, True):
        with pytest.raises(flopsight.InputError, match="k takes None"):
            p.top(depth=3, k=bad)  # type: ignore[arg-type]


class SharedTwice(nn.Module):
    """One Linear under two attributes of the same parent, and a Sequential shared by two."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = self.a
        inner = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.left = nn.ModuleDict({"inner": inner})
        self.right = nn.ModuleDict({"inner": inner})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.right["inner"](self.left["inner"](self.b(self.a(x))))


@pytest.mark.parametrize("round_trip", [False, True])
def test_every_path_of_a_shared_module_finds_its_one_node(round_trip: bool) -> None:
    model = SharedTwice()
    p = flopsight.profile(model, torch.randn(2, 4))
    if round_trip:
        p = flopsight.Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    first: dict[int, str] = {}
    for path, module in model.named_modules():
        first.setdefault(id(module), path)
    paths = [(path, module) for path, module in model.named_modules(remove_duplicate=False)]
    # b, right.inner, right.inner.0, right.inner.1 are second paths
    assert {path for path, module in paths if first[id(module)] != path} == {
        "b", "right.inner", "right.inner.0", "right.inner.1"
    }
    for path, module in paths:
        node = p.module(path)
        assert (node.name, node.type) == (first[id(module)], type(module).__name__), path
    assert p.module("b") is p.module("a")
    # a ran twice (as a and as b): 2 calls x [2, 4] @ [4, 4] = 32 MACs each, counted once.
    assert p.module("b").forward.macs == 2 * (2 * 4 * 4)
    with pytest.raises(flopsight.ModuleNotFound):
        p.module("right.inner.2")
