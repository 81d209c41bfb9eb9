"""Tiny configs of the popular transformers model types, for the model-zoo sweep.

Each case keeps its model type's architecture (attention kind, MoE routing, rope, state-space
scan, vision tower) and shrinks widths to 16-64, depth to 1-2 layers and vocabularies to 256,
so one forward takes milliseconds on the CPU. Special token ids are moved into the small
vocabulary. ``architectures`` pins the class with its head where the Auto classes would pick
none or a deprecated one; ``inputs`` names how the inputs are made (see ``test_zoo_sweep``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ZooCase:
    """One model type: its tiny config and the kind of inputs it takes."""

    model_type: str
    config: dict[str, Any] = field(default_factory=dict)
    # "auto": flopsight.hf.synthesize_inputs; "speech": log-mel features and decoder ids;
    # "waveform": raw audio samples ("pixels" and "token_types" are no longer needed:
    # synthesize_inputs gives BEiT pixel values and XLM-R token type ids).
    inputs: str = "auto"
    image_size: tuple[int, int] | None = None


VOCAB = 256
_IDS = {"vocab_size": VOCAB, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2}
# A decoder: GQA (4 query heads over 2 KV heads), head_dim 16, two layers.
_DECODER = {**_IDS, "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 2, "max_position_embeddings": 64}
# An encoder of the BERT family.
_ENCODER = {**_IDS, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
            "num_hidden_layers": 2, "max_position_embeddings": 64}
# A ViT-style vision tower over 32 x 32 images in 8 x 8 patches (16 patches).
_VIT = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
        "image_size": 32, "patch_size": 8}
_CLIP_TEXT = {**_ENCODER, "max_position_embeddings": 16}
_MOE = {"num_experts_per_tok": 2, "moe_intermediate_size": 32}
_MLA = {"num_key_value_heads": 4, "kv_lora_rank": 16, "q_lora_rank": None, "qk_nope_head_dim": 16,
        "qk_rope_head_dim": 8, "v_head_dim": 16, "head_dim": 8}

CASES: list[ZooCase] = [
    # Dense decoders.
    ZooCase("llama", _DECODER),
    ZooCase("mistral", {**_DECODER, "sliding_window": 4}),
    ZooCase("qwen2", _DECODER),
    ZooCase("qwen3", {**_DECODER, "head_dim": 16}),
    ZooCase("gemma", {**_DECODER, "head_dim": 16}),
    ZooCase("gemma2", {**_DECODER, "head_dim": 16, "sliding_window": 4}),
    ZooCase("gemma3_text", {**_DECODER, "head_dim": 16, "sliding_window": 4}),
    ZooCase("phi", {**_DECODER, "num_key_value_heads": 4}),
    ZooCase("phi3", {**_DECODER, "num_key_value_heads": 4}),
    ZooCase("granite", _DECODER),
    ZooCase("olmo2", _DECODER),
    ZooCase("cohere", _DECODER),
    ZooCase("stablelm", {**_DECODER, "num_key_value_heads": 4}),
    ZooCase("starcoder2", {**_DECODER, "sliding_window": None}),
    ZooCase("gpt2", {**_IDS, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64}),
    ZooCase("gpt_bigcode", {**_IDS, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64}),
    ZooCase("gptj", {**_IDS, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64, "rotary_dim": 8}),
    ZooCase("codegen", {**_IDS, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64, "n_ctx": 64,
                        "rotary_dim": 8}),
    ZooCase("gpt_neox", {**_ENCODER, "rotary_pct": 0.5}),
    ZooCase("opt", {**_IDS, "hidden_size": 32, "ffn_dim": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
                    "word_embed_proj_dim": 32, "max_position_embeddings": 64}),
    ZooCase("falcon", {**_IDS, "hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2}),
    ZooCase("bloom", {**_IDS, "hidden_size": 32, "n_head": 2, "n_layer": 2}),
    ZooCase("mpt", {**_IDS, "d_model": 32, "n_heads": 2, "n_layers": 2, "max_seq_len": 64}),
    # Mixture-of-experts decoders.
    ZooCase("mixtral", {**_DECODER, "num_local_experts": 4, "num_experts_per_tok": 2}),
    ZooCase("qwen2_moe", {**_DECODER, **_MOE, "num_experts": 4, "shared_expert_intermediate_size": 32}),
    ZooCase("qwen3_moe", {**_DECODER, **_MOE, "num_experts": 4, "head_dim": 16}),
    ZooCase("deepseek_v2", {**_DECODER, **_MOE, **_MLA, "n_routed_experts": 4, "n_shared_experts": 1,
                            "first_k_dense_replace": 1, "topk_group": 1, "n_group": 1}),
    ZooCase("deepseek_v3", {**_DECODER, **_MOE, **_MLA, "n_routed_experts": 4, "n_shared_experts": 1,
                            "first_k_dense_replace": 1, "topk_group": 1, "n_group": 1}),
    ZooCase("granitemoe", {**_DECODER, "num_local_experts": 4, "num_experts_per_tok": 2}),
    # Encoders.
    ZooCase("bert", _ENCODER),
    ZooCase("roberta", {**_ENCODER, "max_position_embeddings": 66}),
    ZooCase("xlm-roberta", {**_ENCODER, "max_position_embeddings": 66}),
    ZooCase("deberta-v2", {**_ENCODER, "max_relative_positions": 16, "position_buckets": 8}),
    ZooCase("distilbert", {**_IDS, "dim": 32, "hidden_dim": 64, "n_heads": 2, "n_layers": 2,
                           "max_position_embeddings": 64}),
    ZooCase("electra", {**_ENCODER, "embedding_size": 16}),
    ZooCase("albert", {**_ENCODER, "embedding_size": 16}),
    ZooCase("mobilebert", {**_ENCODER, "embedding_size": 16, "intra_bottleneck_size": 16,
                           "true_hidden_size": 16, "num_feedforward_networks": 1}),
    # Encoder-decoders.
    ZooCase("t5", {**_IDS, "d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1,
                   "num_heads": 2, "decoder_start_token_id": 0}),
    ZooCase("bart", {**_IDS, "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
                     "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
                     "max_position_embeddings": 64, "decoder_start_token_id": 1, "forced_eos_token_id": 1}),
    ZooCase("mbart", {**_IDS, "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
                      "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
                      "max_position_embeddings": 64, "decoder_start_token_id": 1, "forced_eos_token_id": 1}),
    ZooCase("whisper", {**_IDS, "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
                        "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
                        "num_mel_bins": 16, "max_source_positions": 16, "max_target_positions": 32,
                        "decoder_start_token_id": 1, "suppress_tokens": [], "begin_suppress_tokens": [],
                        "architectures": ["WhisperForConditionalGeneration"]},
            inputs="speech"),
    # Vision.
    ZooCase("vit", _VIT),
    ZooCase("deit", _VIT),
    ZooCase("dinov2", _VIT),
    ZooCase("dinov3_vit", {**_VIT, "num_register_tokens": 2}),
    ZooCase("beit", _VIT),
    ZooCase("swin", {"image_size": 32, "patch_size": 4, "embed_dim": 16, "depths": [1, 1], "num_heads": [1, 2],
                     "window_size": 4}),
    ZooCase("convnext", {"num_stages": 2, "hidden_sizes": [8, 16], "depths": [1, 1], "image_size": 32}),
    ZooCase("resnet", {"hidden_sizes": [8, 16], "depths": [1, 1], "embedding_size": 8, "image_size": 32}),
    ZooCase("clip", {"projection_dim": 16, "text_config": _CLIP_TEXT, "vision_config": _VIT}),
    ZooCase("siglip", {"text_config": _CLIP_TEXT, "vision_config": _VIT}),
    # Audio encoders.
    ZooCase("wav2vec2", {**_ENCODER, "conv_dim": [16, 16], "conv_stride": [5, 2], "conv_kernel": [10, 3],
                         "num_conv_pos_embeddings": 8, "num_conv_pos_embedding_groups": 2,
                         "architectures": ["Wav2Vec2ForCTC"], "vocab_size": 32}, inputs="waveform"),
    ZooCase("hubert", {**_ENCODER, "conv_dim": [16, 16], "conv_stride": [5, 2], "conv_kernel": [10, 3],
                       "num_conv_pos_embeddings": 8, "num_conv_pos_embedding_groups": 2,
                       "architectures": ["HubertForCTC"], "vocab_size": 32}, inputs="waveform"),
    # State-space and recurrent.
    ZooCase("mamba", {**_IDS, "hidden_size": 32, "state_size": 8, "num_hidden_layers": 2, "expand": 2,
                      "conv_kernel": 4}),
    ZooCase("mamba2", {**_IDS, "hidden_size": 32, "state_size": 8, "num_hidden_layers": 2, "expand": 2,
                       "num_heads": 4, "head_dim": 16, "n_groups": 1, "chunk_size": 8, "conv_kernel": 4}),
    ZooCase("rwkv", {**_IDS, "hidden_size": 32, "attention_hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "context_length": 16}),
    # Multimodal.
    ZooCase("llava", {"text_config": {**_DECODER, "model_type": "llama"},
                      "vision_config": {**_VIT, "model_type": "clip_vision_model"},
                      "image_token_id": 255}),
    ZooCase("llava_next", {"text_config": {**_DECODER, "model_type": "llama"},
                           "vision_config": {**_VIT, "model_type": "clip_vision_model"},
                           "image_token_id": 255, "image_grid_pinpoints": [[32, 64], [64, 32], [64, 64]]},
            image_size=(32, 48)),
    ZooCase("qwen2_vl", {**_DECODER, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
                         "vision_config": {"depth": 1, "embed_dim": 32, "num_heads": 2, "hidden_size": 64},
                         "image_token_id": 250, "video_token_id": 251, "vision_start_token_id": 252,
                         "vision_end_token_id": 253}, image_size=(56, 56)),
]
