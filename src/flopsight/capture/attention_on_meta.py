"""On meta, run SDPA as the fused CPU kernel, so that meta and CPU count attention alike.

On CPU, ``F.scaled_dot_product_attention`` runs one fused op (priced by the attention
formula); on meta, PyTorch has no fused choice and decomposes it into a dozen ops with a
different elementwise count. This function mode, active only for meta runs, sends the call
to the same fused op PyTorch would pick on CPU, where CPU would pick it: PyTorch's own CPU
backend choice is asked, on zero-stride CPU stand-ins of the same shapes and dtypes. Nothing is
patched: the mode is pushed for the run and popped in ``finally``.

With ``cuda_kernels`` (a meta run standing in for a CUDA device's memory), the same mode also
runs dropout and RMSNorm as CUDA's fused kernels do (``capture.dropout_on_meta``,
``capture.rms_norm_on_meta``): one mode, so a meta run pays for one Python function mode.

A backward the mode is asked to run keeps the mode on (``capture.backward_in_mode``), so that
activation checkpointing recomputes the forward with the same redirects.

Known gap: a function mode is popped while it handles a call, so an SDPA (or dropout) call
nested inside another overridable Python function (``F.multi_head_attention_forward``) is not
redirected and runs PyTorch's meta decomposition: its MACs still agree with CPU, its
elementwise FLOPs differ slightly (dropout's do not).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .backward_in_mode import BACKWARD_FUNCTIONS, backward_in_mode
from .dropout_on_meta import DROPOUT_FUNCTIONS, as_cuda_dropout
from .rms_norm_on_meta import RMS_NORM_FUNCTIONS, as_cuda_rms_norm

_SDPA = F.scaled_dot_product_attention
_AS_CUDA: dict[Any, Callable[[Any, tuple[Any, ...], dict[str, Any]], torch.Tensor | None]] = {
    **{f: as_cuda_dropout for f in DROPOUT_FUNCTIONS}, **{f: as_cuda_rms_norm for f in RMS_NORM_FUNCTIONS},
}
_CPU_FLASH = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default


class MetaAttentionMode(TorchFunctionMode):
    def __init__(self, *, cuda_kernels: bool = False) -> None:
        super().__init__()
        self._cuda_kernels = cuda_kernels

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is _SDPA:
            fused = _as_cpu_fused_call(*args, **kwargs)
            if fused is not None:
                return fused
        elif func in BACKWARD_FUNCTIONS:  # on through the backward, and a checkpoint's recompute in it
            return backward_in_mode(self, func, args, kwargs)
        elif self._cuda_kernels:
            as_cuda = _AS_CUDA.get(func)
            output = None if as_cuda is None else as_cuda(func, args, kwargs)
            if output is not None:
                return output
        return func(*args, **kwargs)


def _as_cpu_fused_call(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: Any = None,
    dropout_p: float = 0.0, is_causal: bool = False, scale: Any = None, enable_gqa: bool = False,
) -> torch.Tensor | None:
    tensors = (query, key, value)
    if not all(isinstance(t, torch.Tensor) and t.device.type == "meta" and t.dim() == 4 for t in tensors):
        return None
    if query.is_nested or (is_causal and attn_mask is not None):
        return None
    if not _cpu_picks_flash(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
        return None
    if isinstance(attn_mask, torch.Tensor) and attn_mask.dtype == torch.bool:
        # CPU turns a boolean mask into an additive one before the fused kernel does.
        attn_mask = torch.zeros_like(attn_mask, dtype=query.dtype).masked_fill(
            attn_mask.logical_not(), float("-inf")
        )
    output, _ = _CPU_FLASH(query, key, value, 0.0, is_causal, attn_mask=attn_mask, scale=scale)
    return output  # type: ignore[no-any-return]


_CPU_FLASH_BACKEND = 1  # sdp::SDPBackend::flash_attention


def _stand_in(tensor: torch.Tensor) -> torch.Tensor:
    """A CPU tensor with ``tensor``'s shape, dtype and requires_grad over one row of storage
    (stride 0 elsewhere). requires_grad counts: the CPU fused kernel refuses a mask that
    requires grad (a learned position bias), in every grad mode, and PyTorch then picks math."""
    strides = (0,) * (tensor.dim() - 1) + (1,)
    with torch.inference_mode(False):  # an inference tensor would drop requires_grad
        return torch.empty_strided(tensor.shape, strides, dtype=tensor.dtype, requires_grad=tensor.requires_grad)


def _cpu_picks_flash(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: Any,
    dropout_p: float, is_causal: bool, scale: Any, enable_gqa: bool,
) -> bool:
    mask = _stand_in(attn_mask) if isinstance(attn_mask, torch.Tensor) else None
    extra = {"enable_gqa": True} if enable_gqa else {}
    choice = torch._fused_sdp_choice(
        _stand_in(query), _stand_in(key), _stand_in(value), mask, dropout_p, is_causal, scale=scale, **extra
    )
    return int(choice) == _CPU_FLASH_BACKEND
