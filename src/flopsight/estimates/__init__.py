"""Closed-form estimates beside the measured count: parameters and FLOPs of a decoder LLM,
BERT, ViT, CLIP (either tower or the dual encoder) or T5 from its config alone (Megatron with attention, Kaplan's 6N,
PaLM's 6N + 12 L H Q T), and a comparison with a measured Profile that names each difference by op class.

Nothing here imports torch; a config is read by attribute.
"""

from __future__ import annotations

from .compare import Comparison, TermComparison, compare
from .estimate import Estimate, estimate
from .encoders import attended_pairs
from .formulas import REFERENCES, ClosedForm, kaplan_6n, megatron, non_embedding_params, palm, parameter_terms
from .shape import (DENSE_DECODERS, ENCODER_DECODERS, ENCODERS, DecoderShape, DualEncoderShape, EncoderDecoderShape,
                    EncoderShape, ModelShape, decoder_shape, model_shape)

__all__ = [
    "DENSE_DECODERS",
    "ENCODERS",
    "ENCODER_DECODERS",
    "REFERENCES",
    "ClosedForm",
    "Comparison",
    "DecoderShape",
    "DualEncoderShape",
    "EncoderDecoderShape",
    "EncoderShape",
    "Estimate",
    "ModelShape",
    "TermComparison",
    "attended_pairs",
    "compare",
    "decoder_shape",
    "estimate",
    "kaplan_6n",
    "megatron",
    "model_shape",
    "non_embedding_params",
    "palm",
    "parameter_terms",
]
