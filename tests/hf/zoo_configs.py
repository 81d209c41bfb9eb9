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
    # "waveform": raw audio samples; "video": frames [batch, frames, channels, height, width]; "clip":
    # captions and images (image-text models that synthesize_inputs does not know); "speech_features": filter-bank
    # features [batch, frames, features]; "codec": mono audio [batch, 1, samples]; "image_text":
    # one image per sample and ``image_tokens`` image tokens leading its text ("pixels" and "token_types" are no longer needed:
    # synthesize_inputs gives BEiT pixel values and XLM-R token type ids).
    inputs: str = "auto"
    image_size: tuple[int, int] | None = None
    # "image_text": each sample is one image whose features fill this many image tokens
    image_tokens: int = 0


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

_SEQ2SEQ = {**_IDS, "d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
            "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
            "max_position_embeddings": 64, "decoder_start_token_id": 1, "forced_eos_token_id": 1}
_T5 = {**_IDS, "d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2,
       "decoder_start_token_id": 0}
_W2V = {**_ENCODER, "conv_dim": [16, 16], "conv_stride": [5, 2], "conv_kernel": [10, 3],
        "num_conv_pos_embeddings": 8, "num_conv_pos_embedding_groups": 2, "vocab_size": 32}
_MAMBA = {"mamba_d_state": 8, "mamba_d_conv": 4, "mamba_expand": 2, "use_mamba_kernels": False}

_DETR = {"use_timm_backbone": False, "use_pretrained_backbone": False, "d_model": 32, "encoder_layers": 1,
         "decoder_layers": 1, "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 64,
         "decoder_ffn_dim": 64, "num_queries": 8}
_DETR_RESNET = {"model_type": "resnet", "hidden_sizes": [8, 16], "depths": [1, 1], "embedding_size": 8}

CASES += [
    # Dense and MoE decoders (second batch).
    ZooCase("olmo", _DECODER),
    ZooCase("olmoe", {**_DECODER, "num_experts": 4, "num_experts_per_tok": 2}),
    ZooCase("phimoe", {**_DECODER, "num_local_experts": 4, "num_experts_per_tok": 2}),
    ZooCase("llama4_text", {**_DECODER, "head_dim": 16, "intermediate_size_mlp": 96, "num_local_experts": 4,
                            "num_experts_per_tok": 1, "interleave_moe_layer_step": 2}),
    ZooCase("qwen3_next", {**_DECODER, **_MOE, "num_experts": 4, "head_dim": 16, "linear_num_value_heads": 4,
                           "linear_num_key_heads": 2, "linear_key_head_dim": 16, "linear_value_head_dim": 16,
                           "shared_expert_intermediate_size": 32, "full_attention_interval": 2}),
    ZooCase("jamba", {**_DECODER, **_MAMBA, "num_experts": 4, "num_experts_per_tok": 2, "expert_layer_period": 2,
                      "expert_layer_offset": 1, "attn_layer_period": 2, "attn_layer_offset": 1, "mamba_dt_rank": 4}),
    ZooCase("zamba", {**_DECODER, **_MAMBA, "attention_hidden_size": 128, "num_hidden_layers": 3,
                      "layers_block_type": ["mamba", "hybrid", "hybrid"], "mamba_dt_rank": 4, "n_mamba_heads": 2}),
    ZooCase("zamba2", {**_DECODER, **_MAMBA, "num_hidden_layers": 2, "mamba_ngroups": 1, "n_mamba_heads": 8,
                       "layers_block_type": ["mamba", "hybrid"], "chunk_size": 8}),
    ZooCase("falcon_mamba", {**_IDS, "hidden_size": 32, "state_size": 8, "num_hidden_layers": 2, "expand": 2,
                             "conv_kernel": 4, "use_mambapy": False}),
    ZooCase("falcon_h1", {**_DECODER, "head_dim": 16, "mamba_d_ssm": 64, "mamba_n_heads": 4, "mamba_d_head": 16,
                          "mamba_n_groups": 1, "mamba_d_state": 8, "mamba_d_conv": 4, "mamba_expand": 2,
                          "mamba_chunk_size": 8}),
    ZooCase("nemotron", {**_DECODER, "head_dim": 16}),
    ZooCase("exaone4", {**_DECODER, "head_dim": 16}),
    ZooCase("glm", {**_DECODER, "head_dim": 16}),
    ZooCase("glm4", {**_DECODER, "head_dim": 16}),
    ZooCase("helium", {**_DECODER, "head_dim": 16}),
    ZooCase("smollm3", _DECODER),
    ZooCase("ernie4_5", {**_DECODER, "head_dim": 16}),
    ZooCase("seed_oss", {**_DECODER, "head_dim": 16}),
    ZooCase("hunyuan_v1_dense", {**_DECODER, "head_dim": 16}),
    ZooCase("persimmon", {**_ENCODER, "vocab_size": VOCAB}),
    ZooCase("xglm", {**_IDS, "d_model": 32, "ffn_dim": 64, "num_layers": 2, "attention_heads": 2,
                     "max_position_embeddings": 64}),
    ZooCase("ctrl", {**_IDS, "n_embd": 32, "dff": 64, "n_layer": 2, "n_head": 2, "n_positions": 64}),
    ZooCase("biogpt", {**_ENCODER}),
    ZooCase("gpt_neo", {**_IDS, "hidden_size": 32, "num_layers": 2, "num_heads": 2, "attention_types": [[["global", "local"], 1]],
                        "max_position_embeddings": 64, "window_size": 4}),
    # Encoders (second batch).
    ZooCase("camembert", {**_ENCODER, "max_position_embeddings": 66}),
    ZooCase("mpnet", {**_ENCODER, "max_position_embeddings": 66}),
    ZooCase("roformer", _ENCODER),
    ZooCase("ernie", _ENCODER),
    ZooCase("rembert", {**_ENCODER, "input_embedding_size": 16, "output_embedding_size": 16}),
    ZooCase("esm", {**_ENCODER, "pad_token_id": 1, "mask_token_id": 3, "max_position_embeddings": 66}),
    ZooCase("data2vec-text", {**_ENCODER, "max_position_embeddings": 66}),
    ZooCase("funnel", {**_IDS, "block_sizes": [1, 1], "d_model": 32, "n_head": 2, "d_head": 16, "d_inner": 64,
                       "num_decoder_layers": 1}),
    ZooCase("xlnet", {**_IDS, "d_model": 32, "n_layer": 2, "n_head": 2, "d_inner": 64}),
    ZooCase("longformer", {**_ENCODER, "attention_window": 4, "max_position_embeddings": 66}),
    ZooCase("big_bird", {**_ENCODER, "attention_type": "original_full"}),
    ZooCase("modernbert", {**_ENCODER, "global_attn_every_n_layers": 2, "local_attention": 4}),
    ZooCase("deberta", _ENCODER),
    ZooCase("squeezebert", {**_ENCODER, "embedding_size": 32}),
    ZooCase("convbert", {**_ENCODER, "embedding_size": 32}),
    ZooCase("canine", {**_ENCODER, "downsampling_rate": 2, "num_hash_buckets": 64, "local_transformer_stride": 4}),
    ZooCase("xmod", {**_ENCODER, "max_position_embeddings": 66, "languages": ["en_XX"], "default_language": "en_XX"}),
    # Encoder-decoders (second batch).
    ZooCase("pegasus", _SEQ2SEQ),
    ZooCase("marian", {**_SEQ2SEQ, "decoder_vocab_size": VOCAB}),
    ZooCase("m2m_100", _SEQ2SEQ),
    ZooCase("led", {**_SEQ2SEQ, "attention_window": 4, "max_encoder_position_embeddings": 64,
                    "max_decoder_position_embeddings": 64}),
    ZooCase("blenderbot", _SEQ2SEQ),
    ZooCase("blenderbot-small", _SEQ2SEQ),
    ZooCase("plbart", _SEQ2SEQ),
    ZooCase("nllb-moe", {**_SEQ2SEQ, "num_experts": 4, "expert_capacity": 8, "encoder_sparse_step": 1,
                         "decoder_sparse_step": 1}),
    ZooCase("switch_transformers", {**_T5, "num_experts": 4, "expert_capacity": 8, "num_sparse_encoder_layers": 1,
                                    "num_sparse_decoder_layers": 1}),
    ZooCase("longt5", _T5),
    ZooCase("umt5", _T5),
    ZooCase("mt5", _T5),
    ZooCase("prophetnet", {**_IDS, "hidden_size": 32, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "num_encoder_layers": 1,
                           "num_decoder_layers": 1, "num_encoder_attention_heads": 2, "num_decoder_attention_heads": 2,
                           "max_position_embeddings": 64, "ngram": 2, "num_buckets": 8, "decoder_start_token_id": 0}),
    # Audio encoders (second batch).
    ZooCase("wavlm", {**_W2V, "num_buckets": 8, "max_bucket_distance": 16, "architectures": ["WavLMForCTC"]},
            inputs="waveform"),
    ZooCase("data2vec-audio", {**_W2V, "architectures": ["Data2VecAudioForCTC"]}, inputs="waveform"),
    ZooCase("unispeech", {**_W2V, "architectures": ["UniSpeechForCTC"]}, inputs="waveform"),
    ZooCase("unispeech-sat", {**_W2V, "architectures": ["UniSpeechSatForCTC"]}, inputs="waveform"),
    ZooCase("sew", {**_W2V, "squeeze_factor": 2, "architectures": ["SEWForCTC"]}, inputs="waveform"),
    ZooCase("wav2vec2-conformer", {**_W2V, "position_embeddings_type": "rotary",
                                   "architectures": ["Wav2Vec2ConformerForCTC"]}, inputs="waveform"),
    # Vision (second batch).
    ZooCase("data2vec-vision", _VIT),
    ZooCase("vit_msn", _VIT),
    ZooCase("vit_mae", {**_VIT, "decoder_hidden_size": 32, "decoder_intermediate_size": 64,
                        "decoder_num_hidden_layers": 1, "decoder_num_attention_heads": 2}),
    ZooCase("yolos", {**_VIT, "image_size": [32, 32], "num_detection_tokens": 4}),
    ZooCase("swinv2", {"image_size": 32, "patch_size": 4, "embed_dim": 16, "depths": [1, 1], "num_heads": [1, 2],
                       "window_size": 4}),
    ZooCase("convnextv2", {"num_stages": 2, "hidden_sizes": [8, 16], "depths": [1, 1], "image_size": 32}),
    ZooCase("regnet", {"hidden_sizes": [8, 16], "depths": [1, 1], "embedding_size": 8, "groups_width": 8}),
    ZooCase("bit", {"hidden_sizes": [8, 16, 16, 16], "depths": [1, 1, 1, 1], "embedding_size": 8, "num_groups": 4}),
    ZooCase("mobilenet_v1", {"image_size": 32, "depth_multiplier": 0.25}),
    ZooCase("mobilenet_v2", {"image_size": 32, "depth_multiplier": 0.25}),
    ZooCase("mobilevit", {"image_size": 32, "hidden_sizes": [16, 16, 16], "neck_hidden_sizes": [8, 8, 16, 16, 16, 16, 32],
                          "patch_size": 2, "num_attention_heads": 2}),
    ZooCase("efficientnet", {"image_size": 32, "width_coefficient": 0.1, "depth_coefficient": 0.1, "hidden_dim": 128}),
    ZooCase("levit", {"image_size": 32, "hidden_sizes": [16, 32, 48], "num_attention_heads": [1, 2, 3], "depths": [1, 1, 1],
                      "key_dim": [8, 8, 8], "patch_size": 16}),
    ZooCase("poolformer", {"hidden_sizes": [8, 16, 16, 16], "depths": [1, 1, 1, 1], "image_size": 32}),
    ZooCase("segformer", {"image_size": 32, "hidden_sizes": [8, 16, 16, 16], "depths": [1, 1, 1, 1],
                          "num_attention_heads": [1, 1, 1, 1], "decoder_hidden_size": 16}),
    ZooCase("hiera", {"image_size": [32, 32], "embed_dim": 8, "depths": [1, 1], "num_heads": [1, 1],
                      "patch_stride": [4, 4], "patch_size": [7, 7], "patch_padding": [3, 3], "query_stride": [2, 2],
                      "masked_unit_size": [4, 4], "embed_dim_multiplier": 2.0, "num_query_pool": 1}),
    ZooCase("vitdet", {**_VIT, "pretrain_image_size": 32}),
    ZooCase("focalnet", {"image_size": 32, "embed_dim": 8, "depths": [1, 1], "patch_size": 4}),
    ZooCase("glpn", {"hidden_sizes": [8, 16, 16, 16], "depths": [1, 1, 1, 1], "num_attention_heads": [1, 1, 1, 1],
                     "decoder_hidden_size": 16}, image_size=(32, 32)),
    ZooCase("dpt", {**_VIT, "image_size": 32, "neck_hidden_sizes": [8, 8, 16, 16], "fusion_hidden_size": 16,
                    "backbone_out_indices": [0, 1, 0, 1], "num_hidden_layers": 2}),
    ZooCase("pvt", {"image_size": 32, "hidden_sizes": [8, 16, 16, 16], "depths": [1, 1, 1, 1],
                    "num_attention_heads": [1, 1, 1, 1]}),
    ZooCase("pvt_v2", {"image_size": 32, "hidden_sizes": [8, 16, 16, 16], "depths": [1, 1, 1, 1],
                       "num_attention_heads": [1, 1, 1, 1]}),
    ZooCase("ijepa", _VIT),
    ZooCase("vivit", {**_VIT, "num_frames": 4, "tubelet_size": [2, 8, 8]}, inputs="video"),
    ZooCase("timesformer", {**_VIT, "num_frames": 2}, inputs="video"),
    ZooCase("videomae", {**_VIT, "num_frames": 4, "tubelet_size": 2, "use_mean_pooling": True}, inputs="video"),
    # Image-text models (captions and images, as CLIP; second batch).
    ZooCase("chinese_clip", {"projection_dim": 16, "text_config": _CLIP_TEXT, "vision_config": _VIT}, inputs="clip"),
    ZooCase("altclip", {"projection_dim": 16, "text_config": {**_CLIP_TEXT, "project_dim": 16,
                                                               "max_position_embeddings": 18},
                        "vision_config": _VIT}, inputs="clip"),
    ZooCase("owlvit", {"projection_dim": 16, "text_config": _CLIP_TEXT, "vision_config": _VIT}, inputs="clip"),
    ZooCase("owlv2", {"projection_dim": 16, "text_config": _CLIP_TEXT, "vision_config": _VIT}, inputs="clip"),
    ZooCase("groupvit", {"projection_dim": 16, "projection_intermediate_dim": 32, "text_config": _CLIP_TEXT,
                         "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
                                           "depths": [1, 1], "num_group_tokens": [4, 0], "num_output_groups": [4, 4],
                                           "image_size": 32, "patch_size": 8}}, inputs="clip"),
    ZooCase("blip", {"projection_dim": 16, "text_config": {**_CLIP_TEXT, "vocab_size": VOCAB}, "vision_config": _VIT},
            inputs="clip"),
    # Vision-language decoders (second batch): one 32 x 32 image per sample.
    ZooCase("paligemma", {"text_config": {**_DECODER, "model_type": "gemma", "head_dim": 16},
                          "vision_config": {**_VIT, "model_type": "siglip_vision_model"},
                          "image_token_id": 255, "projection_dim": 64}, inputs="image_text", image_tokens=16),
    ZooCase("gemma3", {"text_config": {**_DECODER, "model_type": "gemma3_text", "head_dim": 16, "sliding_window": 4},
                       "vision_config": {**_VIT, "model_type": "siglip_vision_model"}, "mm_tokens_per_image": 4,
                       "image_token_id": 255, "boi_token_index": 253, "eoi_token_index": 254},
            inputs="image_text", image_tokens=4),
    ZooCase("mistral3", {"text_config": {**_DECODER, "model_type": "mistral", "head_dim": 16},
                         "vision_config": {**_VIT, "model_type": "pixtral", "head_dim": 16},
                         "image_token_id": 255, "spatial_merge_size": 2}, inputs="image_text", image_tokens=4),
    ZooCase("idefics3", {"text_config": {**_DECODER, "model_type": "llama"},
                         "vision_config": {**_VIT, "model_type": "idefics3_vision"}, "scale_factor": 2,
                         "image_token_id": 255}, inputs="image_text", image_tokens=4),
    ZooCase("smolvlm", {"text_config": {**_DECODER, "model_type": "llama"},
                        "vision_config": {**_VIT, "model_type": "smolvlm_vision"}, "scale_factor": 2,
                        "image_token_id": 255}, inputs="image_text", image_tokens=4),
    ZooCase("internvl", {"text_config": {**_DECODER, "model_type": "qwen2"},
                         "vision_config": {**_VIT, "model_type": "internvl_vision", "image_size": [32, 32],
                                           "patch_size": [8, 8]},
                         "downsample_ratio": 0.5, "image_token_id": 255}, inputs="image_text", image_tokens=4),
    ZooCase("qwen2_5_vl", {"text_config": {**_DECODER, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}},
                           "vision_config": {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                                             "out_hidden_size": 64, "fullatt_block_indexes": [0], "window_size": 56},
                           "image_token_id": 250, "video_token_id": 251, "vision_start_token_id": 252,
                           "vision_end_token_id": 253}, image_size=(56, 56)),
    ZooCase("blip-2", {"vision_config": _VIT, "qformer_config": {"hidden_size": 32, "num_hidden_layers": 1,
                                                                 "num_attention_heads": 2, "intermediate_size": 64,
                                                                 "encoder_hidden_size": 32, "vocab_size": VOCAB},
                       "text_config": {**_IDS, "model_type": "opt", "hidden_size": 32, "ffn_dim": 64,
                                       "num_attention_heads": 2, "num_hidden_layers": 2, "word_embed_proj_dim": 32,
                                       "max_position_embeddings": 64},
                       "num_query_tokens": 4, "image_token_index": 255}, inputs="image_text", image_tokens=4),
    # Detection and dense prediction (second batch), on 32 x 32 images.
    ZooCase("detr", {**_DETR, "backbone_config": {**_DETR_RESNET, "out_features": ["stage2"]}}, inputs="pixels",
            image_size=(32, 32)),
    ZooCase("conditional_detr", {**_DETR, "backbone_config": {**_DETR_RESNET, "out_features": ["stage2"]}},
            inputs="pixels", image_size=(32, 32)),
    ZooCase("table-transformer", {**_DETR, "backbone_config": {**_DETR_RESNET, "out_features": ["stage2"]}},
            inputs="pixels", image_size=(32, 32)),
    ZooCase("deformable_detr", {**_DETR, "backbone_config": {**_DETR_RESNET, "out_features": ["stage1", "stage2"]},
                                "num_feature_levels": 2, "encoder_n_points": 2, "decoder_n_points": 2},
            inputs="pixels", image_size=(32, 32)),
    ZooCase("dinov2_with_registers", {**_VIT, "num_register_tokens": 2}),
    ZooCase("swiftformer", {"depths": [1, 1, 1, 1], "embed_dims": [8, 16, 16, 16], "image_size": 32},
            inputs="pixels", image_size=(32, 32)),
    ZooCase("speech_to_text", {**_SEQ2SEQ, "num_conv_layers": 2, "conv_channels": 16, "input_feat_per_channel": 16,
                               "input_channels": 1, "max_source_positions": 16, "max_target_positions": 32},
            inputs="speech_features"),
    ZooCase("dac", {"encoder_hidden_size": 8, "downsampling_ratios": [2, 4], "decoder_hidden_size": 16,
                    "n_codebooks": 2, "codebook_size": 32, "codebook_dim": 4, "hidden_size": 32}, inputs="codec"),
]
