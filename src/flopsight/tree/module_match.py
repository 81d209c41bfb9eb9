"""Line up the module trees of two profiles, so that their figures can be compared module by module.

The roots always match. Below two matched modules, their children are paired in two passes:

1. by attribute name: ``layers.0`` with ``layers.0`` (the same path when the parents' paths agree);
2. what is left, by type and order among the siblings of that type: the first unmatched
   ``LlamaModel`` child of one with the first of the other, so a renamed wrapper (``model`` vs
   ``backbone``) still lines up, and so do its descendants.

A child left over on one side is added (only in B) or removed (only in A), with its whole
subtree. Positions of a shared module other than its first (``alias_of``) hold no figures and
are left out. Pure: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterator

from .module_node import ModuleNode

__all__ = ["Match", "MatchedBy", "match_modules"]


class MatchedBy(str, Enum):
    PATH = "path"  # the same attribute name under matched parents (the root: by definition)
    TYPE = "type"  # names differ: the same type, the same order among siblings of that type
    ADDED = "added"  # only in B
    REMOVED = "removed"  # only in A

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Match:
    """One module of A, of B, or of both (``a``/``b`` is None on the side it is missing from)."""

    a: ModuleNode | None
    b: ModuleNode | None
    by: MatchedBy


def match_modules(a: ModuleNode, b: ModuleNode) -> list[Match]:
    """Every module of either tree once, parents before children, A's order first.

    Example:
        Two llama-like models with 2 and 4 layers match ``layers.0`` and ``layers.1`` by path and
        list ``layers.2`` and ``layers.3`` as added.
    """
    return list(_match(a, b, MatchedBy.PATH))


def _match(a: ModuleNode, b: ModuleNode, by: MatchedBy) -> Iterator[Match]:
    yield Match(a, b, by)
    left, right = _counted(a), _counted(b)
    pairs: dict[int, tuple[ModuleNode, MatchedBy]] = {}  # index in left -> its partner in right
    by_name = {child.attribute: child for child in right}
    for i, child in enumerate(left):
        partner = by_name.get(child.attribute)
        if partner is not None:
            pairs[i] = (partner, MatchedBy.PATH)
    taken = {id(partner) for partner, _ in pairs.values()}
    spare: dict[str, list[ModuleNode]] = {}
    for child in right:
        if id(child) not in taken:
            spare.setdefault(child.type, []).append(child)
    for i, child in enumerate(left):
        if i not in pairs and spare.get(child.type):
            partner = spare[child.type].pop(0)
            pairs[i] = (partner, MatchedBy.TYPE)
            taken.add(id(partner))
    for i, child in enumerate(left):
        if i in pairs:
            partner, how = pairs[i]
            yield from _match(child, partner, how)
        else:
            yield from (Match(node, None, MatchedBy.REMOVED) for node in _subtree(child))
    for child in right:
        if id(child) not in taken:
            yield from (Match(None, node, MatchedBy.ADDED) for node in _subtree(child))


def _counted(node: ModuleNode) -> list[ModuleNode]:
    return [child for child in node.children if child.alias_of is None]


def _subtree(node: ModuleNode) -> Iterator[ModuleNode]:
    yield node
    for child in _counted(node):
        yield from _subtree(child)
