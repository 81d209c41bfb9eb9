"""On meta, run SDPA as the fused CPU kernel, so that meta and CPU count attention alike.

On CPU, ``F.scaled_dot_product_attention`` runs one fused op (priced by the attention
formula); on meta, PyTorch has no fused choice and decomposes it into a dozen ops with a
different elementwise count. This function mode, active only for meta runs, sends the call
to the same fused op PyTorch would pick on CPU, where CPU would pick it (dense 4-d inputs,
no dropout). Nothing is patched: the mode is pushed for the run and popped in ``finally``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

_SDPA = F.scaled_dot_product_attention
_CPU_FLASH = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default


class MetaAttentionMode(TorchFunctionMode):
    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is _SDPA:
            fused = _as_cpu_fused_call(*args, **kwargs)
            if fused is not None:
                return fused
        return func(*args, **kwargs)


def _as_cpu_fused_call(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: Any = None,
    dropout_p: float = 0.0, is_causal: bool = False, scale: Any = None, enable_gqa: bool = False,
) -> torch.Tensor | None:
    tensors = (query, key, value)
    if not all(isinstance(t, torch.Tensor) and t.device.type == "meta" and t.dim() == 4 for t in tensors):
        return None
    if dropout_p != 0.0 or (is_causal and attn_mask is not None) or query.is_nested:
        return None
    if key.shape[1] != query.shape[1] and not enable_gqa:
        return None
    if isinstance(attn_mask, torch.Tensor) and attn_mask.dtype == torch.bool:
        # CPU turns a boolean mask into an additive one before the fused kernel does.
        attn_mask = torch.zeros_like(attn_mask, dtype=query.dtype).masked_fill(
            attn_mask.logical_not(), float("-inf")
        )
    output, _ = _CPU_FLASH(query, key, value, 0.0, is_causal, attn_mask=attn_mask, scale=scale)
    return output  # type: ignore[no-any-return]
