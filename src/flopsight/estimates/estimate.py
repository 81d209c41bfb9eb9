"""``estimate(config_or_name)``: the closed forms of one step, from a config alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .formulas import ClosedForm, kaplan_6n, megatron, non_embedding_params, palm, parameter_terms
from .shape import DualEncoderShape, EncoderDecoderShape, EncoderShape, ModelShape, model_shape

SCHEMA_VERSION = 1
DEFAULT_SEQ_LEN = 128  # the CLI's and synthesize_inputs' default for text


@dataclass(frozen=True, slots=True)
class Estimate:
    """Closed forms for one step of ``batch_size`` x ``seq_len`` tokens. Plain data.

    Attributes:
        model: what was estimated (a bundled name, a path, or the config's model_type).
        shape: the sizes the formulas read.
        params: parameters by component (embedding, attention, mlp, norms, head).
        forms: each closed form by its source name: "megatron" (attention as ``causal``
            says), "kaplan_6n", "palm".
        decoder_seq_len: an encoder-decoder's decoder tokens per sample (``seq_len`` is the
            encoder's); 0 for a model with one stack.
    """

    model: str
    shape: ModelShape
    batch_size: int
    seq_len: int
    causal: bool
    params: dict[str, int]
    forms: dict[str, ClosedForm] = field(default_factory=dict)
    decoder_seq_len: int = 0

    def megatron_form(self, *, causal: bool) -> ClosedForm:
        """Megatron's terms for these sizes, attention as ``causal`` says (for an encoder-decoder,
        the decoder's self-attention)."""
        return megatron(self.shape, self.batch_size, self.seq_len, causal=causal,
                        decoder_seq_len=self.decoder_seq_len or None)

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def non_embedding_params(self) -> int:
        return non_embedding_params(self.shape)

    @property
    def active_non_embedding_params(self) -> int:
        """What one token runs of ``non_embedding_params``: k of E experts in an MoE block."""
        return non_embedding_params(self.shape, active=True)

    @property
    def tokens(self) -> int:
        """B s; for an encoder-decoder B (s_e + s_d), the encoder's and the decoder's tokens; for
        CLIPModel B (s_v + s_t), the image's and the caption's."""
        image = self.shape.vision.image_tokens if isinstance(self.shape, DualEncoderShape) else 0
        return self.batch_size * (self.seq_len + self.decoder_seq_len + image)

    def to_dict(self) -> dict[str, Any]:
        lengths = {"decoder_seq_len": self.decoder_seq_len} if self.decoder_seq_len else {}
        return {
            "schema_version": SCHEMA_VERSION, "model": self.model, "shape": self.shape.to_dict(),
            "batch_size": self.batch_size, "seq_len": self.seq_len, **lengths, "tokens": self.tokens,
            "causal": self.causal,
            "params": {**self.params, "total": self.total_params, "non_embedding": self.non_embedding_params,
                       "active_non_embedding": self.active_non_embedding_params},
            "forms": {name: form.to_dict() for name, form in self.forms.items()},
        }


def estimate(config_or_name: Any, *, batch_size: int = 1, seq_len: int | None = None,
             causal: bool = True, task: str = "", decoder_seq_len: int | None = None) -> Estimate:
    """Closed-form parameters and FLOPs of a decoder LLM, BERT, ViT, CLIP (a tower or CLIPModel) or T5 from
    its config, without building it.

    Args:
        config_or_name: a transformers config object (read by attribute), a transformers model
            (its ``config``; its class names the task unless ``task`` does), or what
            ``flopsight profile`` takes: a bundled name, a config.json, a folder or a Hub id.
        batch_size: sequences per step (B).
        seq_len: tokens per sequence (s); None: 128 for text (CLIP's text: its 77 positions). ViT's
            (and CLIP's vision) tokens come from the config, (image_size / patch_size)^2 + 1, and another
            seq_len is refused; for CLIPModel ``seq_len`` is the caption's.
        causal: Megatron's attention terms over the pairs a causal mask keeps (s (s + 1) / 2)
            rather than all s^2. Encoders (BERT, ViT, CLIP's vision) always attend in full; CLIP's
            text tower is causal-masked.
        task: the task class's name, for a config that does not name it (see ``model_shape``).
        decoder_seq_len: an encoder-decoder's (T5's) decoder tokens per sample, ``seq_len`` being
            the encoder's; None: as many as the encoder's, as ``flopsight.hf.synthesize_inputs``
            feeds them. Refused for a model with one stack.

    Returns:
        An ``Estimate``; ``forms["megatron"].forward`` is the forward FLOPs per step.

    Raises:
        InputError: a size below 1, a decoder_seq_len for a model with one stack, a model with
            no transformers config, or a family without closed forms here (e.g. GPT-2).

    Example:
        >>> from transformers import LlamaConfig
        >>> config = LlamaConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4,
        ...                      num_key_value_heads=2, num_hidden_layers=2, vocab_size=256)
        >>> e = estimate(config, batch_size=2, seq_len=16, causal=False)
        >>> e.total_params, e.forms["megatron"].forward, e.forms["kaplan_6n"].training
        (106816, 6029312, 14217216)
    """
    name, config, model_task = _config_of(config_or_name)
    shape = model_shape(config, task=task or model_task)
    if isinstance(shape, EncoderShape):
        causal = causal and shape.causal_mask
        if shape.patch_size:
            if seq_len not in (None, shape.image_tokens):
                raise InputError(f"estimate: {shape.family} runs (image_size / patch_size)^2 + 1 = "
                                 f"{shape.image_tokens} tokens per image, not a seq_len of {seq_len}")
            seq_len = shape.image_tokens
    seq_len = _default_seq_len(shape) if seq_len is None else seq_len
    if batch_size < 1 or seq_len < 1:
        raise InputError(f"estimate: batch_size and seq_len are positive, got {batch_size} and {seq_len}")
    decoder_len = _decoder_seq_len(shape, seq_len, decoder_seq_len)
    lengths = (batch_size, seq_len, decoder_len or None)
    return Estimate(
        model=name or shape.family, shape=shape, batch_size=batch_size, seq_len=seq_len, causal=causal,
        params=parameter_terms(shape), decoder_seq_len=decoder_len,
        forms={"megatron": megatron(shape, batch_size, seq_len, causal=causal, decoder_seq_len=decoder_len or None),
               "kaplan_6n": kaplan_6n(shape, *lengths), "palm": palm(shape, *lengths)},
    )


def _default_seq_len(shape: ModelShape) -> int:
    """128 tokens, or the position table's rows where fewer (CLIP's text: 77), as
    ``flopsight.hf.synthesize_inputs`` feeds them."""
    text = shape.text if isinstance(shape, DualEncoderShape) else shape
    if isinstance(text, EncoderShape) and text.causal_mask:
        return text.positions if isinstance(shape, DualEncoderShape) else min(DEFAULT_SEQ_LEN, text.positions)
    return DEFAULT_SEQ_LEN


def _decoder_seq_len(shape: ModelShape, seq_len: int, decoder_seq_len: int | None) -> int:
    """The decoder's tokens of an encoder-decoder (the encoder's by default); 0 for one stack."""
    if not isinstance(shape, EncoderDecoderShape):
        if decoder_seq_len is not None:
            raise InputError(f"estimate: {shape.family} has one stack; decoder_seq_len is for an "
                             "encoder-decoder (T5): leave it out")
        return 0
    if decoder_seq_len is not None and decoder_seq_len < 1:
        raise InputError(f"estimate: decoder_seq_len is positive, got {decoder_seq_len}")
    return seq_len if decoder_seq_len is None else decoder_seq_len


def _config_of(config_or_name: Any) -> tuple[str, Any, str]:
    """(the name to show, the config, the task a built model names by its class: "" otherwise)."""
    if isinstance(config_or_name, str):
        from ..hf.source import make_config, resolve_source

        source = resolve_source(config_or_name)
        return source.spec, make_config(source), ""
    if hasattr(config_or_name, "named_parameters"):  # a model: torch is imported already, so no import here
        config = getattr(config_or_name, "config", None)
        if config is None or not hasattr(config, "model_type"):
            raise InputError(f"estimate reads a transformers config, and this {type(config_or_name).__name__} has "
                             "none (no .config): pass its config, or use flopsight.profile for the measured count")
        return "", config, type(config_or_name).__name__
    return "", config_or_name, ""
