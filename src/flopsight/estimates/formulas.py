"""Closed forms of a dense decoder LLM: parameters, forward FLOPs, training FLOPs. Plain math.

Notation (Megatron's, with GQA and a gated MLP made explicit): B batch, s sequence length,
T = B s tokens, L layers, h hidden size, a query heads, g key/value heads, d head dimension
(a d may differ from h), f the MLP's inner width, V the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .encoders import LAYER_TERMS, encoder_forward_terms, encoder_parameter_terms
from .shape import DecoderShape, EncoderShape, ModelShape

MEGATRON = "megatron"
KAPLAN = "kaplan_6n"
PALM = "palm"

REFERENCES = {
    MEGATRON: "Narayanan et al. 2021, Efficient Large-Scale Language Model Training on GPU Clusters "
              "Using Megatron-LM, appendix (FLOPs per iteration), with GQA and a gated MLP term by term",
    KAPLAN: "Kaplan et al. 2020, Scaling Laws for Neural Language Models, section 2.1 (C = 6N per token)",
    PALM: "Chowdhery et al. 2022, PaLM: Scaling Language Modeling with Pathways, appendix B "
          "(6N + 12 L H Q T per token)",
}


@dataclass(frozen=True, slots=True)
class ClosedForm:
    """One closed form for one step of B x s tokens, named by its source.

    Attributes:
        source: "megatron", "kaplan_6n" or "palm".
        terms: forward FLOPs per step, per term; they add up to ``forward``.
        forward: forward FLOPs per step.
        training: model FLOPs of a training step (forward + backward, backward = 2 x forward).
        hardware: FLOPs the hardware runs with full activation recomputation: ``training`` plus
            one more forward of what is recomputed (every layer; Megatron's logits are not).
        tokens: B x s, to turn per step into per token.
    """

    source: str
    terms: dict[str, int]
    forward: int
    training: int
    hardware: int
    tokens: int
    causal: bool = False
    reference: str = ""
    notes: list[str] = field(default_factory=list)

    def per_token(self, value: int) -> float:
        return value / self.tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "reference": self.reference, "causal": self.causal, "terms": dict(self.terms),
            "forward_flops": self.forward, "training_flops": self.training, "hardware_flops": self.hardware,
            "forward_flops_per_token": self.per_token(self.forward),
            "training_flops_per_token": self.per_token(self.training),
            "hardware_flops_per_token": self.per_token(self.hardware), "notes": list(self.notes),
        }


def parameter_terms(shape: ModelShape) -> dict[str, int]:
    """Parameters by component; ``sum(values)`` is the model's parameter count (tied head once).
    An EncoderShape's are ``encoders.encoder_parameter_terms``; a decoder's:

    embedding  V h
    attention  L (h a d + 2 h g d + a d h  [+ a d + 2 g d for q/k/v biases]  [+ h for an o bias])
    mlp        L 3 h f                      [+ 2 f + h for biases]   (gate, up, down)
               L E 3 h f for a mixture of E experts, and a router of L h E
    norms      (2 L + 1) h                  (RMSNorm weights: two per layer and a final one)
    head       V h, 0 when tied to the embedding
    """
    if isinstance(shape, EncoderShape):
        return encoder_parameter_terms(shape)
    h, a, g, d, f, n_layers = shape.hidden, shape.heads, shape.kv_heads, shape.head_dim, shape.intermediate, shape.layers
    attention = h * a * d + 2 * h * g * d + a * d * h
    attention += (a * d + 2 * g * d) * shape.qkv_bias + h * shape.o_bias
    mlp = 3 * h * f + (2 * f + h) * shape.mlp_bias
    terms = {"embedding": shape.vocab * h, "attention": n_layers * attention, "mlp": n_layers * mlp}
    if shape.experts:
        terms["mlp"] *= shape.experts
        terms["router"] = n_layers * h * shape.experts
    return {**terms, "norms": (2 * n_layers + 1) * h, "head": 0 if shape.tied else shape.vocab * h}


def non_embedding_params(shape: ModelShape, *, active: bool = False) -> int:
    """Kaplan's N: every parameter but the vocabulary matrices (embedding and untied head);
    for an encoder, all but the embeddings (ViT's patch projection among them) and the task head.

    ``active=True``: of a mixture of experts only the k experts a token runs (and the router),
    the N that 6N and PaLM use for MoE models; a dense model's N either way.
    """
    terms = parameter_terms(shape)
    n = sum(terms.values()) - terms["embedding"] - terms["head"]
    if active and shape.experts:
        n -= terms["mlp"] // shape.experts * (shape.experts - shape.experts_per_token)
    return n


def attended_pairs(seq_len: int, *, causal: bool) -> int:
    """Query-key pairs one head scores: s^2 in full; s (s + 1) / 2 kept by a causal mask
    (the diagonal included; Megatron-LM's code rounds this to s^2 / 2)."""
    return seq_len * (seq_len + 1) // 2 if causal else seq_len * seq_len


def megatron(shape: ModelShape, batch_size: int, seq_len: int, *, causal: bool) -> ClosedForm:
    """Megatron's FLOPs with attention (Narayanan et al. 2021, appendix), term by term.

    The paper, for a GPT layer (a d = h, g = a, a 2-matrix MLP of width 4h), counts forward
    FLOPs per layer as 24 B s h^2 + 4 B s^2 h and the logits as 2 B s h V, so a training step
    with full recomputation costs F = 96 B s L h^2 (1 + s / 6h + V / 16 L h). Here each term is
    written for GQA and a gated MLP (2 FLOPs per multiply-accumulate):

    qkv_projections     2 T h (a d + 2 g d) L   (the paper's 6 B s h^2 when g = a, a d = h)
    attention_scores    2 B a P d L             (Q K^T; P = s^2 full, s (s + 1) / 2 causal)
    attention_values    2 B a P d L             (softmax(Q K^T) V)
    output_projection   2 T a d h L             (the paper's 2 B s h^2)
    mlp                 2 T 3 h f L             (gate, up, down; the paper's 16 B s h^2 is 2 x 2 T h 4h)
                        2 T k 3 h f L           for a mixture of experts, k experts per token
    router              2 T h E L               (MoE only: the router's logits over E experts)
    logits              2 T h V

    Training is 3 x forward (backward = 2 x forward); with full activation recomputation the
    hardware also runs every layer's forward once more (the logits are not recomputed).

    An EncoderShape's terms are ``encoders.encoder_forward_terms``, attention always in full
    (``causal`` is ignored: an encoder attends both ways).
    """
    if isinstance(shape, EncoderShape):
        return _encoder_megatron(shape, batch_size, seq_len)
    h, a, g, d, f, n_layers = shape.hidden, shape.heads, shape.kv_heads, shape.head_dim, shape.intermediate, shape.layers
    tokens = batch_size * seq_len
    pairs = attended_pairs(seq_len, causal=causal)
    terms = {
        "qkv_projections": 2 * tokens * h * (a * d + 2 * g * d) * n_layers,
        "attention_scores": 2 * batch_size * a * pairs * d * n_layers,
        "attention_values": 2 * batch_size * a * pairs * d * n_layers,
        "output_projection": 2 * tokens * a * d * h * n_layers,
        "mlp": 2 * tokens * (shape.experts_per_token or 1) * 3 * h * f * n_layers,
    }
    if shape.experts:
        terms["router"] = 2 * tokens * h * shape.experts * n_layers
    terms["logits"] = 2 * tokens * h * shape.vocab
    forward = sum(terms.values())
    layers = forward - terms["logits"]
    return ClosedForm(MEGATRON, terms, forward, 3 * forward, 3 * forward + layers, tokens, causal,
                      REFERENCES[MEGATRON],
                      ["matmul-class FLOPs only: norms, softmax, activations and residual adds are not in it"])


def _encoder_megatron(shape: EncoderShape, batch_size: int, seq_len: int) -> ClosedForm:
    terms = encoder_forward_terms(shape, batch_size, seq_len)
    forward = sum(terms.values())
    layers = sum(terms[t] for t in LAYER_TERMS)
    return ClosedForm(MEGATRON, terms, forward, 3 * forward, 3 * forward + layers, batch_size * seq_len, False,
                      REFERENCES[MEGATRON],
                      ["matmul-class FLOPs only: norms, softmax, activations and bias adds are not in it; "
                       "an encoder's attention is full (bidirectional)"])


def kaplan_6n(shape: ModelShape, batch_size: int, seq_len: int) -> ClosedForm:
    """Kaplan et al. 2020: 2N forward and 6N training FLOPs per token, N the non-embedding
    parameters (for MoE the active ones: k experts and the router); attention's
    context-dependent 2 L s d_attn and the logits are left out."""
    tokens = batch_size * seq_len
    n = non_embedding_params(shape, active=True)
    forward = 2 * n * tokens
    return ClosedForm(KAPLAN, {"non_embedding_params": forward}, forward, 3 * forward, 4 * forward, tokens, False,
                      REFERENCES[KAPLAN],
                      [f"N = {n:,} {_active(shape)}non-embedding parameters; attention scores and logits are not in it"])


def palm(shape: ModelShape, batch_size: int, seq_len: int) -> ClosedForm:
    """PaLM (Chowdhery et al. 2022, appendix B): 6N + 12 L H Q T training FLOPs per token,
    H the query heads, Q the head dimension, T the sequence length, attention in full; so the
    forward is 2N + 4 L H Q T per token. N is taken as Kaplan's non-embedding parameters."""
    tokens = batch_size * seq_len
    n = non_embedding_params(shape, active=True)
    terms = {"non_embedding_params": 2 * n * tokens,
             "attention": 4 * shape.layers * shape.heads * shape.head_dim * seq_len * tokens}
    forward = sum(terms.values())
    return ClosedForm(PALM, terms, forward, 3 * forward, 4 * forward, tokens, False, REFERENCES[PALM],
                      [f"N = {n:,} {_active(shape)}non-embedding parameters; attention counted in full; logits are not in it"])


def _active(shape: ModelShape) -> str:
    return f"active ({shape.experts_per_token} of {shape.experts} experts) " if shape.experts else ""
