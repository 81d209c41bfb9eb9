"""Checks of ``profile_model`` and ``build_model`` arguments, made before any work (no torch).

Each bad value gets one ``InputError`` naming the argument, the value and what is accepted.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

DTYPE_NAMES = ("float32", "bfloat16", "float16")
DEVICES = ("meta", "cpu", "cuda")
# --attn-implementation: what each request builds. flash-attn is not installed where flopsight
# counts (meta, CPU): flash_attention_2 builds the SDPA path, whose fused flash kernel is the
# op flopsight prices for it (on meta, ``capture.attention_on_meta`` runs SDPA as that kernel).
ATTENTION_BUILDS = {"sdpa": "sdpa", "eager": "eager", "flash_attention_2": "sdpa"}
ATTENTION_IMPLEMENTATIONS = tuple(ATTENTION_BUILDS)


def check_dtype(dtype: Any) -> None:
    """``dtype`` names one of ``DTYPE_NAMES`` (a ``torch.dtype`` is checked by torch itself)."""
    if isinstance(dtype, str):
        if dtype not in DTYPE_NAMES:
            raise InputError(f"dtype={dtype!r}: choose one of {_choices(DTYPE_NAMES)}")
    elif type(dtype).__name__ != "dtype":  # torch.dtype, without importing torch
        raise InputError(f"dtype={dtype!r}: give a name, one of {_choices(DTYPE_NAMES)}, or a torch.dtype")


def check_device(device: Any) -> None:
    if device not in DEVICES:
        raise InputError(f"device={device!r}: choose one of {_choices(DEVICES)}")


def check_profile_arguments(*, batch_size: Any, seq_len: Any, image_size: Any, num_images: Any,
                            backward: Any, device: Any, dtype: Any, trust_remote_code: Any, task: Any = None,
                            attn_implementation: Any = None, module: Any = None) -> None:
    """Refuse what ``profile_model`` cannot use before it reads a config or builds a model."""
    _positive("batch_size", batch_size)
    for name, value in (("seq_len", seq_len), ("num_images", num_images)):
        if value is not None:
            _positive(name, value)
    if image_size is not None and not (
        isinstance(image_size, (tuple, list)) and len(image_size) == 2 and all(_is_positive(n) for n in image_size)
    ):
        raise InputError(f"image_size={image_size!r}: give (height, width), two positive integers, or None")
    for name, value in (("backward", backward), ("trust_remote_code", trust_remote_code)):
        if not isinstance(value, bool):
            raise InputError(f"{name}={value!r}: give True or False")
    check_device(device)
    if dtype is not None:
        check_dtype(dtype)
    for name, value in (("task", task), ("module", module)):
        if value is not None and not (isinstance(value, str) and value):
            raise InputError(f"{name}={value!r}: give a name (a non-empty str) or None")
    if attn_implementation is not None and attn_implementation not in ATTENTION_IMPLEMENTATIONS:
        raise InputError(f"attn_implementation={attn_implementation!r}: choose one of "
                         f"{_choices(ATTENTION_IMPLEMENTATIONS)} or None (sdpa)")


def _positive(name: str, value: Any) -> None:
    if not _is_positive(value):
        raise InputError(f"{name}={value!r}: give a positive integer")


def _is_positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _choices(names: tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names)
