"""What a timing records about where it ran and on what: device, its name, dtype, batch."""

from __future__ import annotations

import platform
from typing import Any

import torch
from torch import nn

from ..errors import InputError

__all__ = ["batch_and_tokens", "device_name", "model_dtype", "tf32_allowed", "timed_device"]


def timed_device(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.device:
    """The device a timing runs on: the parameters', else the first input's; never meta."""
    first = next(iter(model.parameters()), None)
    if first is not None:
        device = first.device
    else:
        tensors = [v for v in list(args) + list(kwargs.values()) if isinstance(v, torch.Tensor)]
        device = tensors[0].device if tensors else torch.device("cpu")
    if device.type == "meta":
        raise InputError("timing needs real weights: the model is on the meta device")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def device_name(device: torch.device) -> str:
    """The accelerator's name, or the CPU's, to match a peak and to print."""
    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    return _cpu_model() or platform.processor() or platform.machine() or "cpu"


def _cpu_model() -> str | None:
    """The CPU's marketing name on Linux ("AMD EPYC 9654 96-Core Processor"), else None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip() or None
    except OSError:
        return None
    return None


def model_dtype(model: nn.Module) -> str:
    """The first floating parameter's dtype as "bfloat16", "float32"..."""
    first = next((p for p in model.parameters() if p.is_floating_point()), None)
    return str(first.dtype).replace("torch.", "") if first is not None else "float32"


def batch_and_tokens(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int | None, int | None]:
    """Batch size (first dimension of the first tensor input) and, for a 2-d integer input
    (token ids), its number of tokens."""
    first = next((v for v in list(args) + list(kwargs.values()) if isinstance(v, torch.Tensor)), None)
    if first is None or first.dim() == 0:
        return None, None
    tokens = None
    if first.dim() == 2 and not first.is_floating_point() and not first.is_complex() and first.dtype != torch.bool:
        tokens = int(first.numel())
    return int(first.shape[0]), tokens


def tf32_allowed(device: torch.device) -> bool:
    """Whether float32 matmuls may run as TF32 on ``device`` (it picks the peak for MFU)."""
    return device.type == "cuda" and bool(torch.backends.cuda.matmul.allow_tf32)
