"""On meta standing in for a CUDA device, RMSNorm keeps what CUDA's fused kernel keeps.

On CUDA, ``F.rms_norm`` runs the fused ``aten::_fused_rms_norm`` (``rms_norm_symint`` in ATen's
``layer_norm.cpp``, unless the input is channels-last or complex or the weight's dtype differs),
whose autograd node keeps the input, the weight and the fp32 ``rstd`` (one per row). CPU and
meta run ``rms_norm_composite`` instead (the op is CompositeImplicitAutograd there), whose
autograd keeps the fp32 upcast of the input and the fp32 normalized result: 8 bytes per
element more than CUDA for a bf16 input (the statistic is fp32 on every device).

The redirect runs the same composite forward with autograd off (so the forward counts are the
CPU's), keeps CUDA's three tensors, and runs CUDA's backward op, ``_fused_rms_norm_backward``
(meta has its kernel), priced to equal the composite's autograd (``costs.normalization``).
Only where an autograd node would be made: under no_grad nothing is kept on either path; and
only on a torch whose CUDA fuses it (one with ``_fused_rms_norm_backward``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["RMS_NORM_FUNCTIONS", "as_cuda_rms_norm"]


def _aten(name: str) -> Any:
    """An aten op's default overload, or None on a torch that does not have it."""
    try:
        return getattr(torch.ops.aten, name).default
    except (AttributeError, RuntimeError):
        return None


_FUSED, _FUSED_BACKWARD = _aten("_fused_rms_norm"), _aten("_fused_rms_norm_backward")
# CUDA's fused rms_norm came with these ops; a torch without them runs the composite on CUDA
# too, and there is nothing to redirect.
RMS_NORM_FUNCTIONS = (F.rms_norm, torch.rms_norm) if _FUSED is not None and _FUSED_BACKWARD is not None else ()


class _FusedRmsNorm(torch.autograd.Function):
    """CUDA's ``_fused_rms_norm`` and its autograd, on meta."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor | None, normalized_shape: list[int],
                eps: float | None) -> torch.Tensor:
        output, rstd = _FUSED(x, normalized_shape, weight, eps)
        ctx.save_for_backward(x, weight, rstd)
        ctx.normalized_shape = normalized_shape
        return output  # type: ignore[no-any-return]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None, None]:
        x, weight, rstd = ctx.saved_tensors
        mask = [ctx.needs_input_grad[0], weight is not None and ctx.needs_input_grad[1]]
        grad_x, grad_weight = _FUSED_BACKWARD(grad_output, x, ctx.normalized_shape, rstd, weight, mask)
        return (grad_x if mask[0] else None), (grad_weight if mask[1] else None), None, None


def as_cuda_rms_norm(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """``F.rms_norm`` / ``torch.rms_norm`` as CUDA's fused kernel keeps it, or None where CUDA
    would not fuse it, no autograd node would be made, or the call is not on meta."""
    x, normalized_shape, weight, eps = _arguments(*args, **kwargs)
    if not (isinstance(x, torch.Tensor) and x.device.type == "meta") or x.is_nested or x.is_complex():
        return None
    if weight is not None and (not isinstance(weight, torch.Tensor) or weight.dtype != x.dtype):
        return None
    if x.dim() in (4, 5) and not x.is_contiguous() and (x.is_contiguous(memory_format=torch.channels_last)
                                                        or x.is_contiguous(memory_format=torch.channels_last_3d)):
        return None  # CUDA falls back to the composite for channels-last input
    requires_grad = x.requires_grad or (weight is not None and weight.requires_grad)
    if not (torch.is_grad_enabled() and requires_grad):
        return None
    shape = [int(size) for size in ([normalized_shape] if isinstance(normalized_shape, int) else normalized_shape)]
    return _FusedRmsNorm.apply(x, weight, shape, eps)  # type: ignore[no-untyped-call, no-any-return]


def _arguments(input: Any, normalized_shape: Any, weight: Any = None, eps: Any = None) -> tuple[Any, Any, Any, Any]:
    return input, normalized_shape, weight, eps
