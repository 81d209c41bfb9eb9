"""Embeddings: a lookup is a gather (0 FLOPs), its backward a scatter-add; embedding bags add
(or compare) each gathered row into its bag."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_is_free_and_its_backward_scatter_adds(per_op, device) -> None:
    indices = torch.tensor([[1, 2, 3], [4, 5, 9]], device=device)
    p = flopsight.profile(nn.Embedding(10, 4, device=device), indices, backward=True)
    assert per_op(p) == {"aten.embedding.default": (1, 0, 0)}
    # 6 looked-up rows of 4: each gradient element is added into its row
    assert per_op(p, "backward") == {"aten.embedding_dense_backward.default": (1, 0, 6 * 4)}


def test_sparse_embedding_backward_is_free() -> None:
    indices = torch.tensor([[1, 2, 3], [4, 5, 9]])
    p = flopsight.profile(nn.Embedding(10, 4, sparse=True), indices, backward=True)
    # the sparse gradient keeps the 6 rows unsummed: no arithmetic
    assert p.backward.flops == 0
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("mode", "forward", "backward"), [
    # 6 gathered rows of 4 added into their bag; each bag gradient added back into its 3 rows
    ("sum", 6 * 4, 6 * 4),
    # mean also divides the [2, 4] output, and the [2, 4] gradient
    ("mean", 6 * 4 + 2 * 4, 6 * 4 + 2 * 4),
    # max compares the 6 rows; the gradient goes to the one argmax row per element
    ("max", 6 * 4, 2 * 4),
])
def test_embedding_bag(device, mode, forward, backward) -> None:
    indices = torch.tensor([[1, 2, 3], [4, 5, 6]], device=device)  # 2 bags of 3 rows
    p = flopsight.profile(nn.EmbeddingBag(10, 4, mode=mode, device=device), indices, backward=True)
    assert (p.forward.flops, p.backward.flops) == (forward, backward)
    assert p.uncounted_ops == {}
