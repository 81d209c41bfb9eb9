"""Closed forms of a dense decoder LLM: parameters, forward FLOPs, training FLOPs. Plain math.

Notation (Megatron's, with GQA and a gated MLP made explicit): B batch, s sequence length,
T = B s tokens, L layers, h hidden size, a query heads, g key/value heads, d head dimension
(a d may differ from h), f the MLP's inner width, V the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .encoder_decoder import (attention_per_step, encoder_decoder_forward_terms, encoder_decoder_parameter_terms,
                              stack_params)
from .dual_encoder import dual_attention_per_step, dual_forward_terms, dual_parameter_terms, tower_params
from .encoders import LAYER_TERMS, attended_pairs, encoder_forward_terms, encoder_parameter_terms
from .shape import DecoderShape, DualEncoderShape, EncoderDecoderShape, EncoderShape, ModelShape

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
    if isinstance(shape, EncoderDecoderShape):
        return encoder_decoder_parameter_terms(shape)
    if isinstance(shape, DualEncoderShape):
        return dual_parameter_terms(shape)
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
    if isinstance(shape, DualEncoderShape):  # both towers; the projections and logit_scale are its head
        return sum(tower_params(shape))
    terms = parameter_terms(shape)
    n = sum(terms.values()) - terms["embedding"] - terms["head"]
    if active and shape.experts:
        n -= terms["mlp"] // shape.experts * (shape.experts - shape.experts_per_token)
    return n


def megatron(shape: ModelShape, batch_size: int, seq_len: int, *, causal: bool,
             decoder_seq_len: int | None = None) -> ClosedForm:
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
    (``causal`` is ignored: an encoder attends both ways). An EncoderDecoderShape's are
    ``encoder_decoder.encoder_decoder_forward_terms`` for ``seq_len`` encoder and ``decoder_seq_len``
    decoder tokens (None: as many as the encoder's); ``causal`` applies to the decoder's self-attention.
    """
    if isinstance(shape, EncoderShape):
        return _encoder_megatron(shape, batch_size, seq_len, causal)
    if isinstance(shape, DualEncoderShape):
        return _dual_megatron(shape, batch_size, seq_len, causal)
    if isinstance(shape, EncoderDecoderShape):
        return _encoder_decoder_megatron(shape, batch_size, seq_len, decoder_seq_len or seq_len, causal)
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


def _encoder_megatron(shape: EncoderShape, batch_size: int, seq_len: int, causal: bool) -> ClosedForm:
    causal = causal and shape.causal_mask
    terms = encoder_forward_terms(shape, batch_size, seq_len, causal=causal)
    forward = sum(terms.values())
    layers = sum(terms[t] for t in LAYER_TERMS)
    attention = "CLIP's text tower is causal-masked" if shape.causal_mask else "an encoder's attention is full (bidirectional)"
    return ClosedForm(MEGATRON, terms, forward, 3 * forward, 3 * forward + layers, batch_size * seq_len, causal,
                      REFERENCES[MEGATRON],
                      [f"matmul-class FLOPs only: norms, softmax, activations and bias adds are not in it; {attention}"])


def _dual_megatron(shape: DualEncoderShape, batch_size: int, seq_len: int, causal: bool) -> ClosedForm:
    terms = dual_forward_terms(shape, batch_size, seq_len, causal=causal)
    forward = sum(terms.values())
    layers = sum(terms[f"{tower}_{t}"] for tower in ("vision", "text") for t in LAYER_TERMS)
    tokens = batch_size * (shape.vision.image_tokens + seq_len)
    return ClosedForm(MEGATRON, terms, forward, 3 * forward, 3 * forward + layers, tokens, causal, REFERENCES[MEGATRON],
                      ["matmul-class FLOPs only: norms, softmax, activations and bias adds are not in it; "
                       "per token means per image token + text token; the text tower is causal-masked"])


def _encoder_decoder_megatron(shape: EncoderDecoderShape, batch_size: int, seq_len: int, decoder_seq_len: int,
                              causal: bool) -> ClosedForm:
    pairs = attended_pairs(decoder_seq_len, causal=causal)
    terms = encoder_decoder_forward_terms(shape, batch_size, seq_len, decoder_seq_len, decoder_pairs=pairs)
    forward = sum(terms.values())
    layers = forward - terms.get("logits", 0)
    return ClosedForm(MEGATRON, terms, forward, 3 * forward, 3 * forward + layers,
                      batch_size * (seq_len + decoder_seq_len), causal, REFERENCES[MEGATRON],
                      ["matmul-class FLOPs only: norms, softmax, the position bias and activations are not in it; "
                       "per token means per encoder + decoder token"])


def kaplan_6n(shape: ModelShape, batch_size: int, seq_len: int, decoder_seq_len: int | None = None) -> ClosedForm:
    """Kaplan et al. 2020: 2N forward and 6N training FLOPs per token, N the non-embedding
    parameters (for MoE the active ones: k experts and the router); attention's
    context-dependent 2 L s d_attn and the logits are left out.

    An encoder-decoder (a rough form: Kaplan fits decoder-only models) runs each stack on its own
    tokens: 2 (N_e T_e + N_d T_d), N_e and N_d each stack's non-embedding parameters (the
    decoder's with the cross-attention, whose k and v really run on the encoder's tokens).
    """
    if isinstance(shape, EncoderDecoderShape):
        return _encoder_decoder_kaplan(shape, batch_size, seq_len, decoder_seq_len or seq_len)
    if isinstance(shape, DualEncoderShape):
        return _dual_kaplan(shape, batch_size, seq_len)
    tokens = batch_size * seq_len
    n = non_embedding_params(shape, active=True)
    forward = 2 * n * tokens
    return ClosedForm(KAPLAN, {"non_embedding_params": forward}, forward, 3 * forward, 4 * forward, tokens, False,
                      REFERENCES[KAPLAN],
                      [f"N = {n:,} {_active(shape)}non-embedding parameters; attention scores and logits are not in it"])


def _encoder_decoder_kaplan(shape: EncoderDecoderShape, batch_size: int, seq_len: int,
                            decoder_seq_len: int) -> ClosedForm:
    (n_e, n_d), t_e, t_d = stack_params(shape), batch_size * seq_len, batch_size * decoder_seq_len
    terms = {"encoder_params": 2 * n_e * t_e, "decoder_params": 2 * n_d * t_d}
    forward = sum(terms.values())
    return ClosedForm(KAPLAN, terms, forward, 3 * forward, 4 * forward, t_e + t_d, False, REFERENCES[KAPLAN],
                      [f"2 N per token of each stack: N_e = {n_e:,} on {t_e:,} encoder tokens, N_d = {n_d:,} "
                       f"on {t_d:,} decoder tokens (a rough form for an encoder-decoder); attention scores and "
                       "logits are not in it"])


def _dual_kaplan(shape: DualEncoderShape, batch_size: int, seq_len: int) -> ClosedForm:
    (n_v, n_t), t_v, t_t = tower_params(shape), batch_size * shape.vision.image_tokens, batch_size * seq_len
    terms = {"vision_params": 2 * n_v * t_v, "text_params": 2 * n_t * t_t}
    forward = sum(terms.values())
    return ClosedForm(KAPLAN, terms, forward, 3 * forward, 4 * forward, t_v + t_t, False, REFERENCES[KAPLAN],
                      [f"2 N per token of each tower: N_v = {n_v:,} on {t_v:,} image tokens, N_t = {n_t:,} on "
                       f"{t_t:,} text tokens; attention scores, the projections and the image-text logits are not in it"])


def palm(shape: ModelShape, batch_size: int, seq_len: int, decoder_seq_len: int | None = None) -> ClosedForm:
    """PaLM (Chowdhery et al. 2022, appendix B): 6N + 12 L H Q T training FLOPs per token,
    H the query heads, Q the head dimension, T the sequence length, attention in full; so the
    forward is 2N + 4 L H Q T per token. N is taken as Kaplan's non-embedding parameters.

    An encoder-decoder: Kaplan's per-stack 2 (N_e T_e + N_d T_d) and 4 L H Q T for each attention
    (``encoder_decoder.attention_per_step``: the encoder's, the decoder's and the cross-attention).
    """
    if isinstance(shape, DualEncoderShape):
        kaplan = _dual_kaplan(shape, batch_size, seq_len)
        terms = {**kaplan.terms, "attention": dual_attention_per_step(shape, batch_size, seq_len)}
        forward = sum(terms.values())
        return ClosedForm(PALM, terms, forward, 3 * forward, 4 * forward, kaplan.tokens, False, REFERENCES[PALM],
                          [kaplan.notes[0].split(";")[0] + "; attention counted in full; the projections and "
                           "logits are not in it"])
    if isinstance(shape, EncoderDecoderShape):
        s_d = decoder_seq_len or seq_len
        kaplan = _encoder_decoder_kaplan(shape, batch_size, seq_len, s_d)
        terms = {**kaplan.terms, "attention": attention_per_step(shape, batch_size, seq_len, s_d)}
        forward = sum(terms.values())
        return ClosedForm(PALM, terms, forward, 3 * forward, 4 * forward, kaplan.tokens, False, REFERENCES[PALM],
                          [kaplan.notes[0].split(";")[0] + "; attention counted in full; logits are not in it"])
    tokens = batch_size * seq_len
    n = non_embedding_params(shape, active=True)
    terms = {"non_embedding_params": 2 * n * tokens,
             "attention": 4 * shape.layers * shape.heads * shape.head_dim * seq_len * tokens}
    forward = sum(terms.values())
    return ClosedForm(PALM, terms, forward, 3 * forward, 4 * forward, tokens, False, REFERENCES[PALM],
                      [f"N = {n:,} {_active(shape)}non-embedding parameters; attention counted in full; logits are not in it"])


def _active(shape: ModelShape) -> str:
    return f"active ({shape.experts_per_token} of {shape.experts} experts) " if shape.experts else ""
