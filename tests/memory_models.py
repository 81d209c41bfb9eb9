"""Small models for the memory tests, with float32 inputs of small shapes.

Each builder seeds torch so that two calls give two identical models (one for flopsight, one
for an oracle). The hand derivations of what each keeps live in the test files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


def conv_net() -> nn.Sequential:
    """Conv2d(3->8, 3x3, pad 1) -> BatchNorm2d(8) -> ReLU -> global average pool -> Linear(8->5);
    input [2, 3, 6, 6]."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 5))


class Attention(nn.Module):
    """Self-attention written out: q, k, v projections, SDPA over 2 heads, an output projection,
    then dropout (p=0: nothing runs); input [batch, seq, 16]."""

    def __init__(self, dim: int = 16, heads: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:  # [b, s, d] -> [b, h, s, d / h], a view
            return t.view(batch, seq, self.heads, dim // self.heads).transpose(1, 2)

        y = F.scaled_dot_product_attention(heads(self.q(x)), heads(self.k(x)), heads(self.v(x)))
        return self.drop(self.out(y.transpose(1, 2).reshape(batch, seq, dim)))  # type: ignore[no-any-return]


def attention(dropout: float = 0.0) -> Attention:
    torch.manual_seed(0)
    return Attention(dropout=dropout)


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention(16, 2, batch_first=True)`` on (x, x, x), its output only (no
    attention weights: the SDPA path)."""

    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x, x, x, need_weights=False)[0]  # type: ignore[no-any-return]


def self_attention() -> SelfAttention:
    torch.manual_seed(0)
    return SelfAttention()


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))  # type: ignore[no-any-return]


class CheckpointedNet(nn.Module):
    """Linear(16->16), then Block (16->32, ReLU, 32->16) under non-reentrant checkpointing when
    ``checkpointed``, then Linear(16->4); input [4, 16]."""

    def __init__(self, checkpointed: bool) -> None:
        super().__init__()
        self.checkpointed = checkpointed
        self.inp, self.block, self.head = nn.Linear(16, 16), Block(), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        h = checkpoint(self.block, h, use_reentrant=False) if self.checkpointed else self.block(h)
        return self.head(h)  # type: ignore[no-any-return]


def checkpointed_net(checkpointed: bool = True) -> CheckpointedNet:
    torch.manual_seed(0)
    return CheckpointedNet(checkpointed)


def mlp(activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear(16->32) -> activation -> Linear(32->8); input [4, 16]."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), activation(), nn.Linear(32, 8))


def frozen_mlp() -> nn.Sequential:
    """``mlp(nn.GELU)`` with its first Linear frozen."""
    model = mlp(nn.GELU)
    model[0].requires_grad_(False)
    return model


def shared_linear() -> nn.Sequential:
    """One Linear(16->16) called twice: Linear -> ReLU -> the same Linear -> GELU; input [4, 16]."""
    torch.manual_seed(0)
    linear = nn.Linear(16, 16)
    return nn.Sequential(linear, nn.ReLU(), linear, nn.GELU())


def encoder_layer() -> nn.TransformerEncoderLayer:
    """nn.TransformerEncoderLayer(16, 2 heads, feed-forward 32, dropout 0), training mode."""
    torch.manual_seed(0)
    return nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True)


def gru() -> nn.GRU:
    """A one-layer GRU, 8 -> 16, batch first; it returns (output, h_n)."""
    torch.manual_seed(0)
    return nn.GRU(8, 16, batch_first=True)


def tiny_bert() -> nn.Module:
    import transformers

    torch.manual_seed(0)
    options: dict[str, Any] = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=128, vocab_size=100, attn_implementation="sdpa")
    model: nn.Module = transformers.BertModel(transformers.BertConfig(**options))
    return model.train()


def tiny_llama(**overrides: Any) -> nn.Module:
    import transformers

    torch.manual_seed(0)
    options: dict[str, Any] = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, intermediate_size=128, vocab_size=100,
                                   attn_implementation="sdpa", use_cache=False)
    options.update(overrides)
    model: nn.Module = transformers.LlamaModel(transformers.LlamaConfig(**options))
    return model.train()


def token_ids() -> torch.Tensor:
    """[1, 8] token ids below 100."""
    return torch.arange(8).reshape(1, 8) * 7 % 100


def hidden_states(output: Any) -> torch.Tensor:
    """The loss of a transformers model: the sum of its last hidden state."""
    return output.last_hidden_state.sum()  # type: ignore[no-any-return]


def first_output(output: Any) -> torch.Tensor:
    """The loss of a model returning (output, state): the sum of its output."""
    return output[0].sum()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Case:
    """A model and its inputs for the oracle and property tests: two ``build()`` calls give two
    identical models, two ``inputs()`` calls equal inputs."""

    build: Callable[[], nn.Module]
    shape: tuple[int, ...] | None = None  # a float32 input of this shape; None: token ids
    loss_fn: Callable[[Any], torch.Tensor] | None = None
    needs: str | None = None  # a package to import first ("transformers")

    def inputs(self) -> tuple[torch.Tensor, ...]:
        if self.shape is None:
            return (token_ids(),)
        return (torch.randn(*self.shape, generator=torch.Generator().manual_seed(1)),)


CASES: dict[str, Case] = {
    "conv net": Case(conv_net, (2, 3, 6, 6)),
    "attention": Case(attention, (2, 5, 16)),
    "attention with dropout": Case(lambda: attention(dropout=0.1), (2, 5, 16)),
    "multihead attention": Case(self_attention, (2, 5, 16)),
    "mlp": Case(mlp, (4, 16)),
    "frozen mlp": Case(frozen_mlp, (4, 16)),
    "unchecked block": Case(lambda: checkpointed_net(False), (4, 16)),
    "checkpointed block": Case(checkpointed_net, (4, 16)),
    "shared linear": Case(shared_linear, (4, 16)),
    "encoder layer": Case(encoder_layer, (2, 5, 16)),
    "gru": Case(gru, (2, 5, 8), loss_fn=first_output),
    "tiny bert": Case(tiny_bert, loss_fn=hidden_states, needs="transformers"),
    "tiny llama": Case(tiny_llama, loss_fn=hidden_states, needs="transformers"),
}
