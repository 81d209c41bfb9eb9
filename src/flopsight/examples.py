"""A small decoder-only transformer in plain PyTorch, to try flopsight without any extra.

``flopsight example`` profiles it; the sizes are those of a GPT-style model with 6 layers of
width 256 (6,967,296 parameters with tied embeddings), small enough to run anywhere.

Example:
    >>> import flopsight
    >>> from flopsight.examples import TinyTransformer, example_inputs
    >>> model = TinyTransformer()
    >>> p = flopsight.profile(model, example_inputs(model))
    >>> p.params
    6967296
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True, slots=True)
class TinyConfig:
    """Sizes of the example model."""

    vocab_size: int = 8192
    max_positions: int = 512
    hidden: int = 256
    layers: int = 6
    heads: int = 4
    mlp_ratio: int = 4


class Attention(nn.Module):
    """Causal multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.hidden, 3 * config.hidden)
        self.out = nn.Linear(config.hidden, config.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, hidden = x.shape
        # x: [batch, seq, hidden] -> q, k, v: [batch, heads, seq, hidden / heads]
        q, k, v = self.qkv(x).view(batch, seq, 3, self.heads, hidden // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: torch.Tensor = self.out(y.transpose(1, 2).reshape(batch, seq, hidden))
        return out


class MLP(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.hidden, config.mlp_ratio * config.hidden)
        self.down = nn.Linear(config.mlp_ratio * config.hidden, config.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.down(F.gelu(self.up(x)))
        return out


class Block(nn.Module):
    """Pre-norm residual block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(config.hidden)
        self.attn = Attention(config)
        self.ln_mlp = nn.LayerNorm(config.hidden)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_attn(x))
        out: torch.Tensor = x + self.mlp(self.ln_mlp(x))
        return out


class TinyTransformer(nn.Module):
    """A GPT-style language model: token and position embeddings, blocks, tied LM head."""

    def __init__(self, config: TinyConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or TinyConfig()
        self.embed = nn.Embedding(config.vocab_size, config.hidden)
        self.positions = nn.Embedding(config.max_positions, config.hidden)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_out = nn.LayerNorm(config.hidden)
        self.lm_head = nn.Linear(config.hidden, config.vocab_size, bias=False)
        self.lm_head.weight = self.embed.weight  # tied: counted once

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embed(input_ids) + self.positions(positions)
        for block in self.blocks:
            x = block(x)
        logits: torch.Tensor = self.lm_head(self.ln_out(x))  # [batch, seq, vocab]
        return logits


def example_inputs(model: TinyTransformer, *, batch_size: int = 1, seq_len: int = 128) -> torch.Tensor:
    """Token ids of shape [batch_size, seq_len] on the model's device."""
    if not 1 <= seq_len <= model.config.max_positions:
        raise ValueError(f"seq_len must be between 1 and {model.config.max_positions}, got {seq_len}")
    device = model.embed.weight.device
    return torch.zeros(batch_size, seq_len, dtype=torch.long, device=device)
