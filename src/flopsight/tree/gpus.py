"""Target GPUs: dense peak TFLOPS per dtype, memory bandwidth and capacity, interconnect.

Every figure is the vendor's datasheet figure *without* structured sparsity (datasheets print the
2:4-sparse tensor-core rate first; the dense one is half of it). A figure the datasheet does not
give, or that differs between variants sold under one name, is left out (None, or no dtype key)
rather than guessed. Units: TFLOPS are 1e12 FLOP/s; bandwidths are bytes/s with the vendor's
GB = 1e9; capacities are the datasheet's GB x 1e9 (torch reports a little less as usable).
``nvlink_bytes_per_s`` is the datasheet's total per-GPU GPU-to-GPU bandwidth (NVLink, or AMD
Infinity Fabric), both directions together; ``pcie_bytes_per_s`` the host link's x16 figure,
both directions together.

Sources (one per entry, see docs/roofline.md for the full table):
- H100 SXM, H100 PCIe, H100 NVL: NVIDIA H100 Tensor Core GPU datasheet, 2023.
- H200 SXM, H200 NVL: NVIDIA H200 Tensor Core GPU datasheet, 2024.
- GH200: NVIDIA GH200 Grace Hopper Superchip datasheet, 2023 (compute as H100 SXM; the memory
  differs between the 96 GB HBM3 and 144 GB HBM3e versions, so it is left out).
- B200: NVIDIA HGX B200 datasheet, 2024 (the 8-GPU board's figures divided by 8: 36 PF sparse
  FP16/BF16 -> 2.25 PF dense per GPU, 72 PF sparse FP8 -> 4.5 PF dense, 64 TB/s HBM3e -> 8 TB/s,
  NVLink 5 1.8 TB/s per GPU). FP32/TF32 and capacity are left out: the datasheet revisions differ.
- A100 40GB, A100 80GB (SXM4), A100 80GB PCIe: NVIDIA A100 Tensor Core GPU datasheet, 2021.
- L40S: NVIDIA L40S GPU datasheet, 2023. L4: NVIDIA L4 Tensor Core GPU datasheet, 2023.
- V100 SXM2, V100 PCIe, V100S PCIe: NVIDIA V100 Tensor Core GPU datasheet, 2020 (capacity left
  out: 16 GB and 32 GB parts are sold under each name).
- RTX 4090: NVIDIA Ada Lovelace GPU architecture whitepaper v1.1, 2023 (tensor rates with FP32
  accumulate, as training uses; 1,008 GB/s GDDR6X). PCIe 4.0 x16 is 64 GB/s by the PCI-SIG spec.
- MI300X: AMD Instinct MI300X accelerator data sheet, 2023 (7 Infinity Fabric links x 128 GB/s).
- MI250X: AMD Instinct MI250X accelerator data sheet, 2021: the whole OAM package (two GCDs; torch
  shows each GCD as a device of half these figures). 8 Infinity Fabric links x 100 GB/s.

Dtype keys: "float64", "float32" (tensor/matrix rate where the part has one for FP64, vector rate
for FP32), "tf32", "bfloat16", "float16", "float8", "int8" (TOPS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..errors import InputError

__all__ = ["GpuSpec", "GPUS", "gpu_names", "gpu_spec", "is_builtin_gpu", "match_gpu", "normalize_dtype", "register_gpu"]

GB = 10**9
TB = 10**12


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One accelerator's datasheet figures.

    Attributes:
        name: the table key ("H100 SXM").
        peak_tflops: dtype -> dense peak TFLOPS (no sparsity); a dtype not listed is unknown.
        memory_bytes_per_s: HBM (or GDDR) bandwidth in bytes/s; None when unknown.
        memory_bytes: memory capacity in bytes (datasheet GB x 1e9); None when unknown.
        nvlink_bytes_per_s: total GPU-to-GPU link bandwidth per GPU (NVLink, Infinity Fabric),
            both directions; None when the part has none or the figure is unknown.
        pcie_bytes_per_s: the host link (x16), both directions; None when unknown.
        short_names: lower-case names accepted by ``gpu_spec`` besides ``name`` ("h100-sxm").
        source: the datasheet the figures come from.

    Example:
        >>> GpuSpec("My GPU", {"bfloat16": 100.0}, memory_bytes_per_s=1e12).peak_tflops["bfloat16"]
        100.0
    """

    name: str
    peak_tflops: Mapping[str, float]
    memory_bytes_per_s: float | None = None
    memory_bytes: int | None = None
    nvlink_bytes_per_s: float | None = None
    pcie_bytes_per_s: float | None = None
    short_names: tuple[str, ...] = ()
    source: str = "given by the user"
    device_pattern: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("GpuSpec: name must not be empty")
        for dtype, tflops in self.peak_tflops.items():
            if not tflops > 0:
                raise InputError(f"GpuSpec {self.name!r}: peak for {dtype} must be positive, got {tflops!r}")
        for label in ("memory_bytes_per_s", "memory_bytes", "nvlink_bytes_per_s", "pcie_bytes_per_s"):
            value = getattr(self, label)
            if value is not None and not value > 0:
                raise InputError(f"GpuSpec {self.name!r}: {label} must be positive or None, got {value!r}")
        object.__setattr__(self, "peak_tflops", MappingProxyType(dict(self.peak_tflops)))

    def peak_for(self, dtype: str, *, tf32: bool = False) -> float | None:
        """Dense peak TFLOPS for ``dtype`` ("bf16", "torch.bfloat16" and "bfloat16" alike);
        ``tf32=True`` reads float32 at the TF32 tensor-core rate. None when not in the table."""
        key = normalize_dtype(dtype)
        if key == "float32" and tf32:
            key = "tf32"
        return self.peak_tflops.get(key)


def _hopper(fp32: float, tf32: float, half: float, fp8: float) -> dict[str, float]:
    return {"float64": fp32, "float32": fp32, "tf32": tf32, "bfloat16": half, "float16": half,
            "float8": fp8, "int8": fp8}


_H100 = "NVIDIA H100 Tensor Core GPU datasheet (2023)"
_H200 = "NVIDIA H200 Tensor Core GPU datasheet (2024)"
_A100 = "NVIDIA A100 Tensor Core GPU datasheet (2021)"
_V100 = "NVIDIA V100 Tensor Core GPU datasheet (2020)"
_A100_PEAKS = {"float64": 19.5, "float32": 19.5, "tf32": 156.0, "bfloat16": 312.0, "float16": 312.0, "int8": 624.0}

# Most specific pattern first: "H100 PCIe" and "H100 NVL" before plain "H100" (the SXM5 part
# reports itself as "NVIDIA H100 80GB HBM3"). Matching tries the entries in this order.
_BUILTIN: tuple[GpuSpec, ...] = (
    GpuSpec("GH200", _hopper(67.0, 494.5, 989.5, 1979.0), nvlink_bytes_per_s=900 * GB, short_names=("gh200",),
            source="NVIDIA GH200 Grace Hopper Superchip datasheet (2023)", device_pattern=r"gh200"),
    GpuSpec("H200 NVL", _hopper(60.0, 417.5, 835.5, 1670.5), 4.8 * TB, 141 * GB, 900 * GB, 128 * GB,
            ("h200-nvl",), _H200, r"h200.*nvl"),
    GpuSpec("H200 SXM", _hopper(67.0, 494.5, 989.5, 1979.0), 4.8 * TB, 141 * GB, 900 * GB, 128 * GB,
            ("h200", "h200-sxm"), _H200, r"h200"),
    GpuSpec("H100 PCIe", _hopper(51.0, 378.0, 756.5, 1513.0), 2.0 * TB, 80 * GB, 600 * GB, 128 * GB,
            ("h100-pcie",), _H100, r"h100.*pcie"),
    GpuSpec("H100 NVL", _hopper(60.0, 417.5, 835.5, 1670.5), 3.9 * TB, 94 * GB, 600 * GB, 128 * GB,
            ("h100-nvl",), _H100, r"h100.*nvl"),
    GpuSpec("H100 SXM", _hopper(67.0, 494.5, 989.5, 1979.0), 3.35 * TB, 80 * GB, 900 * GB, 128 * GB,
            ("h100", "h100-sxm"), _H100, r"h100|h800"),
    GpuSpec("B200", {"bfloat16": 2250.0, "float16": 2250.0, "float8": 4500.0}, 8.0 * TB, None, 1800 * GB, None,
            ("b200",), "NVIDIA HGX B200 datasheet (2024), per GPU", r"b200"),
    GpuSpec("A100 80GB PCIe", _A100_PEAKS, 1.935 * TB, 80 * GB, 600 * GB, 64 * GB,
            ("a100-80gb-pcie",), _A100, r"a100.*80\s*gb.*pcie|a100.*pcie.*80\s*gb"),
    GpuSpec("A100 80GB", _A100_PEAKS, 2.039 * TB, 80 * GB, 600 * GB, 64 * GB,
            ("a100-80gb", "a100-80gb-sxm"), _A100, r"a100.*80\s*gb|a100.*80g"),
    GpuSpec("A100 40GB", _A100_PEAKS, 1.555 * TB, 40 * GB, 600 * GB, 64 * GB,
            ("a100", "a100-40gb"), _A100, r"a100"),
    GpuSpec("L40S", {"float32": 91.6, "tf32": 183.0, "bfloat16": 362.05, "float16": 362.05, "float8": 733.0,
                     "int8": 733.0}, 864 * GB, 48 * GB, None, 64 * GB, ("l40s",),
            "NVIDIA L40S GPU datasheet (2023)", r"l40s"),
    GpuSpec("L4", {"float32": 30.3, "tf32": 60.0, "bfloat16": 121.0, "float16": 121.0, "float8": 242.5,
                   "int8": 242.5}, 300 * GB, 24 * GB, None, 64 * GB, ("l4",),
            "NVIDIA L4 Tensor Core GPU datasheet (2023)", r"\bl4\b"),
    GpuSpec("V100S PCIe", {"float64": 8.2, "float32": 16.4, "float16": 130.0}, 1134 * GB, 32 * GB, None, 32 * GB,
            ("v100s",), _V100, r"v100s"),
    GpuSpec("V100 PCIe", {"float64": 7.0, "float32": 14.0, "float16": 112.0}, 900 * GB, None, None, 32 * GB,
            ("v100-pcie",), _V100, r"v100.*pcie"),
    GpuSpec("V100 SXM2", {"float64": 7.8, "float32": 15.7, "float16": 125.0}, 900 * GB, None, 300 * GB, 32 * GB,
            ("v100", "v100-sxm2"), _V100, r"v100"),
    GpuSpec("RTX 4090", {"float32": 82.6, "tf32": 82.6, "bfloat16": 165.2, "float16": 165.2, "float8": 330.3},
            1008 * GB, 24 * GB, None, 64 * GB, ("rtx-4090", "4090"),
            "NVIDIA Ada Lovelace GPU architecture whitepaper v1.1 (2023)", r"rtx\s*4090"),
    GpuSpec("MI300X", {"float64": 163.4, "float32": 163.4, "tf32": 653.7, "bfloat16": 1307.4, "float16": 1307.4,
                       "float8": 2614.9, "int8": 2614.9}, 5.3 * TB, 192 * GB, 896 * GB, 128 * GB, ("mi300x",),
            "AMD Instinct MI300X accelerator data sheet (2023)", r"mi300x"),
    GpuSpec("MI250X", {"float64": 95.7, "float32": 95.7, "bfloat16": 383.0, "float16": 383.0, "int8": 383.0},
            3.2768 * TB, 128 * GB, 800 * GB, 64 * GB, ("mi250x",),
            "AMD Instinct MI250X accelerator data sheet (2021), whole package (2 GCDs)", r"mi250x"),
)

# The table read by every caller; ``register_gpu`` adds to it (the user's entries match first).
GPUS: dict[str, GpuSpec] = {spec.name: spec for spec in _BUILTIN}
_USER_ORDER: list[str] = []

_DTYPE_ALIASES = {
    "fp64": "float64", "double": "float64",
    "fp32": "float32", "float": "float32",
    "bf16": "bfloat16",
    "fp16": "float16", "half": "float16",
    "fp8": "float8",
}


def normalize_dtype(dtype: object) -> str:
    """The table's dtype key for "torch.bfloat16", "bf16", "float8_e4m3fn"...

    Example:
        >>> normalize_dtype("torch.bfloat16"), normalize_dtype("fp16"), normalize_dtype("float8_e5m2")
        ('bfloat16', 'float16', 'float8')
    """
    name = str(dtype).replace("torch.", "").lower()
    name = _DTYPE_ALIASES.get(name, name)
    return "float8" if name.startswith("float8") else name


def register_gpu(spec: GpuSpec, *, replace: bool = False) -> GpuSpec:
    """Add ``spec`` to the table, so ``gpu_spec`` and ``profile.roofline(gpu=...)`` find it by its
    name, its short names, and (with ``device_pattern``) device strings it matches.

    Raises:
        InputError: the name or a short name is taken and ``replace`` is False.

    Example:
        >>> spec = register_gpu(GpuSpec("My GPU", {"bfloat16": 100.0}, memory_bytes_per_s=1e12,
        ...                             short_names=("mygpu",)))
        >>> gpu_spec("mygpu").name
        'My GPU'
    """
    if not isinstance(spec, GpuSpec):
        raise InputError(f"register_gpu takes a GpuSpec, got {type(spec).__name__}")
    if not replace:
        taken = _lookup(spec.name) or next((s for n in spec.short_names if (s := _lookup(n)) is not None), None)
        if taken is not None:
            raise InputError(f"register_gpu: {spec.name!r} is already in the table as {taken.name!r}; "
                             "pass replace=True to replace it")
    GPUS[spec.name] = spec
    if spec.name in _USER_ORDER:
        _USER_ORDER.remove(spec.name)
    _USER_ORDER.insert(0, spec.name)
    return spec


def is_builtin_gpu(name: str) -> bool:
    """Whether ``name`` is one of the datasheet entries flopsight ships (not one registered)."""
    return any(spec.name == name for spec in _BUILTIN)


def gpu_names() -> list[str]:
    """Every name ``gpu_spec`` accepts: each entry's short names (or its name when it has none)."""
    return [name for spec in GPUS.values() for name in (spec.short_names or (spec.name,))]


def match_gpu(device_name: str) -> GpuSpec | None:
    """The entry a ``torch.cuda.get_device_name()`` string names, or None.

    Example:
        >>> match_gpu("NVIDIA H100 80GB HBM3").name
        'H100 SXM'
        >>> match_gpu("AMD Instinct MI300X").name
        'MI300X'
        >>> match_gpu("Intel Xeon") is None
        True
    """
    name = device_name.lower()
    for spec in _ordered():
        if spec.device_pattern is not None and re.search(spec.device_pattern, name):
            return spec
    return None


def gpu_spec(gpu: str | GpuSpec) -> GpuSpec:
    """The entry for a table name ("H100 SXM"), a short name ("h100-sxm", "mi300x") or a device
    string ("NVIDIA A100-SXM4-80GB"); a GpuSpec is returned as it is.

    Raises:
        InputError: nothing in the table has that name; the message lists the known names.

    Example:
        >>> gpu_spec("h100-sxm").memory_bytes_per_s
        3350000000000.0
    """
    if isinstance(gpu, GpuSpec):
        return gpu
    found = _lookup(gpu) or match_gpu(str(gpu))
    if found is None:
        raise InputError(f"unknown GPU {gpu!r}; known: {', '.join(gpu_names())}")
    return found


def _lookup(name: str) -> GpuSpec | None:
    wanted = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    for spec in _ordered():
        if wanted == spec.name.lower().replace(" ", "-") or wanted in spec.short_names:
            return spec
    return None


def _ordered() -> list[GpuSpec]:
    user = [GPUS[name] for name in _USER_ORDER if name in GPUS]
    return user + [spec for name, spec in GPUS.items() if name not in _USER_ORDER]
