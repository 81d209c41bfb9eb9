"""Qwen2-VL-7B and LLaVA-Next-8B profile on meta with images, their vision attention counted.

Both forwards read integer values (Qwen2-VL's grid and 3-d rope index and per-image attention
split, LLaVA-Next's any-resolution grid, the image-token masks); on meta those integers stay
real on the CPU. The vision tower's attention must match the analytic count for the patches
of the image: per image (or crop) of N patches and per layer, heads x N x N x (D + Dv) MACs.
"""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from flopsight.hf import InputSpec, build_model, make_config, resolve_source, synthesize_inputs  # noqa: E402
from flopsight.hf import profile_forward  # noqa: E402
from flopsight.hf.inputs import llava_next_image_tokens, qwen2_vl_grid  # noqa: E402

SDPA = "aten._scaled_dot_product_flash_attention_for_cpu.default"


def _profile(name: str, spec: InputSpec):
    model = build_model(make_config(resolve_source(name)), device="meta", dtype="bfloat16")
    inputs = synthesize_inputs(model, spec, device="meta")
    return model.config, profile_forward(model, inputs, device="meta")


def _attention_under(profile, prefix: str):
    calls = macs = masked = 0
    for node in profile.modules():
        if node.name.startswith(prefix):
            for phase_ops in node.own_ops.values():
                totals = phase_ops.get(SDPA)
                if totals is not None:
                    calls, macs, masked = calls + totals.calls, macs + totals.macs, masked + totals.masked_flops
    return calls, macs, masked


@pytest.mark.parametrize(("height", "width", "num_images"), [(448, 448, 1), (336, 616, 2)])
def test_qwen2_vl_7b_vision_attention_matches_the_patch_count(height: int, width: int, num_images: int) -> None:
    config, profile = _profile("qwen2-vl-7b", InputSpec(seq_len=32, image_size=(height, width), num_images=num_images))
    vision = config.vision_config
    t, h, w = qwen2_vl_grid(config, height, width)
    patches = t * h * w  # 448x448 -> 1 x 32 x 32 = 1024 patches of 14x14
    head_dim = vision.embed_dim // vision.num_heads  # 1280 / 16 = 80
    # Each image attends only to itself (cu_seqlens split): one SDPA per image per block.
    per_image_layer = vision.num_heads * patches * patches * (head_dim + head_dim)
    calls, macs, masked = _attention_under(profile, "model.visual.")
    assert calls == vision.depth * num_images
    assert macs == vision.depth * num_images * per_image_layer
    assert masked == 0  # vision attention is bidirectional
    image_tokens = patches // vision.spatial_merge_size**2
    described = profile.metadata["input_description"]
    assert described["image_tokens"] == image_tokens
    assert described["total_seq_len"] == 32 + num_images * (image_tokens + 2)  # + vision start / end
    assert profile.params == 8_291_375_616
    assert not set(profile.uncounted_ops) - {"aten._is_all_true.default"}


@pytest.mark.parametrize(("height", "width", "num_images"), [(336, 336, 1), (672, 1000, 2)])
def test_llava_next_8b_vision_attention_matches_the_crop_count(height: int, width: int, num_images: int) -> None:
    config, profile = _profile("llava-next-8b", InputSpec(seq_len=32, image_size=(height, width), num_images=num_images))
    vision = config.vision_config
    crops, image_tokens = llava_next_image_tokens(config, height, width)
    tokens = (vision.image_size // vision.patch_size) ** 2 + 1  # 576 patches of 14x14 + CLS = 577
    head_dim = vision.hidden_size // vision.num_attention_heads  # 1024 / 16 = 64
    per_crop_layer = vision.num_attention_heads * tokens * tokens * (head_dim + head_dim)
    calls, macs, masked = _attention_under(profile, "model.vision_tower.")
    # Every crop of every image goes through all the tower's layers as one batch per layer.
    assert calls == vision.num_hidden_layers
    assert macs == vision.num_hidden_layers * num_images * crops * per_crop_layer
    assert masked == 0
    described = profile.metadata["input_description"]
    assert described["image_crops"] == crops
    assert described["total_seq_len"] == 32 + num_images * image_tokens
    assert profile.params == 8_355_276_800


def test_llava_next_crop_and_token_counts_follow_its_processor() -> None:
    config = make_config(resolve_source("llava-next-8b"))
    # 336x336 fits the 336x672 grid best: 2 crops + the base crop; base 24*24 = 576 tokens,
    # grid 24 x 48 patches of which the padded half is removed: 24 x 24 + 24 newline tokens.
    assert llava_next_image_tokens(config, 336, 336) == (3, 576 + 24 * 24 + 24)
    # 672x672 takes the 2x2 grid: 4 crops + base; 48 x 48 patches + 48 newline tokens.
    assert llava_next_image_tokens(config, 672, 672) == (5, 576 + 48 * 48 + 48)
