"""Dense peak TFLOPS by accelerator and dtype, and matching ``torch.cuda.get_device_name()``.

A view of the GPU table in ``gpus.py``, which holds the figures and cites their datasheets
(dense peaks, never the 2:4-sparse ones). Kept for the timing instrument's MFU and for callers
that want only the peaks.

Dtype keys: "float64" and "float32" (tensor/matrix rate where the part has one for FP64,
vector rate for FP32), "tf32", "bfloat16", "float16", "float8", "int8" (TOPS).
"""

from __future__ import annotations

from .gpus import GPUS, match_gpu

__all__ = ["PEAK_TFLOPS", "match_accelerator", "peak_tflops_for"]

# accelerator -> dtype -> dense peak TFLOPS (the built-in entries of the GPU table)
PEAK_TFLOPS: dict[str, dict[str, float]] = {name: dict(spec.peak_tflops) for name, spec in GPUS.items()}


def match_accelerator(device_name: str) -> str | None:
    """The table key for a device name, or None when it is not in the table.

    Example:
        >>> match_accelerator("NVIDIA H100 80GB HBM3")
        'H100 SXM'
        >>> match_accelerator("NVIDIA A100-SXM4-40GB")
        'A100 40GB'
        >>> match_accelerator("Intel Xeon") is None
        True
    """
    spec = match_gpu(device_name)
    return None if spec is None else spec.name


def peak_tflops_for(device_name: str, dtype: str, *, tf32: bool = False) -> float | None:
    """Dense peak TFLOPS of ``device_name`` for ``dtype``, or None when unknown.

    ``tf32=True`` reads float32 matmuls at the TF32 tensor-core rate (as PyTorch runs them with
    ``torch.backends.cuda.matmul.allow_tf32``).

    Example:
        >>> peak_tflops_for("NVIDIA H100 PCIe", "bfloat16")
        756.5
        >>> peak_tflops_for("NVIDIA H100 80GB HBM3", "float32", tf32=True)
        494.5
    """
    spec = match_gpu(device_name)
    return None if spec is None else spec.peak_for(dtype, tf32=tf32)
