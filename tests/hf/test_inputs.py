"""Synthesized inputs: the tensors each family needs, sized as asked, or one clear error."""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.hf import InputSpec, InputSpecError, build_model, make_config, resolve_source  # noqa: E402
from flopsight.hf import family_of, profile_forward, synthesize_inputs  # noqa: E402
from flopsight.hf.inputs import qwen2_vl_grid  # noqa: E402

from hf_tiny import run, tiny_source  # noqa: E402


def _inputs(source, spec: InputSpec):
    model = build_model(make_config(source), device="meta")
    return synthesize_inputs(model, spec, device="meta")


def _shapes(inputs) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in inputs.kwargs.items() if hasattr(v, "shape")}


def test_text_inputs_are_real_integers_on_the_cpu() -> None:
    inputs = _inputs(tiny_source("llama-3-8b"), InputSpec(batch_size=3, seq_len=7))
    assert _shapes(inputs) == {"input_ids": [3, 7], "attention_mask": [3, 7]}
    assert inputs.kwargs["input_ids"].device.type == "cpu"
    assert inputs.describe()["family"] == "text"


def test_masked_lm_and_encoder_decoder_inputs() -> None:
    bert = _inputs(tiny_source("bert-base-uncased"), InputSpec(seq_len=5))
    assert _shapes(bert) == {"input_ids": [1, 5], "attention_mask": [1, 5], "token_type_ids": [1, 5]}
    t5 = _inputs(tiny_source("t5-base"), InputSpec(batch_size=2, seq_len=6))
    assert _shapes(t5)["decoder_input_ids"] == [2, 6]
    assert t5.kwargs["decoder_input_ids"][:, 0].tolist() == [0, 0]  # decoder_start_token_id


def test_vision_inputs_follow_the_image_size() -> None:
    vit = _inputs(tiny_source("vit-base-patch16-224"), InputSpec(batch_size=2))
    assert _shapes(vit) == {"pixel_values": [2, 3, 224, 224]}
    larger = _inputs(tiny_source("vit-base-patch16-224"), InputSpec(image_size=(384, 384)))
    assert larger.kwargs["interpolate_pos_encoding"] is True
    assert run(tiny_source("vit-base-patch16-224"), InputSpec(image_size=(384, 384))).forward.flops > 0
    resnet = _inputs(tiny_source("resnet-50"), InputSpec(image_size=(96, 128)))
    assert _shapes(resnet) == {"pixel_values": [1, 3, 96, 128]}


def test_clip_takes_at_most_its_text_positions() -> None:
    clip = _inputs(tiny_source("clip-vit-large-patch14-336"), InputSpec(batch_size=2))
    assert _shapes(clip)["input_ids"] == [2, 77]
    with pytest.raises(InputSpecError, match="77 positions"):
        _inputs(tiny_source("clip-vit-large-patch14-336"), InputSpec(seq_len=100))


def test_qwen2_vl_resizes_as_its_processor_does() -> None:
    config = make_config(resolve_source("qwen2-vl-7b"))
    assert qwen2_vl_grid(config, 448, 448) == (1, 32, 32)
    assert qwen2_vl_grid(config, 500, 300) == (1, 36, 22)  # 504 x 308: multiples of 28
    assert qwen2_vl_grid(config, 10, 10) == (1, 4, 4)  # at least 56 x 56 pixels


def test_image_options_on_a_text_model_and_bad_sizes() -> None:
    with pytest.raises(InputSpecError, match="takes no images"):
        _inputs(tiny_source("llama-3-8b"), InputSpec(num_images=2))
    with pytest.raises(InputSpecError, match="one image per sample"):
        _inputs(tiny_source("vit-base-patch16-224"), InputSpec(num_images=2))
    with pytest.raises(InputSpecError, match="--batch-size"):
        _inputs(tiny_source("llama-3-8b"), InputSpec(batch_size=0))


def test_backward_on_meta_equals_backward_on_cpu() -> None:
    spec = InputSpec(batch_size=2, seq_len=8)
    on_meta = run(tiny_source("llama-3-8b"), spec, device="meta", backward=True)
    on_cpu = run(tiny_source("llama-3-8b"), spec, device="cpu", backward=True)
    assert on_meta.backward.flops > 0
    assert (on_meta.backward.macs, on_meta.backward.flops) == (on_cpu.backward.macs, on_cpu.backward.flops)


def test_a_vision_config_with_a_vocabulary_gets_pixel_values() -> None:
    # BEiT's config has vocab_size (its visual tokens for pre-training) and is still a vision model
    config = transformers.AutoConfig.for_model("beit", hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                               num_hidden_layers=1, image_size=32, patch_size=8)
    assert family_of(config) == "vision"
    model = build_model(config, device="meta")
    inputs = synthesize_inputs(model, InputSpec(batch_size=2), device="meta")
    assert _shapes(inputs) == {"pixel_values": [2, 3, 32, 32]}
    profile = profile_forward(model, inputs, device="meta")
    # The patch embedding: a 3 -> 32 conv with 8 x 8 kernels at 4 x 4 = 16 positions per image
    assert profile.module("beit.embeddings.patch_embeddings").forward.macs == 2 * 16 * 32 * 3 * 8 * 8


def test_token_type_ids_for_every_model_with_segment_types() -> None:
    # XLM-RoBERTa, like BERT and RoBERTa, has type_vocab_size and a token_type_ids buffer: without
    # the input its embeddings read that buffer, which on meta has no values.
    config = transformers.AutoConfig.for_model("xlm-roberta", vocab_size=256, hidden_size=32, intermediate_size=64,
                                               num_attention_heads=2, num_hidden_layers=1,
                                               max_position_embeddings=66, is_decoder=True, pad_token_id=1)
    model = build_model(config, device="meta")
    inputs = synthesize_inputs(model, InputSpec(batch_size=2, seq_len=8), device="meta")
    assert _shapes(inputs)["token_type_ids"] == [2, 8]
    assert inputs.kwargs["token_type_ids"].eq(0).all()
    profile = profile_forward(model, inputs, device="meta")
    # The LM head's decoder: 2 x 8 tokens x hidden 32 x vocab 256
    assert profile.module("lm_head.decoder").forward.macs == 2 * 8 * 32 * 256
    llama = _inputs(tiny_source("llama-3-8b"), InputSpec(seq_len=4))  # no segment types, none given
    assert "token_type_ids" not in llama.kwargs
