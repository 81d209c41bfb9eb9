"""Dense peak TFLOPS by accelerator and dtype, and matching ``torch.cuda.get_device_name()``.

Figures are the vendors' datasheet peaks *without* structured sparsity (datasheets print the
2:4-sparse figure first for tensor-core rates; the dense one is half of it). Sources:
- NVIDIA H100 Tensor Core GPU datasheet (SXM5 and PCIe, and NVL per GPU), 2023.
- NVIDIA H200 Tensor Core GPU datasheet (SXM and NVL), 2024; GH200 has the H100 SXM rates.
- NVIDIA A100 Tensor Core GPU datasheet (40 GB and 80 GB; SXM4 and PCIe share the peaks).
- NVIDIA L40S datasheet, 2023.
- NVIDIA V100 Tensor Core GPU datasheet (SXM2, PCIe, V100S PCIe).
- NVIDIA Ada Lovelace architecture whitepaper v1.1, GeForce RTX 4090 (tensor rates with FP32
  accumulate, as training uses).
- AMD Instinct MI300X data sheet (matrix rates, dense).

Dtype keys: "float64" and "float32" (tensor/matrix rate where the part has one for FP64,
vector rate for FP32), "tf32", "bfloat16", "float16", "float8", "int8" (TOPS).
"""

from __future__ import annotations

import re

__all__ = ["PEAK_TFLOPS", "match_accelerator", "peak_tflops_for"]

# accelerator -> dtype -> dense peak TFLOPS
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "H100 SXM": {"float64": 67.0, "float32": 67.0, "tf32": 494.5, "bfloat16": 989.5, "float16": 989.5, "float8": 1979.0, "int8": 1979.0},
    "H100 PCIe": {"float64": 51.0, "float32": 51.0, "tf32": 378.0, "bfloat16": 756.5, "float16": 756.5, "float8": 1513.0, "int8": 1513.0},
    "H100 NVL": {"float64": 60.0, "float32": 60.0, "tf32": 417.5, "bfloat16": 835.5, "float16": 835.5, "float8": 1670.5, "int8": 1670.5},
    "H200 SXM": {"float64": 67.0, "float32": 67.0, "tf32": 494.5, "bfloat16": 989.5, "float16": 989.5, "float8": 1979.0, "int8": 1979.0},
    "H200 NVL": {"float64": 60.0, "float32": 60.0, "tf32": 417.5, "bfloat16": 835.5, "float16": 835.5, "float8": 1670.5, "int8": 1670.5},
    "GH200": {"float64": 67.0, "float32": 67.0, "tf32": 494.5, "bfloat16": 989.5, "float16": 989.5, "float8": 1979.0, "int8": 1979.0},
    "A100 80GB": {"float64": 19.5, "float32": 19.5, "tf32": 156.0, "bfloat16": 312.0, "float16": 312.0, "int8": 624.0},
    "A100 40GB": {"float64": 19.5, "float32": 19.5, "tf32": 156.0, "bfloat16": 312.0, "float16": 312.0, "int8": 624.0},
    "L40S": {"float32": 91.6, "tf32": 183.0, "bfloat16": 362.05, "float16": 362.05, "float8": 733.0, "int8": 733.0},
    "V100 SXM2": {"float64": 7.8, "float32": 15.7, "float16": 125.0},
    "V100 PCIe": {"float64": 7.0, "float32": 14.0, "float16": 112.0},
    "V100S PCIe": {"float64": 8.2, "float32": 16.4, "float16": 130.0},
    "RTX 4090": {"float32": 82.6, "tf32": 82.6, "bfloat16": 165.2, "float16": 165.2, "float8": 330.3},
    "MI300X": {"float64": 163.4, "float32": 163.4, "tf32": 653.7, "bfloat16": 1307.4, "float16": 1307.4, "float8": 2614.9, "int8": 2614.9},
}

# Most specific first: "H100 PCIe" and "H100 NVL" before plain "H100" (the SXM5 part reports
# itself as "NVIDIA H100 80GB HBM3").
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"gh200", "GH200"),
    (r"h200.*nvl", "H200 NVL"),
    (r"h200", "H200 SXM"),
    (r"h100.*pcie", "H100 PCIe"),
    (r"h100.*nvl", "H100 NVL"),
    (r"h100|h800", "H100 SXM"),
    (r"a100.*80\s*gb|a100.*80g", "A100 80GB"),
    (r"a100", "A100 40GB"),
    (r"l40s", "L40S"),
    (r"v100s", "V100S PCIe"),
    (r"v100.*pcie", "V100 PCIe"),
    (r"v100", "V100 SXM2"),
    (r"rtx\s*4090", "RTX 4090"),
    (r"mi300x", "MI300X"),
)

_DTYPE_ALIASES = {
    "fp64": "float64", "double": "float64",
    "fp32": "float32", "float": "float32",
    "bf16": "bfloat16",
    "fp16": "float16", "half": "float16",
    "fp8": "float8", "float8_e4m3fn": "float8", "float8_e5m2": "float8",
}


def match_accelerator(device_name: str) -> str | None:
    """The peak-table key for a device name, or None when it is not in the table.

    Example:
        >>> match_accelerator("NVIDIA H100 80GB HBM3")
        'H100 SXM'
        >>> match_accelerator("NVIDIA A100-SXM4-40GB")
        'A100 40GB'
        >>> match_accelerator("Intel Xeon") is None
        True
    """
    name = device_name.lower()
    for pattern, key in _PATTERNS:
        if re.search(pattern, name):
            return key
    return None


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
    key = match_accelerator(device_name)
    if key is None:
        return None
    name = str(dtype).replace("torch.", "").lower()
    name = _DTYPE_ALIASES.get(name, name)
    if name.startswith("float8"):
        name = "float8"
    if name == "float32" and tf32:
        name = "tf32"
    return PEAK_TFLOPS[key].get(name)
