"""Closed forms of an encoder-only transformer (BERT, ViT, a CLIP tower), term by term.
Plain math.

Notation: B batch, s tokens per sample (BERT: the sequence; ViT and CLIP: (image / P)^2 patches
and a class token), T = B s, L layers, h hidden size, a heads, d = h / a, f the MLP's inner width,
V the vocabulary, C the colour channels, P the patch side, K the classifier's labels.
"""

from __future__ import annotations

from .shape import MASKED_LM, NO_HEAD, EncoderShape


def encoder_parameter_terms(shape: EncoderShape) -> dict[str, int]:
    """Parameters by component, as transformers builds the task model; they add up to its count.

    embedding  BERT: V h + positions h + types h (word, position, token type)
               ViT:  h + (s h) + C P^2 h + h (class token, positions, the patch projection and its bias;
               CLIP's projection has no bias);  CLIP text: V h + positions h
    attention  L (4 h a d + 3 a d + h)  (q, k, v, o and their biases; ViT without ``qkv_bias``: L (4 h a d + h))
    mlp        L (2 h f + f + h)        (two matrices and their biases)
    norms      2 h per LayerNorm: two per layer, and BERT's after the embeddings, ViT's final one,
               CLIP's pre- and post-LayerNorm
    head       BERT masked LM: h h + h + 2 h + V (transform, its LayerNorm, the decoder's bias;
               the decoder's V h is the word embedding, tied);  classifier: h K + K, and BERT's pooler h h + h;
               CLIPVisionModel: none
    """
    h, a, d, f, n_layers = shape.hidden, shape.heads, shape.head_dim, shape.intermediate, shape.layers
    if shape.patch_size:
        embedding = h + shape.image_tokens * h + shape.channels * shape.patch_size**2 * h + h * shape.patch_bias
    else:
        embedding = (shape.vocab + shape.positions + shape.type_vocab) * h
    attention = 4 * h * a * d + 3 * a * d * shape.qkv_bias + h
    mlp = 2 * h * f + f + h
    norms = (2 * n_layers + shape.outer_norms) * 2 * h
    if shape.head == NO_HEAD:
        head = 0
    elif shape.head == MASKED_LM:
        head = h * h + h + 2 * h + shape.vocab
    else:
        head = h * shape.labels + shape.labels + (h * h + h) * (shape.family == "bert")
    return {"embedding": embedding, "attention": n_layers * attention, "mlp": n_layers * mlp,
            "norms": norms, "head": head}


def attended_pairs(seq_len: int, *, causal: bool) -> int:
    """Query-key pairs one head scores: s^2 in full; s (s + 1) / 2 kept by a causal mask
    (the diagonal included; Megatron-LM's code rounds this to s^2 / 2)."""
    return seq_len * (seq_len + 1) // 2 if causal else seq_len * seq_len


def encoder_forward_terms(shape: EncoderShape, batch_size: int, seq_len: int, *, causal: bool = False) -> dict[str, int]:
    """Megatron-style forward FLOPs (2 per multiply-accumulate) per term; attention in full, or over
    the s (s + 1) / 2 pairs a causal mask keeps when ``causal`` and the tower is causal-masked (CLIP text).

    patch_embedding     2 B (s - 1) (C P^2) h   (ViT, CLIP: the conv as [patches, C P^2] x [C P^2, h])
    qkv_projections     2 T h 3 a d L
    attention_scores    2 B a P d L             (Q K^T; P = s^2, every pair, or s (s + 1) / 2 causal)
    attention_values    2 B a P d L             (softmax(Q K^T) V)
    output_projection   2 T a d h L
    mlp                 2 T 2 h f L
    head_transform      2 T h h                 (BERT masked LM: the dense before the decoder)
    pooler              2 B h h                 (BERT classifier: the first token's dense)
    logits              2 T h V                 (masked LM);  2 B h K (classifier, first token only);
                                                none for CLIPVisionModel and CLIPTextModel
    """
    h, a, d, f, n_layers = shape.hidden, shape.heads, shape.head_dim, shape.intermediate, shape.layers
    tokens = batch_size * seq_len
    pairs = attended_pairs(seq_len, causal=causal and shape.causal_mask)
    terms: dict[str, int] = {}
    if shape.patch_size:
        # [B patches, C P^2] @ [C P^2, h]
        terms["patch_embedding"] = 2 * batch_size * shape.patches * shape.channels * shape.patch_size**2 * h
    terms |= {
        "qkv_projections": 2 * tokens * h * 3 * a * d * n_layers,
        "attention_scores": 2 * batch_size * a * pairs * d * n_layers,
        "attention_values": 2 * batch_size * a * pairs * d * n_layers,
        "output_projection": 2 * tokens * a * d * h * n_layers,
        "mlp": 2 * tokens * 2 * h * f * n_layers,
    }
    if shape.head == NO_HEAD:
        return terms
    if shape.head == MASKED_LM:
        terms["head_transform"] = 2 * tokens * h * h
        terms["logits"] = 2 * tokens * h * shape.vocab
    else:
        if shape.family == "bert":
            terms["pooler"] = 2 * batch_size * h * h
        terms["logits"] = 2 * batch_size * h * shape.labels
    return terms


LAYER_TERMS = ("qkv_projections", "attention_scores", "attention_values", "output_projection", "mlp")
