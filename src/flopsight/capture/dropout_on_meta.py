"""On meta standing in for a CUDA device, dropout runs as CUDA's fused kernel.

On CUDA, ``F.dropout`` in training (not in place, 0 < p < 1, a non-empty input) runs one fused
op, ``aten::native_dropout``, which keeps a bool mask (1 byte per element) for the backward
(``dropout_cuda`` in ATen's ``Dropout.cu``, also under no_grad). CPU and meta take
``at::dropout``'s other path (``is_fused_kernel_acceptable`` is false there):
``empty_like(x).bernoulli_(1 - p).div_(1 - p)``, then ``x * noise``, which keeps a mask of the
input's dtype. Both cost 2 FLOPs per element forward and 1 backward (``costs.dropout``), so
the redirect changes what is kept, not what is counted. In-place, feature (dropout1d/2d/3d) and
alpha dropout take the bernoulli path on CUDA too, and are left alone.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["DROPOUT_FUNCTIONS", "as_cuda_dropout"]

DROPOUT_FUNCTIONS = (F.dropout, torch.dropout)


def as_cuda_dropout(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """The result of ``func(*args, **kwargs)`` (one of ``DROPOUT_FUNCTIONS``) as CUDA's fused
    kernel computes it, or None where CUDA would not fuse it (or the call is not on meta)."""
    if func is F.dropout:
        x, p, train, inplace = _dropout_arguments(*args, **kwargs)
    else:
        x, p, train = _vf_dropout_arguments(*args, **kwargs)
        inplace = False
    fused = (isinstance(x, torch.Tensor) and x.device.type == "meta" and not x.is_nested and train and not inplace
             and isinstance(p, (int, float)) and 0 < p < 1 and x.numel() > 0)
    if not fused:
        return None
    output, _ = torch.native_dropout(x, float(p), True)
    return output


def _dropout_arguments(input: Any, p: Any = 0.5, training: Any = True, inplace: Any = False) -> tuple[Any, Any, Any, Any]:
    return input, p, training, inplace


def _vf_dropout_arguments(input: Any, p: Any, train: Any) -> tuple[Any, Any, Any]:
    return input, p, train
