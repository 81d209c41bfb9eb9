"""tree/module_match: two module trees lined up by path, else by type and order among siblings."""

from __future__ import annotations

from flopsight.tree.module_match import MatchedBy, match_modules
from flopsight.tree.module_node import ModuleNode


def node(name: str, type_: str, *children: ModuleNode, alias_of: str | None = None) -> ModuleNode:
    return ModuleNode(name=name, type=type_, children=list(children), alias_of=alias_of)


def llama(layers: int, wrapper: str = "model") -> ModuleNode:
    blocks = [node(f"{wrapper}.layers.{i}", "Block", node(f"{wrapper}.layers.{i}.mlp", "MLP")) for i in range(layers)]
    return node("", "ForCausalLM", node(wrapper, "Model", node(f"{wrapper}.layers", "ModuleList", *blocks)),
                node("lm_head", "Linear"))


def pairs(a: ModuleNode, b: ModuleNode) -> list[tuple[str | None, str | None, MatchedBy]]:
    return [(None if m.a is None else m.a.name, None if m.b is None else m.b.name, m.by) for m in match_modules(a, b)]


def test_the_same_paths_match_by_path_in_tree_order() -> None:
    found = pairs(llama(2), llama(2))
    names = [n.name for n in llama(2).walk()]
    assert found == [(name, name, MatchedBy.PATH) for name in names]


def test_extra_layers_are_added_with_their_subtree_and_missing_ones_removed() -> None:
    found = pairs(llama(2), llama(4))
    added = [(a, b) for a, b, by in found if by is MatchedBy.ADDED]
    assert added == [(None, "model.layers.2"), (None, "model.layers.2.mlp"),
                     (None, "model.layers.3"), (None, "model.layers.3.mlp")]
    assert sum(by is MatchedBy.PATH for _, _, by in found) == len(list(llama(2).walk()))
    removed = [(a, b) for a, b, by in pairs(llama(4), llama(2)) if by is MatchedBy.REMOVED]
    assert removed == [("model.layers.2", None), ("model.layers.2.mlp", None),
                       ("model.layers.3", None), ("model.layers.3.mlp", None)]


def test_a_renamed_wrapper_matches_by_type_and_its_descendants_by_name() -> None:
    found = pairs(llama(1, wrapper="model"), llama(1, wrapper="backbone"))
    assert found == [
        ("", "", MatchedBy.PATH),
        ("model", "backbone", MatchedBy.TYPE),
        ("model.layers", "backbone.layers", MatchedBy.PATH),
        ("model.layers.0", "backbone.layers.0", MatchedBy.PATH),
        ("model.layers.0.mlp", "backbone.layers.0.mlp", MatchedBy.PATH),
        ("lm_head", "lm_head", MatchedBy.PATH),
    ]


def test_type_matching_pairs_siblings_of_one_type_in_order_and_never_across_types() -> None:
    a = node("", "Net", node("fc1", "Linear"), node("act", "ReLU"), node("fc2", "Linear"))
    b = node("", "Net", node("up", "Linear"), node("down", "Linear"), node("norm", "LayerNorm"))
    assert pairs(a, b) == [("", "", MatchedBy.PATH), ("fc1", "up", MatchedBy.TYPE), ("act", None, MatchedBy.REMOVED),
                           ("fc2", "down", MatchedBy.TYPE), (None, "norm", MatchedBy.ADDED)]


def test_a_shared_modules_second_position_is_left_out() -> None:
    shared = node("left", "Block")
    a = node("", "Towers", shared, node("right", "Block", alias_of="left"))
    assert pairs(a, a) == [("", "", MatchedBy.PATH), ("left", "left", MatchedBy.PATH)]
