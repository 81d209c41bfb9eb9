"""Closed forms of an encoder-decoder transformer (T5), term by term. Plain math.

Notation: B batch, s_e encoder tokens and s_d decoder tokens per sample, T_e = B s_e, T_d = B s_d,
L_e and L_d the layers of each stack, h hidden size (``d_model``), a heads, d head dimension
(``d_kv``; a d may differ from h), f the MLP's inner width (``d_ff``), m its input matrices (1 for
wi, 2 for the gated wi_0 and wi_1), V the vocabulary, R the relative-position buckets.
"""

from __future__ import annotations

from .shape import EncoderDecoderShape


def encoder_decoder_parameter_terms(shape: EncoderDecoderShape) -> dict[str, int]:
    """Parameters by component, as transformers builds the task model; they add up to its count.

    embedding               V h                 (``shared``: both stacks' token embedding)
    encoder_attention       L_e 4 h a d         (q, k, v, o; T5 has no biases)
    decoder_self_attention  L_d 4 h a d
    cross_attention         L_d 4 h a d         (q from the decoder, k and v from the encoder's output)
    mlp                     (L_e + L_d) (m + 1) h f
    position_bias           2 R a               (one table in the first layer of each stack)
    norms                   (2 L_e + 1 + 3 L_d + 1) h   (T5LayerNorm weights: one per sublayer, a final one per stack)
    head                    V h; 0 when tied to the embedding or without an lm_head (T5Model)
    """
    h, a, d, f = shape.hidden, shape.heads, shape.head_dim, shape.intermediate
    l_e, l_d = shape.layers, shape.decoder_layers
    attention = 4 * h * a * d
    return {
        "embedding": shape.vocab * h,
        "encoder_attention": l_e * attention,
        "decoder_self_attention": l_d * attention,
        "cross_attention": l_d * attention,
        "mlp": (l_e + l_d) * _mlp_matrices(shape) * h * f,
        "position_bias": 2 * shape.buckets * a,
        "norms": (2 * l_e + 1 + 3 * l_d + 1) * h,
        "head": shape.vocab * h if shape.lm_head and not shape.tied else 0,
    }


def stack_params(shape: EncoderDecoderShape) -> tuple[int, int]:
    """Kaplan's N of each stack, (encoder, decoder): its layers, its bias table and its norms;
    the decoder's includes the cross-attention. Embedding and head are in neither."""
    terms = encoder_decoder_parameter_terms(shape)
    h, l_e, l_d = shape.hidden, shape.layers, shape.decoder_layers
    table = shape.buckets * shape.heads
    mlp_per_layer = terms["mlp"] // (l_e + l_d)
    encoder = terms["encoder_attention"] + l_e * mlp_per_layer + table + (2 * l_e + 1) * h
    decoder = terms["decoder_self_attention"] + terms["cross_attention"] + l_d * mlp_per_layer + table + (3 * l_d + 1) * h
    return encoder, decoder


def encoder_decoder_forward_terms(shape: EncoderDecoderShape, batch_size: int, seq_len: int,
                                  decoder_seq_len: int, *, decoder_pairs: int) -> dict[str, int]:
    """Megatron-style forward FLOPs (2 per multiply-accumulate) per term.

    encoder_qkv_projections      2 T_e h 3 a d L_e
    encoder_attention_scores     2 B a s_e^2 d L_e        (Q K^T, bidirectional)
    encoder_attention_values     2 B a s_e^2 d L_e
    encoder_output_projection    2 T_e a d h L_e
    encoder_mlp                  2 T_e (m + 1) h f L_e
    decoder_qkv_projections      2 T_d h 3 a d L_d
    decoder_attention_scores     2 B a P d L_d            (P = s_d^2 full, s_d (s_d + 1) / 2 causal)
    decoder_attention_values     2 B a P d L_d
    decoder_output_projection    2 T_d a d h L_d
    cross_q_projection           2 T_d h a d L_d
    cross_kv_projections         2 T_e h 2 a d L_d        (k and v of the encoder's output, per decoder layer)
    cross_attention_scores       2 B a s_d s_e d L_d      (every decoder token scores every encoder token)
    cross_attention_values       2 B a s_d s_e d L_d
    cross_output_projection      2 T_d a d h L_d
    decoder_mlp                  2 T_d (m + 1) h f L_d
    logits                       2 T_d h V                (none for T5Model)
    """
    h, a, d, f = shape.hidden, shape.heads, shape.head_dim, shape.intermediate
    l_e, l_d, m = shape.layers, shape.decoder_layers, _mlp_matrices(shape) - 1
    b, s_e, s_d = batch_size, seq_len, decoder_seq_len
    t_e, t_d = b * s_e, b * s_d
    terms = {
        "encoder_qkv_projections": 2 * t_e * h * 3 * a * d * l_e,
        "encoder_attention_scores": 2 * b * a * s_e * s_e * d * l_e,
        "encoder_attention_values": 2 * b * a * s_e * s_e * d * l_e,
        "encoder_output_projection": 2 * t_e * a * d * h * l_e,
        "encoder_mlp": 2 * t_e * (m + 1) * h * f * l_e,
        "decoder_qkv_projections": 2 * t_d * h * 3 * a * d * l_d,
        "decoder_attention_scores": 2 * b * a * decoder_pairs * d * l_d,
        "decoder_attention_values": 2 * b * a * decoder_pairs * d * l_d,
        "decoder_output_projection": 2 * t_d * a * d * h * l_d,
        "cross_q_projection": 2 * t_d * h * a * d * l_d,
        "cross_kv_projections": 2 * t_e * h * 2 * a * d * l_d,
        "cross_attention_scores": 2 * b * a * s_d * s_e * d * l_d,
        "cross_attention_values": 2 * b * a * s_d * s_e * d * l_d,
        "cross_output_projection": 2 * t_d * a * d * h * l_d,
        "decoder_mlp": 2 * t_d * (m + 1) * h * f * l_d,
    }
    if shape.lm_head:
        terms["logits"] = 2 * t_d * h * shape.vocab
    return terms


def attention_per_step(shape: EncoderDecoderShape, batch_size: int, seq_len: int, decoder_seq_len: int) -> int:
    """PaLM's 4 L H Q T per token for each attention, attention in full: the encoder's self-attention
    (T = s_e on T_e tokens), the decoder's (s_d on T_d) and the cross-attention (s_e on T_d)."""
    a_d = shape.heads * shape.head_dim
    t_e, t_d = batch_size * seq_len, batch_size * decoder_seq_len
    return 4 * a_d * (shape.layers * seq_len * t_e + shape.decoder_layers * (decoder_seq_len + seq_len) * t_d)


def _mlp_matrices(shape: EncoderDecoderShape) -> int:
    """wi and wo; wi_0, wi_1 and wo when gated."""
    return 3 if shape.gated else 2
