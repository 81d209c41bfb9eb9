"""Every bundled config gives the parameter count published for its checkpoint.

The count is flopsight's own (``Profile.params``: each parameter once, tied ones once), read
from the task model built on meta from the bundled config. Sources of the published figures:
HF = the Hugging Face Hub's safetensors metadata of the checkpoint (the exact total the model
page rounds, e.g. "8.03B params"); KerasHub = the ``params`` of the keras-hub preset of the
same checkpoint; model card / paper where the figure is stated there.
"""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from flopsight.records import CaptureResult  # noqa: E402
from flopsight.hf import build_model, bundled_models, make_config, resolve_source  # noqa: E402
from flopsight.tree.build import build_profile  # noqa: E402

PUBLISHED = {
    # openai-community/gpt2: GPT2LMHeadModel, lm_head tied to wte and counted once (HF "124M";
    # 124,439,808 is GPT-2 small's figure in the HF docs and in every param-count tool).
    "gpt2": 124_439_808,
    # google-bert/bert-base-uncased as BertForMaskedLM, its architecture (paper, Table 1: 110M).
    # The task model has no pooler (590,592) and no NSP head (1,538) of the pre-training checkpoint.
    "bert-base-uncased": 109_514_298,
    # google-t5/t5-base: T5ForConditionalGeneration, shared embeddings tied (KerasHub "t5_base" preset).
    "t5-base": 222_903_552,
    # meta-llama/Llama-2-7b-hf (HF "6.74B").
    "llama-2-7b": 6_738_415_616,
    # meta-llama/Meta-Llama-3-8B (HF "8.03B").
    "llama-3-8b": 8_030_261_248,
    # meta-llama/Meta-Llama-3-70B (HF "70.6B").
    "llama-3-70b": 70_553_706_496,
    # meta-llama/Llama-3.1-405B (HF "406B"; Llama 3 paper, Table 3: 405B).
    "llama-3.1-405b": 405_853_388_800,
    # mistralai/Mistral-7B-v0.1 (HF "7.24B").
    "mistral-7b": 7_241_732_096,
    # mistralai/Mixtral-8x7B-v0.1 (HF "46.7B"; Mixtral paper: 47B total parameters).
    "mixtral-8x7b": 46_702_792_704,
    # Qwen/Qwen2-7B (HF "7.62B").
    "qwen2-7b": 7_615_616_512,
    # Qwen/Qwen2-VL-7B-Instruct (HF "8.29B"): 675.8M vision tower + merger, 7.6B language model.
    "qwen2-vl-7b": 8_291_375_616,
    # llava-hf/llama3-llava-next-8b-hf (HF "8.36B"): CLIP ViT-L/14-336 tower, projector,
    # image newline, Llama-3-8B with 64 added tokens (vocabulary 128,320).
    "llava-next-8b": 8_355_276_800,
    # openai/clip-vit-large-patch14-336: CLIPModel (KerasHub "clip_vit_large_patch14_336": 427,944,193).
    "clip-vit-large-patch14-336": 427_944_193,
    # google/vit-base-patch16-224: ViTForImageClassification with the 1000-class head (HF "86.6M").
    "vit-base-patch16-224": 86_567_656,
    # microsoft/resnet-50: ResNetForImageClassification (HF "25.6M", torchvision resnet50: 25,557,032).
    "resnet-50": 25_557_032,
    # deepseek-ai/DeepSeek-V2-Lite: 15.7B total, 2.4B active (DeepSeek-V2 paper and model card; HF "15.7B").
    "deepseek-v2-lite": 15_706_484_224,
}


def test_every_bundled_model_has_a_published_count() -> None:
    assert set(PUBLISHED) == set(bundled_models())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_bundled_model_parameter_count_is_the_published_one(name: str) -> None:
    model = build_model(make_config(resolve_source(name)), device="meta", dtype="bfloat16")
    profile = build_profile(model, CaptureResult(), metadata={})  # parameters only, no run
    assert profile.params == PUBLISHED[name]
    assert bundled_models()[name].params == PUBLISHED[name]  # what `flopsight models` lists


def test_deepseek_style_moe_is_bundled_when_transformers_has_it() -> None:
    import transformers

    if not hasattr(transformers, "DeepseekV2ForCausalLM"):
        pytest.skip("this transformers has no DeepSeek-V2 class")
    assert bundled_models()["deepseek-v2-lite"].family == "deepseek_v2"
