"""Profile Hugging Face models from their config alone: bundled configs, task models built on
meta, synthesized inputs per family, and generate mode.

Importing this package does not import transformers; the functions that need it import it
when called (``pip install 'flopsight[hf]'``).

Example:
    >>> from flopsight.hf import profile_model
    >>> p = profile_model("gpt2", seq_len=128)    # doctest: +SKIP
    >>> p.params
    124439808
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .catalog import BundledModel, bundled_model, bundled_models, close_matches
from .errors import DeviceError, InputSpecError, ModelSourceError
from .source import ModelSource, make_config, resolve_source

if TYPE_CHECKING:
    from .build import build_model, task_class
    from .inputs import InputSpec, ModelInputs, family_of, synthesize_inputs
    from .run import GenerationProfile, profile_forward, profile_generation
    from .tasks import TASKS, resolve_task, valid_tasks

# Names whose modules import torch, imported on first use (PEP 562): `flopsight models` and
# the config checks need no torch.
_LAZY = {
    "build_model": "build", "task_class": "build",
    "InputSpec": "inputs", "ModelInputs": "inputs", "family_of": "inputs", "synthesize_inputs": "inputs",
    "GenerationProfile": "run", "profile_forward": "run", "profile_generation": "run",
    "TASKS": "tasks", "resolve_task": "tasks", "valid_tasks": "tasks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flopsight.hf' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BundledModel",
    "DeviceError",
    "GenerationProfile",
    "InputSpec",
    "InputSpecError",
    "ModelInputs",
    "ModelSource",
    "ModelSourceError",
    "TASKS",
    "build_model",
    "bundled_model",
    "bundled_models",
    "close_matches",
    "default_dtype",
    "family_of",
    "make_config",
    "profile_forward",
    "profile_generation",
    "profile_model",
    "resolve_source",
    "resolve_task",
    "synthesize_inputs",
    "task_class",
    "valid_tasks",
]


def profile_model(
    model: str,
    *,
    batch_size: int = 1,
    seq_len: int | None = None,
    image_size: tuple[int, int] | None = None,
    num_images: int | None = None,
    backward: bool = False,
    device: str = "meta",
    dtype: str | None = None,
    trust_remote_code: bool = False,
    task: str | None = None,
    attn_implementation: str | None = None,
    module: str | None = None,
) -> Any:
    """Build ``model`` (a bundled name, config file, folder or Hub id) without weights and
    profile one forward on synthesized inputs.

    Args:
        model: what to profile; see ``resolve_source``.
        batch_size, seq_len, image_size, num_images: input sizes (None: the family's default).
        backward: also measure the backward pass.
        device: "meta" (default, no memory), "cpu" or "cuda".
        dtype: "float32", "bfloat16" or "float16"; None takes the checkpoint's dtype.
        trust_remote_code: allow a Hub config that runs remote code.
        task: the head to build instead of the config's architecture: "base", "causal-lm",
            "masked-lm", "seq2seq-lm", "sequence-classification", "image-classification" or a
            transformers class name (``resolve_task``); as ``flopsight profile --task``.
        attn_implementation: "sdpa" (None: the default), "eager" or "flash_attention_2" (priced
            as SDPA's fused flash kernel); as ``--attn-implementation``.
        module: profile only the submodule at this ``named_modules()`` path, on the inputs it
            gets inside one forward of the whole model; as ``--module``.

    Returns:
        A ``flopsight.Profile`` whose metadata also holds ``model_source``, ``input_description``
        and ``attention`` (and ``module`` with ``module``), as the CLI's JSON report.

    Raises:
        InputError: an argument has a value profile_model cannot use (checked before any work),
            e.g. ``dtype="int8"``.
    """
    from .arguments import check_profile_arguments

    check_profile_arguments(batch_size=batch_size, seq_len=seq_len, image_size=image_size, num_images=num_images,
                            backward=backward, device=device, dtype=dtype, trust_remote_code=trust_remote_code,
                            task=task, attn_implementation=attn_implementation, module=module)
    from .build import build_model
    from .inputs import InputSpec, synthesize_inputs
    from .target import choose_target, describe_forward, profile_target

    attention = attn_implementation or "sdpa"
    source = resolve_source(model, trust_remote_code=trust_remote_code)
    config = make_config(source)
    built = build_model(config, device=device, dtype=dtype or default_dtype(source),
                        trust_remote_code=bool(source.extra.get("trust_remote_code")), task=task,
                        attn_implementation=attention)
    inputs = synthesize_inputs(built, InputSpec(batch_size, seq_len, image_size, num_images), device=device)
    result = profile_target(choose_target(built, inputs, module, device=device), inputs, device=device,
                            backward=backward)
    describe_forward(result.metadata, source, built, task=task, attn_implementation=attention)
    return result


def default_dtype(source: ModelSource) -> str:
    """The dtype the checkpoint ships in (its config's ``torch_dtype``), float32 if unstated."""
    stated = source.config.get("dtype") or source.config.get("torch_dtype")
    from .arguments import DTYPE_NAMES

    return stated if stated in DTYPE_NAMES else "float32"
