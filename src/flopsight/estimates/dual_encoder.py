"""Closed forms of CLIP's dual encoder (CLIPModel), term by term: each tower's terms
(``encoders``) under its prefix, the two projections and the image-text logits. Plain math.

Notation: B images and B captions, s_v = (image / P)^2 + 1 image tokens, s_t text tokens,
h_v and h_t the towers' hidden sizes, p ``projection_dim``.
"""

from __future__ import annotations

from .encoders import encoder_forward_terms, encoder_parameter_terms
from .shape import DualEncoderShape, EncoderShape


def dual_parameter_terms(shape: DualEncoderShape) -> dict[str, int]:
    """Parameters by component; they add up to CLIPModel's count.

    vision_*, text_*  each tower's ``encoder_parameter_terms`` (no head)
    projections       p h_v + p h_t   (visual_projection, text_projection; no bias)
    logit_scale       1
    """
    terms = {f"{name}_{part}": count for name, tower in _towers(shape)
             for part, count in encoder_parameter_terms(tower).items() if part != "head"}
    terms["projections"] = shape.projection_dim * (shape.vision.hidden + shape.text.hidden)
    terms["logit_scale"] = 1
    return terms


def tower_params(shape: DualEncoderShape) -> tuple[int, int]:
    """Kaplan's N of each tower, (vision, text): all but its embeddings (the patch projection
    among the vision tower's). The projections and logit_scale are in neither."""
    vision, text = (sum(v for k, v in encoder_parameter_terms(t).items() if k not in ("embedding", "head"))
                    for _, t in _towers(shape))
    return vision, text


def dual_forward_terms(shape: DualEncoderShape, batch_size: int, seq_len: int, *, causal: bool) -> dict[str, int]:
    """Megatron-style forward FLOPs per term, 2 per multiply-accumulate.

    vision_*            ``encoder_forward_terms`` of the vision tower on s_v tokens (attention in full)
    text_*              of the text tower on s_t = ``seq_len`` tokens (causal-masked when ``causal``)
    projections         2 B h_v p + 2 B h_t p   (the pooled class and EOS tokens only)
    contrastive_logits  2 B B p                 (image_embeds [B, p] x text_embeds^T [p, B]; logits_per_text is its transpose)
    """
    p, b = shape.projection_dim, batch_size
    terms = {f"vision_{k}": v for k, v in encoder_forward_terms(shape.vision, b, shape.vision.image_tokens).items()}
    terms |= {f"text_{k}": v for k, v in encoder_forward_terms(shape.text, b, seq_len, causal=causal).items()}
    terms["projections"] = 2 * b * shape.vision.hidden * p + 2 * b * shape.text.hidden * p
    terms["contrastive_logits"] = 2 * b * b * p
    return terms


def dual_attention_per_step(shape: DualEncoderShape, batch_size: int, seq_len: int) -> int:
    """PaLM's 4 L H Q T per token of each tower, attention in full: T = s_v on B s_v image tokens,
    s_t on B s_t text tokens."""
    s_v = shape.vision.image_tokens
    return sum(4 * t.layers * t.heads * t.head_dim * s * batch_size * s
               for t, s in ((shape.vision, s_v), (shape.text, seq_len)))


def _towers(shape: DualEncoderShape) -> tuple[tuple[str, EncoderShape], ...]:
    return ("vision", shape.vision), ("text", shape.text)
