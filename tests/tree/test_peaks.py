"""The peak table and matching of torch.cuda.get_device_name() strings."""

from __future__ import annotations

import pytest

from flopsight.tree.peaks import PEAK_TFLOPS, match_accelerator, peak_tflops_for


@pytest.mark.parametrize(
    ("device_name", "key"),
    [
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H100 NVL", "H100 NVL"),
        ("NVIDIA H200", "H200 SXM"),
        ("NVIDIA H200 NVL", "H200 NVL"),
        ("NVIDIA GH200 480GB", "GH200"),
        ("NVIDIA A100-SXM4-80GB", "A100 80GB"),
        ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"),  # 1.935 TB/s, not the SXM4 2.039
        ("NVIDIA A100-SXM4-40GB", "A100 40GB"),
        ("NVIDIA A100-PCIE-40GB", "A100 40GB"),
        ("NVIDIA L40S", "L40S"),
        ("Tesla V100-SXM2-16GB", "V100 SXM2"),
        ("Tesla V100-PCIE-32GB", "V100 PCIe"),
        ("Tesla V100S-PCIE-32GB", "V100S PCIe"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("AMD Instinct MI300X", "MI300X"),
        ("NVIDIA GeForce RTX 3060", None),
        ("AMD EPYC", None),
    ],
)
def test_device_names_match_table_entries(device_name: str, key: str | None) -> None:
    assert match_accelerator(device_name) == key


@pytest.mark.parametrize(
    ("device_name", "dtype", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "bfloat16", 989.5),  # 1979 with 2:4 sparsity
        ("NVIDIA H100 80GB HBM3", "torch.float16", 989.5),
        ("NVIDIA H100 PCIe", "bf16", 756.5),
        ("NVIDIA H200", "float8_e4m3fn", 1979.0),
        ("NVIDIA A100-SXM4-40GB", "bfloat16", 312.0),
        ("NVIDIA L40S", "float16", 362.05),
        ("Tesla V100-SXM2-16GB", "float16", 125.0),
        ("Tesla V100-SXM2-16GB", "bfloat16", None),  # no bf16 tensor cores
        ("NVIDIA GeForce RTX 4090", "bfloat16", 165.2),
        ("AMD Instinct MI300X", "bfloat16", 1307.4),
        ("NVIDIA A100-SXM4-80GB", "float32", 19.5),
        ("unknown", "bfloat16", None),
    ],
)
def test_peaks_are_dense_datasheet_figures(device_name: str, dtype: str, peak: float | None) -> None:
    assert peak_tflops_for(device_name, dtype) == peak


def test_float32_reads_the_tf32_rate_when_allowed() -> None:
    assert peak_tflops_for("NVIDIA A100-SXM4-80GB", "float32", tf32=True) == 156.0


def test_every_required_accelerator_has_bf16_or_fp16() -> None:
    for key in ("H100 SXM", "H100 PCIe", "H200 SXM", "A100 40GB", "A100 80GB", "L40S", "V100 SXM2", "RTX 4090", "MI300X"):
        assert PEAK_TFLOPS[key].get("float16", 0) > 0
