"""Build the task model of a config (the class with its head), without weights.

On meta (the default) the model has shapes and no storage, so a 405B model builds in a second
and takes no memory. On cpu or cuda the weights are allocated but left uninitialized: the
counts do not depend on their values.
"""

from __future__ import annotations

import contextlib
import copy
import os
from typing import Any

import torch
from torch import nn

from .errors import DeviceError, ModelSourceError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# Auto classes tried in order when the config names no architecture the library has.
_AUTO_CLASSES = (
    "AutoModelForCausalLM",
    "AutoModelForImageTextToText",
    "AutoModelForSeq2SeqLM",
    "AutoModelForMaskedLM",
    "AutoModelForImageClassification",
    "AutoModel",
)


def task_class(config: Any) -> type[nn.Module]:
    """The class with its head: the config's first architecture, else the first Auto class that
    maps this config type (ForCausalLM, ForConditionalGeneration, ForMaskedLM, ...)."""
    import transformers

    for name in getattr(config, "architectures", None) or []:
        cls = getattr(transformers, name, None)
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            return cls
    for auto_name in _AUTO_CLASSES:
        auto = getattr(transformers, auto_name)
        mapping = getattr(auto, "_model_mapping", None)
        try:
            return mapping[type(config)]  # type: ignore[no-any-return]
        except (KeyError, TypeError):
            continue
    raise ModelSourceError(f"no transformers model class builds a {type(config).__name__}")


def build_model(config: Any, *, device: str = "meta", dtype: str | torch.dtype = "float32") -> nn.Module:
    """Instantiate the task model of ``config`` on ``device`` in ``dtype``, in eval mode.

    Attention uses SDPA where the model supports it; mixture-of-experts layers use the
    routing-independent ``batched_mm`` experts on meta (every token runs exactly its top-k
    experts, as it does on any device) and the library default elsewhere.

    Raises:
        DeviceError: cuda requested but not available, or not enough memory on cpu.
        ModelSourceError: the config cannot build a model.
    """
    torch_dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
    _check_device(device)
    cls = task_class(config)
    options: dict[str, Any] = {"dtype": torch_dtype}
    if _is_moe(config) and device == "meta":
        options["experts_implementation"] = "batched_mm"
    with _quiet_transformers():
        model = _instantiate(cls, config, device, options)
    model.eval()
    return model


def _instantiate(cls: type[nn.Module], config: Any, device: str, options: dict[str, Any]) -> nn.Module:
    from_config = getattr(cls, "_from_config", None)
    attempts = [{**options, "attn_implementation": "sdpa"}, options]
    last: Exception | None = None
    for kwargs in attempts:
        try:
            with torch.device("meta"):
                # from_config writes the implementation choices into the config: give it a copy
                trial = copy.deepcopy(config)
                model = from_config(trial, **kwargs) if from_config else cls(trial)
            break
        except (ValueError, ImportError) as exc:  # no SDPA support: build with the default attention
            last = exc
    else:
        raise ModelSourceError(f"cannot build {cls.__name__}: {str(last).splitlines()[0] if last else ''}")
    if device != "meta":
        _check_memory(model, device)
        model = model.to_empty(device=device)
        _init_buffers(model, config, device)
    return model


def _init_buffers(model: nn.Module, config: Any, device: str) -> None:
    """Recompute non-persistent buffers (rotary frequencies, position ids) lost by ``to_empty``."""
    for module in model.modules():
        if hasattr(module, "rope_init_fn") and hasattr(module, "inv_freq"):
            inv_freq, _ = module.rope_init_fn(module.config, torch.device(device))
            module.inv_freq = inv_freq
            if hasattr(module, "original_inv_freq"):
                module.original_inv_freq = inv_freq
    for name, buffer in model.named_buffers():
        if name.endswith("position_ids") and buffer.dtype == torch.long:
            buffer.copy_(torch.arange(buffer.shape[-1], device=device).expand_as(buffer))


def _is_moe(config: Any) -> bool:
    names = ("num_local_experts", "n_routed_experts", "num_experts")
    configs = [config] + [getattr(config, key, None) for key in getattr(config, "sub_configs", {})]
    return any(getattr(c, n, None) for c in configs if c is not None for n in names)


def _check_device(device: str) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: CUDA is not available on this machine; use --device meta (no GPU needed)")
    if device not in ("meta", "cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}; choose meta, cpu or cuda")


def _check_memory(model: nn.Module, device: str) -> None:
    needed = sum(p.numel() * p.element_size() for p in model.parameters())
    if device == "cpu":
        available = _available_ram()
    else:
        available, _ = torch.cuda.mem_get_info()
    if available and needed > available:
        raise DeviceError(
            f"the weights need {needed / 2**30:.1f} GiB and {device} has {available / 2**30:.1f} GiB free; "
            "use --device meta (no memory needed)"
        )


def _available_ram() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


@contextlib.contextmanager
def _quiet_transformers() -> Any:
    """Silence transformers' logging (hints about weights and kernels) while a model is built."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)
