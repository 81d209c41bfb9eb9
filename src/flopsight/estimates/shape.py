"""The sizes a decoder LLM's closed forms need, read from a config by attribute. No torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InputError

# model_type -> (q, k, v carry a bias, o carries a bias, the MLP carries a bias) when the
# architecture fixes them; None: read Llama's ``attention_bias`` / ``mlp_bias``.
DENSE_DECODERS: dict[str, tuple[bool, bool, bool] | None] = {
    "llama": None,
    "mistral": (False, False, False),
    "qwen2": (True, False, False),
    "mixtral": (False, False, False),  # and a sparse MoE block: E experts, k per token, a router
}


@dataclass(frozen=True, slots=True)
class DecoderShape:
    """A decoder-only transformer with grouped-query attention and a gated (SwiGLU) MLP, dense
    or a mixture of experts (each expert a gated MLP of width f, a linear router, top-k).

    Attributes:
        family: the config's ``model_type`` ("llama", "mistral", "qwen2").
        vocab: V, hidden: h, layers: L, heads: a (query heads), kv_heads: g (key/value heads),
        head_dim: d (a x d may differ from h), intermediate: f (the MLP's inner width).
        qkv_bias, o_bias, mlp_bias: which projections carry a bias vector.
        tied: the output head reuses the input embedding (counted once).
        experts: E, the experts per MoE block (0: a dense MLP); experts_per_token: k.
    """

    family: str
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    tied: bool = False
    experts: int = 0
    experts_per_token: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decoder_shape(config: Any) -> DecoderShape:
    """The DecoderShape of a transformers config object (read by attribute only).

    Raises:
        InputError: the config is not one of the dense decoders with closed forms here.
    """
    family = str(getattr(config, "model_type", "") or type(config).__name__)
    if family not in DENSE_DECODERS:
        raise InputError(f"closed forms for {family} are not implemented yet "
                         f"(implemented: {', '.join(sorted(DENSE_DECODERS))})")
    hidden = int(config.hidden_size)
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or hidden // heads)
    fixed = DENSE_DECODERS[family]
    if fixed is None:
        attention_bias = bool(getattr(config, "attention_bias", False))
        fixed = (attention_bias, attention_bias, bool(getattr(config, "mlp_bias", False)))
    return DecoderShape(
        family=family, vocab=int(config.vocab_size), hidden=hidden, layers=int(config.num_hidden_layers),
        heads=heads, kv_heads=kv_heads, head_dim=head_dim, intermediate=int(config.intermediate_size),
        qkv_bias=fixed[0], o_bias=fixed[1], mlp_bias=fixed[2],
        tied=bool(getattr(config, "tie_word_embeddings", False)),
        experts=int(getattr(config, "num_local_experts", 0) or 0),
        experts_per_token=int(getattr(config, "num_experts_per_tok", 0) or 0),
    )
