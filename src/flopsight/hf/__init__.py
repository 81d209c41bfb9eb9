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

    Returns:
        A ``flopsight.Profile`` whose metadata also holds ``model_source`` and
        ``input_description``.

    Raises:
        InputError: an argument has a value profile_model cannot use (checked before any work),
            e.g. ``dtype="int8"``.
    """
    from .arguments import check_profile_arguments

    check_profile_arguments(batch_size=batch_size, seq_len=seq_len, image_size=image_size, num_images=num_images,
                            backward=backward, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
    from .build import build_model
    from .inputs import InputSpec, synthesize_inputs
    from .run import profile_forward

    source = resolve_source(model, trust_remote_code=trust_remote_code)
    config = make_config(source)
    built = build_model(config, device=device, dtype=dtype or default_dtype(source),
                        trust_remote_code=bool(source.extra.get("trust_remote_code")))
    inputs = synthesize_inputs(built, InputSpec(batch_size, seq_len, image_size, num_images), device=device)
    result = profile_forward(built, inputs, device=device, backward=backward)
    result.metadata["model_source"] = source.describe()
    return result


def default_dtype(source: ModelSource) -> str:
    """The dtype the checkpoint ships in (its config's ``torch_dtype``), float32 if unstated."""
    stated = source.config.get("dtype") or source.config.get("torch_dtype")
    from .arguments import DTYPE_NAMES

    return stated if stated in DTYPE_NAMES else "float32"
