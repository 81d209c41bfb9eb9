"""The sizes a transformer's closed forms need, read from a config by attribute. No torch.

Decoder LLMs (Llama, Mistral, Qwen2, Mixtral) give a ``DecoderShape``; the encoder-only BERT and
ViT give an ``EncoderShape``; the encoder-decoder T5 an ``EncoderDecoderShape``; ``model_shape`` picks.
"""

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


# model_type -> the task heads (the class names transformers builds) with closed forms here.
ENCODERS: dict[str, tuple[str, ...]] = {
    "bert": ("BertForMaskedLM", "BertLMHeadModel", "BertForSequenceClassification"),
    "vit": ("ViTForImageClassification",),
    "clip_vision_model": ("CLIPVisionModel",),  # and a CLIP config's vision tower
    "clip_text_model": ("CLIPTextModel",),  # and a CLIP config's text tower
}
# A CLIP config's task models: the dual encoder, or one tower.
CLIP_TASKS = ("CLIPModel", "CLIPVisionModel", "CLIPTextModel")
MASKED_LM, CLASSIFIER, NO_HEAD = "masked_lm", "classifier", "none"


@dataclass(frozen=True, slots=True)
class EncoderShape:
    """An encoder-only transformer (BERT, ViT, a CLIP tower): multi-head attention, full (bidirectional)
    but for CLIP's causal-masked text tower, a 2-matrix MLP, biases everywhere, LayerNorms, and a task head.

    Attributes:
        family: "bert", "vit" or "clip_vision_model".
        hidden: h, layers: L, heads: a, head_dim: d (a d = h), intermediate: f.
        vocab: V (BERT; 0 for ViT), positions: the learned position table's rows,
        type_vocab: BERT's token types (segments).
        image_size, patch_size, channels: ViT's image, its square patches and colour channels.
        qkv_bias: q, k and v carry a bias (ViT's ``qkv_bias``; always for BERT and CLIP).
        causal_mask: the attention is causal-masked (CLIP's text tower); the others attend both ways.
        patch_bias: the patch projection carries a bias (ViT; CLIP's does not).
        outer_norms: LayerNorms outside the layers (BERT's after the embeddings, ViT's final one;
            CLIP's pre- and post-LayerNorm).
        head: "masked_lm" (BERT's transform, LayerNorm and decoder tied to the word embedding),
            "classifier" (labels logits from the first token; BERT adds its pooler) or "none"
            (CLIPVisionModel: the class token's LayerNorm is its output; CLIPTextModel: the EOS token's
            final LayerNorm).
        labels: the classifier's outputs.
    """

    family: str
    hidden: int
    layers: int
    heads: int
    head_dim: int
    intermediate: int
    head: str
    vocab: int = 0
    positions: int = 0
    type_vocab: int = 0
    image_size: int = 0
    patch_size: int = 0
    channels: int = 0
    qkv_bias: bool = True
    patch_bias: bool = True
    outer_norms: int = 1
    labels: int = 0
    causal_mask: bool = False
    experts: int = 0  # dense: read by the forms shared with decoders
    experts_per_token: int = 0

    @property
    def patches(self) -> int:
        """ViT's patches per image, (image / patch)^2; 0 for text."""
        return (self.image_size // self.patch_size) ** 2 if self.patch_size else 0

    @property
    def image_tokens(self) -> int:
        """ViT's tokens per image: the patches and one class token."""
        return self.patches + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# model_type -> the task models with closed forms here (T5Model: the same stacks, no lm_head).
ENCODER_DECODERS: dict[str, tuple[str, ...]] = {"t5": ("T5ForConditionalGeneration", "T5Model")}


@dataclass(frozen=True, slots=True)
class EncoderDecoderShape:
    """T5: an encoder stack and a decoder stack (self-attention, cross-attention over the encoder's
    output), no biases anywhere, RMS-style T5LayerNorm weights, a relative-position bias table in
    the first layer of each stack, one embedding shared by both stacks.

    Attributes:
        family: "t5".
        vocab: V, hidden: h (``d_model``), heads: a, head_dim: d (``d_kv``; a d may differ from h),
        intermediate: f (``d_ff``), layers: L_e (``num_layers``), decoder_layers: L_d.
        gated: the MLP is gated (``feed_forward_proj`` "gated-gelu": wi_0, wi_1, wo) rather than wi, wo.
        buckets: the relative-position buckets (rows of each bias table).
        tied: lm_head is the shared embedding (counted once).
        lm_head: the task model has one (T5ForConditionalGeneration; T5Model does not).
    """

    family: str
    vocab: int
    hidden: int
    heads: int
    head_dim: int
    intermediate: int
    layers: int
    decoder_layers: int
    gated: bool = False
    buckets: int = 32
    tied: bool = True
    lm_head: bool = True
    experts: int = 0  # dense: read by the forms shared with decoders
    experts_per_token: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DualEncoderShape:
    """CLIPModel: a vision tower and a causal-masked text tower, each pooled to one vector (the class
    token, the EOS token), projected without bias to ``projection_dim`` (visual_projection,
    text_projection), and a learned ``logit_scale``; the image-text logits are image_embeds x text_embeds^T.

    Attributes:
        family: "clip". vision, text: the towers' shapes. projection_dim: p.
    """

    family: str
    vision: EncoderShape
    text: EncoderShape
    projection_dim: int
    experts: int = 0  # dense: read by the forms shared with decoders
    experts_per_token: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ModelShape = DecoderShape | EncoderShape | EncoderDecoderShape | DualEncoderShape


def model_shape(config: Any, *, task: str = "") -> ModelShape:
    """The shape of a config: an EncoderShape for BERT, ViT and one CLIP tower, a DualEncoderShape
    for CLIPModel, an EncoderDecoderShape for T5, else a DecoderShape.

    Args:
        task: the task class's name (``flopsight.hf.task_class(config).__name__``); "" reads the
            config's first architecture. A CLIP config: "CLIPModel" (the default), or
            "CLIPVisionModel" / "CLIPTextModel" for one tower.

    Raises:
        InputError: a family or task head without closed forms here.
    """
    family = str(getattr(config, "model_type", "") or type(config).__name__)
    if family == "clip":
        task = task or next(iter(getattr(config, "architectures", None) or []), "") or CLIP_TASKS[0]
        if task == "CLIPModel":
            return dual_encoder_shape(config)
        if task not in CLIP_TASKS:
            raise InputError(f"closed forms for {task} are not implemented yet (implemented for clip: "
                             f"{', '.join(CLIP_TASKS)})")
        tower = config.vision_config if task == "CLIPVisionModel" else config.text_config
        return encoder_shape(tower, str(tower.model_type), task)
    if family in ENCODER_DECODERS:
        return encoder_decoder_shape(config, task=task)
    if family not in ENCODERS:
        shape = decoder_shape(config)
        if task and not task.endswith("ForCausalLM"):  # the forms end in the LM head's logits
            raise InputError(f"closed forms for {task} are not implemented yet (implemented for {family}: "
                             "the causal LM, with its head)")
        return shape
    return encoder_shape(config, family, task)


def encoder_shape(config: Any, family: str, task: str = "") -> EncoderShape:
    """The EncoderShape of a BERT, ViT or CLIP-tower config (read by attribute only).

    Raises:
        InputError: a task head or position embedding without closed forms here.
    """
    task = task or next(iter(getattr(config, "architectures", None) or []), "") or ENCODERS[family][0]
    if task not in ENCODERS[family]:
        raise InputError(f"closed forms for {task} are not implemented yet (implemented for {family}: "
                         f"{', '.join(ENCODERS[family])})")
    hidden, heads = int(config.hidden_size), int(config.num_attention_heads)
    common: dict[str, Any] = {
        "family": family, "hidden": hidden, "layers": int(config.num_hidden_layers), "heads": heads,
        "head_dim": hidden // heads, "intermediate": int(config.intermediate_size),
    }
    if family == "clip_vision_model":
        return EncoderShape(**common, head=NO_HEAD, image_size=int(config.image_size),
                            patch_size=int(config.patch_size), channels=int(config.num_channels),
                            patch_bias=False, outer_norms=2)
    if family == "clip_text_model":  # token and position embeddings, a final LayerNorm, EOS pooling
        return EncoderShape(**common, head=NO_HEAD, vocab=int(config.vocab_size),
                            positions=int(config.max_position_embeddings), causal_mask=True)
    if family == "vit":
        return EncoderShape(**common, head=CLASSIFIER, image_size=int(config.image_size),
                            patch_size=int(config.patch_size), channels=int(config.num_channels),
                            qkv_bias=bool(getattr(config, "qkv_bias", True)), labels=int(config.num_labels))
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise InputError(f"closed forms for {family} with {config.position_embedding_type} positions "
                         "are not implemented yet (implemented: absolute)")
    return EncoderShape(**common, head=CLASSIFIER if "Classification" in task else MASKED_LM,
                        vocab=int(config.vocab_size), positions=int(config.max_position_embeddings),
                        type_vocab=int(config.type_vocab_size), labels=int(config.num_labels))


def dual_encoder_shape(config: Any) -> DualEncoderShape:
    """CLIPModel's shape: both towers and the projections' width."""
    return DualEncoderShape(family="clip", vision=encoder_shape(config.vision_config, "clip_vision_model"),
                            text=encoder_shape(config.text_config, "clip_text_model"),
                            projection_dim=int(config.projection_dim))


def implemented() -> list[str]:
    """The model_types with closed forms here."""
    return sorted({*DENSE_DECODERS, *ENCODERS, *ENCODER_DECODERS, "clip"})


def encoder_decoder_shape(config: Any, *, task: str = "") -> EncoderDecoderShape:
    """The EncoderDecoderShape of a T5 config (read by attribute only).

    Raises:
        InputError: a T5 task model without closed forms here (T5EncoderModel, ...).
    """
    family = str(config.model_type)
    task = task or next(iter(getattr(config, "architectures", None) or []), "") or ENCODER_DECODERS[family][0]
    if task not in ENCODER_DECODERS[family]:
        raise InputError(f"closed forms for {task} are not implemented yet (implemented for {family}: "
                         f"{', '.join(ENCODER_DECODERS[family])})")
    layers = int(config.num_layers)
    return EncoderDecoderShape(
        family=family, vocab=int(config.vocab_size), hidden=int(config.d_model), heads=int(config.num_heads),
        head_dim=int(config.d_kv), intermediate=int(config.d_ff), layers=layers,
        decoder_layers=int(getattr(config, "num_decoder_layers", None) or layers),
        gated=bool(getattr(config, "is_gated_act", False)),
        buckets=int(config.relative_attention_num_buckets),
        tied=bool(getattr(config, "tie_word_embeddings", True)), lm_head=task != "T5Model",
    )


def decoder_shape(config: Any) -> DecoderShape:
    """The DecoderShape of a transformers config object (read by attribute only).

    Raises:
        InputError: the config is not one of the dense decoders with closed forms here.
    """
    family = str(getattr(config, "model_type", "") or type(config).__name__)
    if family not in DENSE_DECODERS:
        raise InputError(f"closed forms for {family} are not implemented yet "
                         f"(implemented: {', '.join(implemented())})")
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
