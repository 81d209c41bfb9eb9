"""Synthesized inputs: the tensors each family needs, sized as asked, or one clear error."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from flopsight.hf import InputSpec, InputSpecError, build_model, make_config, resolve_source  # noqa: E402
from flopsight.hf import synthesize_inputs  # noqa: E402
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
