"""Build the task model of a config (the class with its head), without weights.

On meta (the default) the model has shapes and no storage, so a 405B model builds in a second
and takes no memory. On cpu or cuda the weights are allocated and set to zero, not initialized:
the counts do not depend on their values.
"""

from __future__ import annotations

import contextlib
import copy
import os
from typing import Any

import torch
from torch import nn

from .arguments import ATTENTION_BUILDS, DTYPE_NAMES, check_dtype
from ..errors import InputError
from .errors import DeviceError, ModelSourceError, first_line

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPE_NAMES}

# Auto classes tried in order when the config names no architecture the library has.
_AUTO_CLASSES = (
    "AutoModelForCausalLM",
    "AutoModelForImageTextToText",
    "AutoModelForSeq2SeqLM",
    "AutoModelForMaskedLM",
    "AutoModelForImageClassification",
    "AutoModel",
)


def task_class(config: Any, *, trust_remote_code: bool = False) -> type[nn.Module]:
    """The class with its head: the config's first architecture, else the first Auto class that
    maps this config type (ForCausalLM, ForConditionalGeneration, ForMaskedLM, ...) among those
    taking the inputs of the config's family (``family_of``): the dual-encoder model for CLIP and
    SigLIP, an image classifier for vision configs.

    With ``trust_remote_code``, a config whose ``auto_map`` names the model's own classes gets
    the first of those (loaded from the code beside the config, or from the Hub repository).
    """
    import transformers

    auto_map = getattr(config, "auto_map", None) or {}
    if trust_remote_code and auto_map:
        from transformers.dynamic_module_utils import get_class_from_dynamic_module

        for auto_name in _AUTO_CLASSES:
            if auto_name in auto_map:
                reference = auto_map[auto_name]
                reference = reference[0] if isinstance(reference, (list, tuple)) else reference
                try:
                    cls = get_class_from_dynamic_module(reference, config._name_or_path)
                except Exception as exc:  # noqa: BLE001 (the model's own code can raise anything)
                    raise ModelSourceError(f"the model's code failed to load {reference}: {first_line(exc)}") from None
                return cls

    for name in getattr(config, "architectures", None) or []:
        named = getattr(transformers, name, None)
        if isinstance(named, type) and issubclass(named, nn.Module):
            return named
    for auto_name in _auto_classes(config):
        auto = getattr(transformers, auto_name)
        mapping = getattr(auto, "_model_mapping", None)
        try:
            found = mapping[type(config)]  # type: ignore[index]
        except (KeyError, TypeError):
            continue
        # A mapping may give several classes (deit: the classifier, then the one with a teacher)
        return found[0] if isinstance(found, (list, tuple)) else found  # type: ignore[no-any-return]
    raise ModelSourceError(f"no transformers model class builds a {type(config).__name__}")


def _auto_classes(config: Any) -> tuple[str, ...]:
    """The Auto classes to try for a config without a known architecture, in order: the ones
    whose models take the inputs ``synthesize_inputs`` makes for the config's family."""
    from .inputs import family_of  # inputs imports this module

    family = family_of(config)
    if family == "clip":  # input ids and pixel values: the dual encoder (CLIPModel, SiglipModel)
        return ("AutoModel",)
    if family == "vision":  # pixel values only
        return ("AutoModelForImageClassification", "AutoModel")
    return _AUTO_CLASSES



def build_model(config: Any, *, device: str = "meta", dtype: str | torch.dtype = "float32",
                trust_remote_code: bool = False, task: str | None = None,
                attn_implementation: str = "sdpa") -> nn.Module:
    """Instantiate the task model of ``config`` on ``device`` in ``dtype``, in eval mode.

    Attention uses SDPA where the model supports it; mixture-of-experts layers use the
    ``grouped_mm`` experts on meta (every token runs exactly its top-k experts whatever the
    routing values, and each expert's weights are read once, as a GPU runs them) and one loop
    per expert elsewhere.

    ``trust_remote_code`` lets a config's ``auto_map`` pick the model's own classes (their code
    runs); without it only transformers' classes are built. ``task`` picks the head instead of
    the config's architecture (``tasks.resolve_task``: "base", "masked-lm", a class name, ...).
    ``attn_implementation`` is "sdpa" (falling back to the model's default where it has no
    SDPA), "eager" (the math path) or "flash_attention_2" (built as SDPA: ``ATTENTION_BUILDS``).

    Raises:
        DeviceError: cuda requested but not available, or not enough memory on cpu.
        ModelSourceError: the config cannot build a model.
        InputError: ``dtype`` is not one of "float32", "bfloat16", "float16" or a torch.dtype.
    """
    check_dtype(dtype)
    torch_dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
    _check_device(device)
    if attn_implementation not in ATTENTION_BUILDS:
        raise InputError(f"unknown attention implementation {attn_implementation!r}; choose "
                         f"{', '.join(ATTENTION_BUILDS)}")
    if task is not None:
        from .tasks import resolve_task

        cls, config = resolve_task(config, task)
    else:
        cls = task_class(config, trust_remote_code=trust_remote_code)
    options: dict[str, Any] = {"dtype": torch_dtype, "attn_implementation": ATTENTION_BUILDS[attn_implementation]}
    if _is_moe(config) and hasattr(cls, "set_experts_implementation"):  # transformers >= 5
        # meta: grouped_mm, the experts kernel a GPU runs: each (token, expert) pair multiplied once,
        # whatever the routing values (exact MACs on meta), each expert's weights read once;
        # batched_mm would gather a weight copy per pair, bytes and memory no GPU run spends.
        # Elsewhere: one loop per expert over its tokens.
        options["experts_implementation"] = _meta_experts(torch_dtype) if device == "meta" else "eager"
    model = _instantiate(cls, config, device, options)
    model.eval()
    return model


def _meta_experts(dtype: torch.dtype) -> str:
    """grouped_mm where torch has it for ``dtype`` (its kernels take bfloat16 only, and torch
    before 2.8 has none); else batched_mm, whose FLOPs are the same but whose weight gathers
    overstate the bytes and the memory (docs/roofline.md)."""
    return "grouped_mm" if dtype == torch.bfloat16 and hasattr(torch, "_grouped_mm") else "batched_mm"


def _instantiate(cls: type[nn.Module], config: Any, device: str, options: dict[str, Any]) -> nn.Module:
    model = _construct(cls, config, options, device="meta")
    if device == "meta":
        return model
    _check_memory(model, device)
    del model
    model = _construct(cls, config, options, device=device)
    tie_weights = getattr(model, "tie_weights", None)
    if tie_weights is not None:  # no_init_weights skips init_weights, which also ties
        tie_weights()
    with torch.no_grad():
        # Zeros, not uninitialized memory: every value stays finite, so the few value-dependent
        # steps (masks built from weights, expert routing) are the same on every run.
        for parameter in model.parameters():
            parameter.zero_()
    return model


def _construct(cls: type[nn.Module], config: Any, options: dict[str, Any], *, device: str) -> nn.Module:
    """``cls`` from ``config`` on ``device``, with SDPA attention if the class supports it.

    Off meta, the weights are allocated but not initialized (transformers' ``no_init_weights``,
    restored on exit), while buffers computed in ``__init__`` (rotary frequencies, position ids)
    are computed on the device as usual.
    """
    from_config = getattr(cls, "_from_config", None)
    last: Exception | None = None
    # SDPA falls back to the model's default attention where the model has no SDPA; eager is eager.
    fallback = {k: v for k, v in options.items() if k != "attn_implementation"}
    attempts = [options, fallback] if options.get("attn_implementation") == "sdpa" else [options]
    for kwargs in attempts:
        try:
            with torch.device(device), _without_weight_init(device):
                # from_config writes the implementation choices into the config: give it a copy
                trial = copy.deepcopy(config)
                return from_config(trial, **kwargs) if from_config is not None else cls(trial)
        except (ValueError, ImportError) as exc:  # no SDPA support: build with the default attention
            last = exc
        except (RuntimeError, TypeError, AttributeError, KeyError, IndexError, ZeroDivisionError) as exc:
            # the config's values cannot make the model: negative or missing sizes, heads that do
            # not divide the width, ...
            raise ModelSourceError(f"the config cannot build {cls.__name__} ({first_line(exc)}); check its sizes") from None
    raise ModelSourceError(f"cannot build {cls.__name__}: {first_line(last) if last else ''}")


def _without_weight_init(device: str) -> Any:
    if device == "meta":
        return contextlib.nullcontext()
    try:
        from transformers import initialization
    except ImportError:  # transformers 4.x keeps it in modeling_utils
        from transformers import modeling_utils as initialization  # type: ignore[no-redef]
    return initialization.no_init_weights()


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
        available = available_ram()
    else:
        available, _ = torch.cuda.mem_get_info()
    if available and needed > available:
        raise DeviceError(
            f"the weights need {needed / 2**30:.1f} GiB and {device} has {available / 2**30:.1f} GiB available; "
            "use --device meta (no memory needed)"
        )


def available_ram(meminfo: str = "/proc/meminfo") -> int:
    """Bytes of RAM a new allocation can get: MemAvailable (free pages plus the page cache and
    other memory the kernel can reclaim), not MemFree, which a large file read drives to
    nothing. 0 when unknown (no /proc: then nothing is refused)."""
    try:
        with open(meminfo, encoding="ascii") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return 0
