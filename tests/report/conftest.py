"""Small deterministic models and their profiles, shared by the report tests.

Counts depend only on shapes, so the weights (and the seed) do not change any figure.
Sizes: hidden 16, MLP 64, vocab 100, input 2 x 8 = 16 tokens.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight

HIDDEN, MLP, VOCAB, BATCH, SEQ = 16, 64, 100, 2, 8
TOKENS = BATCH * SEQ


class Block(nn.Module):
    """x + fc2(gelu(fc1(norm(x)))): the residual add is the block's own op."""

    def __init__(self, hidden: int = HIDDEN, mlp: int = MLP, bias: bool = True) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, mlp, bias=bias)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.fc2(self.act(self.fc1(self.norm(x))))
        return out


class TinyLM(nn.Module):
    """embed -> 4 blocks in a ModuleList -> head; ``blocks`` replaces the four identical ones."""

    def __init__(self, blocks: list[nn.Module] | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList(blocks if blocks is not None else [Block() for _ in range(4)])
        self.head = nn.Linear(HIDDEN, VOCAB, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x)
        logits: torch.Tensor = self.head(x)
        return logits


class Tower(nn.Module):
    def __init__(self, shared: nn.Module) -> None:
        super().__init__()
        self.shared = shared
        self.out = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.out(self.shared(x))
        return out


class TwoTowers(nn.Module):
    """One Block held by two parents (left.shared and right.shared) and run through both."""

    def __init__(self) -> None:
        super().__init__()
        shared = Block()
        self.left = Tower(shared)
        self.right = Tower(shared)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.left(x) + self.right(x)
        return out


def token_ids() -> torch.Tensor:
    return (torch.arange(TOKENS) % VOCAB).view(BATCH, SEQ)


@pytest.fixture(scope="module")
def tiny_profile() -> flopsight.Profile:
    torch.manual_seed(0)
    return flopsight.profile(TinyLM(), token_ids())


@pytest.fixture(scope="module")
def tiny_memory_profile() -> flopsight.Profile:
    torch.manual_seed(0)
    return flopsight.profile(TinyLM(), token_ids(), backward=True, memory=True)


@pytest.fixture(scope="module")
def tiny_backward_profile() -> flopsight.Profile:
    torch.manual_seed(0)
    return flopsight.profile(TinyLM(), token_ids(), backward=True)


@pytest.fixture(scope="module")
def towers_profile() -> flopsight.Profile:
    torch.manual_seed(0)
    return flopsight.profile(TwoTowers(), torch.ones(BATCH, SEQ, HIDDEN), backward=True)
