"""Which class ``task_class`` builds when a config names no architecture (needs transformers).

Configs without ``architectures`` (``AutoConfig.for_model``, a hand-written file) get the first
Auto class that maps them among those taking the inputs ``synthesize_inputs`` makes.
"""

from __future__ import annotations

from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.hf import InputSpec, build_model, profile_forward, synthesize_inputs, task_class  # noqa: E402

# A ViT-style tower over 32 x 32 images in 8 x 8 patches: 16 patches + [CLS] = 17 tokens.
VIT = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 1,
       "image_size": 32, "patch_size": 8}
TEXT = {"vocab_size": 256, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
        "num_hidden_layers": 1, "max_position_embeddings": 16, "bos_token_id": 0, "eos_token_id": 1,
        "pad_token_id": 2}


def _config(model_type: str, **values: Any) -> Any:
    return transformers.AutoConfig.for_model(model_type, **values)


def _profile(config: Any) -> Any:
    model = build_model(config)
    return model, profile_forward(model, synthesize_inputs(model, InputSpec(batch_size=2, seq_len=8)))


def test_a_mapping_to_several_classes_builds_the_first() -> None:
    # AutoModelForImageClassification maps deit to (DeiTForImageClassification, ...WithTeacher)
    config = _config("deit", **VIT)
    assert task_class(config) is transformers.DeiTForImageClassification
    model, profile = _profile(config)
    assert type(model) is transformers.DeiTForImageClassification
    # The classifier head, on [CLS]: 2 images x hidden 32 x 2 labels (the config's default)
    assert profile.module("classifier").forward.macs == 2 * 32 * config.num_labels


@pytest.mark.parametrize(("model_type", "expected"), [("clip", "CLIPModel"), ("siglip", "SiglipModel")])
def test_dual_encoder_configs_build_the_model_that_takes_text_and_images(model_type: str, expected: str) -> None:
    config = _config(model_type, text_config=TEXT, vision_config=VIT)
    assert task_class(config) is getattr(transformers, expected)  # not *ForImageClassification
    model, profile = _profile(config)
    assert {"input_ids", "pixel_values"} <= set(profile.metadata["input_description"]["tensors"])
    # The text tower's one layer: q, k, v, o (4 x 32 x 32) and the MLP (2 x 32 x 64) per token, 2 x 8 tokens
    text_layer = profile.module("text_model.encoder.layers.0")
    assert text_layer.forward.macs - _attention_macs(tokens=8, width=32, batch=2) == 2 * 8 * (4 * 32 * 32 + 2 * 32 * 64)


def _attention_macs(*, tokens: int, width: int, batch: int) -> int:
    # scores q @ k^T and weights @ v: 2 x tokens x tokens x width per sample (heads split the width)
    return batch * 2 * tokens * tokens * width
