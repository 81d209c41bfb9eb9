"""Helpers for the Hugging Face tests: tiny versions of the bundled configs, and a profiler.

A tiny config keeps a bundled model's architecture and special tokens but shrinks its widths
and depth, so it also runs on the CPU in a fraction of a second.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from flopsight.hf import InputSpec, ModelSource, build_model, bundled_model, make_config  # noqa: E402
from flopsight.hf import profile_forward, synthesize_inputs  # noqa: E402

_LLAMA = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
          "num_hidden_layers": 2, "vocab_size": 256, "bos_token_id": 0, "eos_token_id": 1}
TINY: dict[str, dict[str, Any]] = {
    "gpt2": {"n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 256, "n_positions": 256, "n_ctx": 256},
    "bert-base-uncased": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                          "intermediate_size": 128, "vocab_size": 256},
    "t5-base": {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4,
                "vocab_size": 256},
    "llama-3-8b": _LLAMA,
    "mistral-7b": _LLAMA,
    "qwen2-7b": _LLAMA,
    "mixtral-8x7b": {**_LLAMA, "num_local_experts": 4},
    "deepseek-v2-lite": {**_LLAMA, "num_key_value_heads": 4, "moe_intermediate_size": 32, "n_routed_experts": 8,
                         "n_shared_experts": 1, "num_experts_per_tok": 2, "kv_lora_rank": 32, "qk_nope_head_dim": 16,
                         "qk_rope_head_dim": 8, "v_head_dim": 16},
    "vit-base-patch16-224": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                             "intermediate_size": 128},
    "resnet-50": {"hidden_sizes": [32, 64, 128, 256], "depths": [1, 1, 1, 1], "embedding_size": 16},
    "clip-vit-large-patch14-336": {
        "projection_dim": 32,
        "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
                        "num_hidden_layers": 2, "vocab_size": 256},
        "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
                          "num_hidden_layers": 2, "image_size": 112},
    },
    "qwen2-vl-7b": {**_LLAMA, "vocab_size": 151936, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
                    "vision_config": {"depth": 2, "embed_dim": 32, "num_heads": 2, "hidden_size": 64}},
    "llava-next-8b": {
        "text_config": {**_LLAMA, "vocab_size": 128320},
        "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
                          "num_hidden_layers": 2},
    },
}


def tiny_source(name: str) -> ModelSource:
    """The bundled config ``name`` with the sizes of ``TINY[name]`` (nested dicts merged)."""
    config = copy.deepcopy(bundled_model(name).config)
    for key, value in TINY[name].items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return ModelSource(spec=f"tiny-{name}", kind="file", config=config)


def run(source: ModelSource, spec: InputSpec = InputSpec(), *, device: str = "meta", dtype: str = "float32",
        backward: bool = False) -> Any:
    """Build ``source`` on ``device`` and profile one forward on synthesized inputs."""
    model = build_model(make_config(source), device=device, dtype=dtype)
    inputs = synthesize_inputs(model, spec, device=device)
    return profile_forward(model, inputs, device=device, backward=backward)
