"""The measured backward is the one ``loss.backward()`` would run: every leaf the graph reaches,
inputs that require grad whether leaves or not, and FSDP2's unsharded parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

import flopsight
from ranks import run_on_ranks


def test_non_leaf_input_gets_its_gradient() -> None:
    batch, features = 8, 64
    upstream = torch.randn(batch, features, requires_grad=True)
    x = upstream.clone()  # an activation of an earlier stage: requires grad, not a leaf
    p = flopsight.profile(nn.Linear(features, features), x, backward=True)
    product = batch * features * features
    assert p.forward.macs == product
    assert p.backward.macs == 2 * product  # weight gradient + input gradient
    assert upstream.grad is None


def test_parameter_free_model_differentiates_its_non_leaf_input() -> None:
    class Gram(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ x.transpose(-1, -2)

    rows, cols = 4, 8
    x = torch.randn(rows, cols, requires_grad=True) * 2  # non-leaf
    p = flopsight.profile(Gram(), x, backward=True)
    assert p.forward.macs == rows * rows * cols
    # d(x x^T): g @ x for the left operand and x^T @ g for the right, each rows*rows*cols MACs.
    assert p.backward.macs == 2 * rows * rows * cols


def test_leaf_input_of_a_frozen_model_is_still_differentiated() -> None:
    model = nn.Linear(16, 4).requires_grad_(False)
    x = torch.randn(2, 16, requires_grad=True)
    p = flopsight.profile(model, x, backward=True)
    assert p.backward.macs == 2 * 16 * 4  # input gradient only, no weight gradient
    assert x.grad is None


def _fsdp_rank(rank: int) -> dict[bool, tuple[int, int]]:
    from torch.distributed.fsdp import fully_shard

    torch.manual_seed(rank)
    figures = {}
    for reshard in (True, False):
        model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 8))
        for layer in (model[0], model[2], model[4]):
            fully_shard(layer, reshard_after_forward=reshard)
        fully_shard(model, reshard_after_forward=reshard)
        p = flopsight.profile(model, torch.randn(4, 16), backward=True)
        figures[reshard] = (p.forward.macs, p.backward.macs)
    return figures


def test_fsdp2_resharded_backward_counts_every_weight_gradient(tmp_path: Path) -> None:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("needs torch.distributed with gloo")
    figures = run_on_ranks(_fsdp_rank, 2, tmp_path)
    batch = 4
    forward = batch * (16 * 32 + 32 * 32 + 32 * 8)
    # Every weight gradient (as much as the forward) plus the input gradients of layers 2 and 3.
    backward = forward + batch * (32 * 32 + 32 * 8)
    for rank_figures in figures:
        assert rank_figures[False] == (forward, backward)
        assert rank_figures[True] == (forward, backward)
