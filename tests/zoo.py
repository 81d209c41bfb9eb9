"""Small models built for the tests, each with the analytic count of its matmul-class MACs.

The analytic counts are written out from the layer sizes here, independently of flopsight.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LlamaSizes:
    vocab: int = 64
    hidden: int = 32
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 48
    layers: int = 2

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + 1e-6))


class LlamaAttention(nn.Module):
    def __init__(self, s: LlamaSizes) -> None:
        super().__init__()
        self.s = s
        self.q_proj = nn.Linear(s.hidden, s.heads * s.head_dim, bias=False)
        self.k_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.v_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.o_proj = nn.Linear(s.heads * s.head_dim, s.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        s = self.s
        q = self.q_proj(x).view(b, t, s.heads, s.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, s.kv_heads, s.head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class LlamaMLP(nn.Module):
    def __init__(self, s: LlamaSizes) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.up_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.down_proj = nn.Linear(s.intermediate, s.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, s: LlamaSizes) -> None:
        super().__init__()
        self.input_norm = RMSNorm(s.hidden)
        self.self_attn = LlamaAttention(s)
        self.post_norm = RMSNorm(s.hidden)
        self.mlp = LlamaMLP(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_norm(x))
        return x + self.mlp(self.post_norm(x))


class TinyLlama(nn.Module):
    def __init__(self, s: LlamaSizes = LlamaSizes(), tie: bool = False) -> None:
        super().__init__()
        self.sizes = s
        self.embed = nn.Embedding(s.vocab, s.hidden)
        self.layers = nn.ModuleList(LlamaBlock(s) for _ in range(s.layers))
        self.norm = RMSNorm(s.hidden)
        self.lm_head = nn.Linear(s.hidden, s.vocab, bias=False)
        if tie:
            self.lm_head.weight = self.embed.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


def llama_layer_linear_macs(s: LlamaSizes, tokens: int) -> int:
    q = tokens * s.hidden * s.heads * s.head_dim
    kv = 2 * tokens * s.hidden * s.kv_heads * s.head_dim
    o = tokens * s.heads * s.head_dim * s.hidden
    mlp = 3 * tokens * s.hidden * s.intermediate
    return q + kv + o + mlp


def llama_layer_attention_macs(s: LlamaSizes, batch: int, seq: int) -> int:
    # Q K^T and P V over every (query, key) pair of every query head.
    return 2 * batch * s.heads * seq * seq * s.head_dim


def llama_forward_macs(s: LlamaSizes, batch: int, seq: int) -> int:
    tokens = batch * seq
    per_layer = llama_layer_linear_macs(s, tokens) + llama_layer_attention_macs(s, batch, seq)
    return s.layers * per_layer + tokens * s.hidden * s.vocab


class BertLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden)
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)
        self.out_norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = self.attn_norm(x + self.attn_out(attn.transpose(1, 2).reshape(b, t, h)))
        return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))


class TinyBert(nn.Module):
    def __init__(self, vocab: int = 50, hidden: int = 32, heads: int = 4, intermediate: int = 64,
                 layers: int = 2, max_positions: int = 16) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(max_positions, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(BertLayer(hidden, heads, intermediate) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.norm(self.word(ids) + self.position(positions))
        mask = keep[:, None, None, :]  # [B, 1, 1, S] boolean: True = attend
        for layer in self.layers:
            x = layer(x, mask)
        return torch.tanh(self.pooler(x[:, 0]))


def bert_forward_macs(batch: int, seq: int, hidden: int = 32, heads: int = 4, intermediate: int = 64,
                      layers: int = 2) -> int:
    tokens = batch * seq
    linears = 4 * tokens * hidden * hidden + 2 * tokens * hidden * intermediate
    attention = 2 * batch * heads * seq * seq * (hidden // heads)
    return layers * (linears + attention) + batch * hidden * hidden


class TinyCNN(nn.Module):
    """conv3x3(3->8) BN ReLU maxpool2 | grouped conv3x3(8->16, groups=2) | avgpool | linear(16->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, groups=2, bias=False)
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.adaptive_avg_pool2d(F.relu(self.conv2(x)), 1).flatten(1)
        return self.head(x)


def cnn_forward_macs(batch: int, size: int) -> int:
    conv1 = batch * 8 * size * size * 3 * 3 * 3  # each output element: Cin x 3 x 3
    half = size // 2
    conv2 = batch * 16 * half * half * (8 // 2) * 3 * 3  # Cin/groups x 3 x 3
    head = batch * 16 * 10
    return conv1 + conv2 + head


class SharedBlockModel(nn.Module):
    """One Linear block reachable from two parents, called once through each."""

    def __init__(self) -> None:
        super().__init__()
        shared = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
        self.left = nn.Sequential(shared, nn.Linear(16, 16))
        self.right = nn.Sequential(shared)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.right(self.left(x))
