"""Synthesize valid inputs for a Hugging Face model from sizes alone, family by family.

Text models get token ids and an attention mask, and token type ids where the config has segment
types (BERT, RoBERTa, XLM-R, ...); encoder-decoder models decoder ids; vision models pixel values;
image-text models the image placeholder tokens in the text (as their processor would write them),
pixel values and the image geometry (``image_grid_thw`` for Qwen2-VL, ``image_sizes`` for
LLaVA-Next), consistent with the requested image size and count.

On meta, integer tensors (ids, masks, grids, sizes) are made real on the CPU and floating ones on
meta: see ``real_integers``. On cpu and cuda everything is made on that device.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .build import available_ram
from .errors import InputSpecError

DEFAULT_SEQ_LEN = 128
TEXT_TOKEN_ID = 1  # a plain token in every bundled vocabulary; the counts do not depend on it


@dataclass(frozen=True, slots=True)
class InputSpec:
    """The sizes the user asked for. None means the family's default."""

    batch_size: int = 1
    seq_len: int | None = None
    image_size: tuple[int, int] | None = None
    num_images: int | None = None


@dataclass(slots=True)
class ModelInputs:
    """Keyword inputs for ``model(**kwargs)`` and a plain description of them."""

    kwargs: dict[str, Any]
    description: dict[str, Any] = field(default_factory=dict)
    family: str = "text"

    def describe(self) -> dict[str, Any]:
        tensors = {
            name: {"shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
            for name, value in self.kwargs.items()
            if isinstance(value, torch.Tensor)
        }
        return {"family": self.family, **self.description, "tensors": tensors}


@dataclass(frozen=True, slots=True)
class _Place:
    """Where synthesized tensors go: integers on ``index_device``, floats on ``device``."""

    device: torch.device
    index_device: torch.device
    dtype: torch.dtype

    def ids(self, shape: tuple[int, ...], fill: int = TEXT_TOKEN_ID) -> torch.Tensor:
        self.check_integers(shape)
        return torch.full(shape, fill, dtype=torch.long, device=self.index_device)

    def ones(self, shape: tuple[int, ...]) -> torch.Tensor:
        self.check_integers(shape)
        return torch.ones(shape, dtype=torch.long, device=self.index_device)

    def check_integers(self, shape: tuple[int, ...]) -> None:
        """Refuse integer inputs the machine cannot hold: they are real memory even on meta."""
        if self.index_device.type != "cpu":
            return
        needed = math.prod(shape) * 8  # int64
        available = available_ram()
        if needed >= 2**63 or (available and needed > available):
            sizes = " x ".join(str(n) for n in shape)
            raise InputSpecError(
                f"the token ids alone ({sizes} int64) need {needed / 2**30:,.1f} GiB of RAM, real even on meta, "
                f"and {available / 2**30:,.1f} GiB is available; lower --batch-size or --seq-len"
            )

    def index(self, values: list[list[int]]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long, device=self.index_device)

    def floats(self, shape: tuple[int, ...]) -> torch.Tensor:
        if self.device.type == "meta":
            return torch.empty(shape, dtype=self.dtype, device=self.device)
        return torch.randn(shape, dtype=self.dtype, device=self.device)


def synthesize_inputs(model: Any, spec: InputSpec, *, device: str = "meta") -> ModelInputs:
    """Inputs for one forward of ``model`` (a transformers PreTrainedModel) at ``spec``'s sizes.

    Raises:
        InputSpecError: sizes the model cannot take (too long for its positions, images for a
            text model, ...).
    """
    if spec.batch_size < 1:
        raise InputSpecError(f"--batch-size must be at least 1, got {spec.batch_size}")
    if spec.seq_len is not None and spec.seq_len < 1:
        raise InputSpecError(f"--seq-len must be at least 1, got {spec.seq_len}")
    if spec.num_images is not None and spec.num_images < 1:
        raise InputSpecError(f"--num-images must be at least 1, got {spec.num_images}")
    config = model.config
    floating = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    target = torch.device(device)
    place = _Place(target, torch.device("cpu") if target.type == "meta" else target, floating)
    family = family_of(config)
    builder = _FAMILIES[family]
    if family not in _IMAGE_FAMILIES and (spec.image_size is not None or spec.num_images is not None):
        raise InputSpecError(f"{type(model).__name__} takes no images; drop --image-size and --num-images")
    if family in ("vision", "clip") and spec.num_images not in (None, 1):
        raise InputSpecError(f"{type(model).__name__} takes one image per sample; use --batch-size for more")
    inputs = builder(config, spec, place)
    inputs.family = family
    parameters = inspect.signature(model.forward).parameters
    if family in ("text", "masked_lm") and getattr(config, "type_vocab_size", None) and "token_type_ids" in parameters:
        # Segment 0 everywhere, as a tokenizer writes for one sentence. Without them, BERT-like
        # models read a token_type_ids buffer, which on meta has no values to read.
        inputs.kwargs["token_type_ids"] = place.ids(tuple(inputs.kwargs["input_ids"].shape), fill=0)
    if family == "clip" and "input_ids" not in parameters:  # an image head on a CLIP config: no text
        for text_input in ("input_ids", "attention_mask"):
            inputs.kwargs.pop(text_input, None)
        inputs.description.pop("seq_len", None)
    for optional in _OPTIONAL_INPUTS.intersection(inputs.kwargs):
        if optional not in parameters:  # an older transformers
            del inputs.kwargs[optional]
    return inputs


def family_of(config: Any) -> str:
    """The input family of a config: text, masked_lm, encoder_decoder, vision, clip, qwen2_vl,
    llava_next or llava."""
    model_type = getattr(config, "model_type", "")
    if model_type in ("qwen2_vl", "qwen2_5_vl"):
        return "qwen2_vl"
    if model_type == "llava_next":
        return "llava_next"
    if model_type == "llava":
        return "llava"
    if model_type in ("clip", "siglip"):
        return "clip"
    # Before the text families: a vision config may also have a vocabulary (BEiT's visual tokens).
    if getattr(config, "num_channels", None) and (
        not hasattr(config, "vocab_size") or hasattr(config, "image_size") or hasattr(config, "patch_size")
    ):
        return "vision"
    if getattr(config, "is_encoder_decoder", False):
        return "encoder_decoder"
    architectures = getattr(config, "architectures", None) or []
    if any("MaskedLM" in a or "ForPreTraining" in a for a in architectures) or model_type in ("bert", "roberta"):
        return "masked_lm"
    return "text"


def _seq_len(config: Any, spec: InputSpec, *, default: int = DEFAULT_SEQ_LEN) -> int:
    seq_len = spec.seq_len if spec.seq_len is not None else default
    limit = learned_positions(config)
    if limit is not None and seq_len > limit:
        if spec.seq_len is None:
            return limit
        raise InputSpecError(f"--seq-len {seq_len} is longer than the {limit} positions this model has")
    return seq_len


def learned_positions(config: Any) -> int | None:
    """The position limit of models with a learned position table (GPT-2, BERT, CLIP text)."""
    if getattr(config, "model_type", "") in ("gpt2", "bert", "roberta", "clip_text_model", "siglip_text_model", "vit"):
        limit = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
        return int(limit) if limit else None
    return None


def _text(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    seq_len = _seq_len(config, spec)
    shape = (spec.batch_size, seq_len)
    kwargs = {"input_ids": place.ids(shape), "attention_mask": place.ones(shape)}
    return ModelInputs(kwargs, {"batch_size": spec.batch_size, "seq_len": seq_len})




def _encoder_decoder(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    """Encoder and decoder both get ``seq_len`` tokens (teacher forcing, as in training)."""
    inputs = _text(config, spec, place)
    seq_len = inputs.description["seq_len"]
    start = getattr(config, "decoder_start_token_id", None) or 0
    decoder_ids = place.ids((spec.batch_size, seq_len))
    decoder_ids[:, 0] = start
    inputs.kwargs["decoder_input_ids"] = decoder_ids
    inputs.description["decoder_seq_len"] = seq_len
    return inputs


def _image_size(config: Any, spec: InputSpec) -> tuple[int, int]:
    if spec.image_size is not None:
        height, width = spec.image_size
        if height < 1 or width < 1:
            raise InputSpecError(f"--image-size must be positive, got {height}x{width}")
        return height, width
    size = getattr(config, "image_size", 224)
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    if isinstance(size, dict):
        return int(size.get("height", 224)), int(size.get("width", 224))
    return int(size), int(size)


def _vision(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    height, width = _image_size(config, spec)
    channels = int(getattr(config, "num_channels", 3))
    kwargs: dict[str, Any] = {"pixel_values": place.floats((spec.batch_size, channels, height, width))}
    native = getattr(config, "image_size", None)
    if native is not None and (height, width) != _image_size(config, InputSpec()) and hasattr(config, "patch_size"):
        kwargs["interpolate_pos_encoding"] = True
    return ModelInputs(kwargs, {"batch_size": spec.batch_size, "image_size": [height, width]})


def _clip(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    """Image-text contrastive models: ``batch_size`` captions and ``batch_size`` images."""
    seq_len = _seq_len(config.text_config, spec, default=int(config.text_config.max_position_embeddings))
    height, width = _image_size(config.vision_config, spec)
    shape = (spec.batch_size, seq_len)
    kwargs: dict[str, Any] = {
        "input_ids": place.ids(shape),
        "attention_mask": place.ones(shape),
        "pixel_values": place.floats((spec.batch_size, 3, height, width)),
    }
    if (height, width) != _image_size(config.vision_config, InputSpec()):
        kwargs["interpolate_pos_encoding"] = True
    return ModelInputs(kwargs, {"batch_size": spec.batch_size, "seq_len": seq_len, "image_size": [height, width]})


def qwen2_vl_grid(config: Any, height: int, width: int) -> tuple[int, int, int]:
    """Qwen2-VL's patch grid (t, h, w) for one image, after its processor's resize.

    The processor (``smart_resize``) rounds each side to a multiple of patch x merge (28) and
    keeps the area within [min_pixels, max_pixels] = [56*56, 28*28*16384]; an image is one
    temporal patch (its frame repeated ``temporal_patch_size`` times).
    """
    vision = config.vision_config
    factor = vision.patch_size * vision.spatial_merge_size
    min_pixels, max_pixels = 56 * 56, 28 * 28 * 16384
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return 1, h_bar // vision.patch_size, w_bar // vision.patch_size


def _qwen2_vl(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    """Per sample: for each image <|vision_start|> <|image_pad|> x n <|vision_end|>, then the text.

    n = t*h*w / merge^2 image tokens per image; ``pixel_values`` holds the t*h*w flattened
    patches of every image, each of channels x temporal_patch_size x patch x patch values.
    """
    text_len = _seq_len(config, spec)
    height, width = _image_size(config.vision_config, spec) if spec.image_size else (448, 448)
    num_images = spec.num_images or 1
    vision = config.vision_config
    t, h, w = qwen2_vl_grid(config, height, width)
    image_tokens = t * h * w // vision.spatial_merge_size**2
    block = [config.vision_start_token_id] + [config.image_token_id] * image_tokens + [config.vision_end_token_id]
    row = block * num_images + [TEXT_TOKEN_ID] * text_len
    place.check_integers((spec.batch_size, len(row)))
    total_images = spec.batch_size * num_images
    patch_values = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    kwargs: dict[str, Any] = {
        "input_ids": place.index([row] * spec.batch_size),
        "attention_mask": place.ones((spec.batch_size, len(row))),
        "pixel_values": place.floats((total_images * t * h * w, patch_values)),
        "image_grid_thw": place.index([[t, h, w]] * total_images),
        # Which positions hold image tokens (1) or text (0), as the processor returns it.
        "mm_token_type_ids": place.index([[int(token == config.image_token_id) for token in row]] * spec.batch_size),
    }
    return ModelInputs(kwargs, {
        "batch_size": spec.batch_size, "seq_len": text_len, "image_size": [height, width],
        "resized_image_size": [h * vision.patch_size, w * vision.patch_size], "num_images": num_images,
        "image_patches": t * h * w, "image_tokens": image_tokens, "total_seq_len": len(row),
    })


def llava_next_image_tokens(config: Any, height: int, width: int) -> tuple[int, int]:
    """(crops, placeholder tokens) of one ``height x width`` image in LLaVA-Next.

    The image is cut into the grid of ``image_grid_pinpoints`` that fits it best plus one base
    crop; the base crop gives (side/patch)^2 tokens, the grid its patches after removing the
    padding the resize added, with one newline token per row (LlavaNextProcessor's count).
    """
    from transformers.image_processing_utils import select_best_resolution

    crop = config.vision_config.image_size
    side = crop // config.vision_config.patch_size
    best_h, best_w = select_best_resolution((height, width), config.image_grid_pinpoints)
    grid_h, grid_w = best_h // crop, best_w // crop
    current_h, current_w = side * grid_h, side * grid_w
    if width / height > current_w / current_h:
        new_h = int(round(height * (current_w / width), 7))
        current_h -= (current_h - new_h) // 2 * 2
    else:
        new_w = int(round(width * (current_h / height), 7))
        current_w -= (current_w - new_w) // 2 * 2
    extra = 1 if config.vision_feature_select_strategy == "full" else 0
    tokens = side * side + extra + current_h * current_w + current_h
    return grid_h * grid_w + 1, tokens


def _llava_next(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    text_len = _seq_len(config.text_config, spec)
    height, width = _image_size(config.vision_config, spec)
    num_images = spec.num_images or 1
    crops, image_tokens = llava_next_image_tokens(config, height, width)
    row = [config.image_token_id] * image_tokens * num_images + [TEXT_TOKEN_ID] * text_len
    place.check_integers((spec.batch_size, len(row)))
    total_images = spec.batch_size * num_images
    crop = config.vision_config.image_size
    kwargs: dict[str, Any] = {
        "input_ids": place.index([row] * spec.batch_size),
        "attention_mask": place.ones((spec.batch_size, len(row))),
        "pixel_values": place.floats((total_images, crops, 3, crop, crop)),
        "image_sizes": place.index([[height, width]] * total_images),
    }
    return ModelInputs(kwargs, {
        "batch_size": spec.batch_size, "seq_len": text_len, "image_size": [height, width],
        "num_images": num_images, "image_crops": crops, "image_tokens": image_tokens, "total_seq_len": len(row),
    })


def _llava(config: Any, spec: InputSpec, place: _Place) -> ModelInputs:
    text_len = _seq_len(config.text_config, spec)
    side = config.vision_config.image_size
    if spec.image_size not in (None, (side, side)):
        raise InputSpecError(f"LLaVA takes {side}x{side} images (its processor resizes to that)")
    num_images = spec.num_images or 1
    patches = (side // config.vision_config.patch_size) ** 2
    image_tokens = patches + (1 if config.vision_feature_select_strategy == "full" else 0)
    row = [config.image_token_id] * image_tokens * num_images + [TEXT_TOKEN_ID] * text_len
    place.check_integers((spec.batch_size, len(row)))
    kwargs: dict[str, Any] = {
        "input_ids": place.index([row] * spec.batch_size),
        "attention_mask": place.ones((spec.batch_size, len(row))),
        "pixel_values": place.floats((spec.batch_size * num_images, 3, side, side)),
    }
    return ModelInputs(kwargs, {
        "batch_size": spec.batch_size, "seq_len": text_len, "image_size": [side, side],
        "num_images": num_images, "image_tokens": image_tokens, "total_seq_len": len(row),
    })


_FAMILIES: dict[str, Callable[[Any, InputSpec, _Place], ModelInputs]] = {
    "text": _text,
    "masked_lm": _text,
    "encoder_decoder": _encoder_decoder,
    "vision": _vision,
    "clip": _clip,
    "qwen2_vl": _qwen2_vl,
    "llava_next": _llava_next,
    "llava": _llava,
}
_OPTIONAL_INPUTS = {"mm_token_type_ids"}
_IMAGE_FAMILIES = {"vision", "clip", "qwen2_vl", "llava_next", "llava"}
