"""The GPU table: device strings and short names, dense datasheet figures, user entries."""

from __future__ import annotations

import pytest

from flopsight.errors import InputError
from flopsight.tree import gpus
from flopsight.tree.gpus import GPUS, GpuSpec, gpu_spec, match_gpu, register_gpu

REQUIRED = ("H100 SXM", "H100 PCIe", "H200 SXM", "B200", "A100 40GB", "A100 80GB", "L40S", "L4", "V100 SXM2",
            "RTX 4090", "MI300X", "MI250X")


@pytest.mark.parametrize(
    ("device_name", "key"),
    [
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H200", "H200 SXM"),
        ("NVIDIA B200", "B200"),
        ("NVIDIA A100-SXM4-80GB", "A100 80GB"),
        ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"),
        ("NVIDIA A100-SXM4-40GB", "A100 40GB"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("AMD Instinct MI300X", "MI300X"),
        ("AMD Instinct MI250X", "MI250X"),
        ("NVIDIA L40", None),  # not L4, not L40S
        ("NVIDIA GeForce RTX 3060", None),
    ],
)
def test_real_device_strings_match(device_name: str, key: str | None) -> None:
    found = match_gpu(device_name)
    assert (None if found is None else found.name) == key


@pytest.mark.parametrize(
    ("name", "key"),
    [("h100-sxm", "H100 SXM"), ("h100", "H100 SXM"), ("H100 SXM", "H100 SXM"), ("h100_pcie", "H100 PCIe"),
     ("a100-80gb", "A100 80GB"), ("a100-40gb", "A100 40GB"), ("mi300x", "MI300X"), ("MI250X", "MI250X"),
     ("b200", "B200"), ("l4", "L4"), ("NVIDIA H200", "H200 SXM")],
)
def test_short_names_table_names_and_device_strings_are_accepted(name: str, key: str) -> None:
    assert gpu_spec(name).name == key


def test_an_unknown_name_says_the_known_ones_in_one_line() -> None:
    with pytest.raises(InputError) as raised:
        gpu_spec("nosuch")
    message = str(raised.value)
    assert "\n" not in message and "h100-sxm" in message and "mi300x" in message


def test_the_required_gpus_are_in_the_table_with_a_source() -> None:
    for key in REQUIRED:
        spec = GPUS[key]
        assert spec.memory_bytes_per_s is not None and spec.source
        assert spec.peak_tflops.get("bfloat16", spec.peak_tflops.get("float16", 0)) > 0


@pytest.mark.parametrize(
    ("key", "dtype", "tflops", "bandwidth", "capacity"),
    [
        ("H100 SXM", "bfloat16", 989.5, 3.35e12, 80e9),  # 1979 with 2:4 sparsity
        ("H100 PCIe", "bfloat16", 756.5, 2.0e12, 80e9),
        ("H200 SXM", "bfloat16", 989.5, 4.8e12, 141e9),
        ("B200", "bfloat16", 2250.0, 8.0e12, None),  # capacity differs between datasheet revisions
        ("A100 80GB", "bfloat16", 312.0, 2.039e12, 80e9),
        ("A100 40GB", "tf32", 156.0, 1.555e12, 40e9),
        ("L40S", "float16", 362.05, 864e9, 48e9),
        ("L4", "bfloat16", 121.0, 300e9, 24e9),  # 242 with sparsity
        ("V100 SXM2", "float16", 125.0, 900e9, None),  # 16 GB and 32 GB parts
        ("RTX 4090", "bfloat16", 165.2, 1008e9, 24e9),
        ("MI300X", "bfloat16", 1307.4, 5.3e12, 192e9),
        ("MI250X", "bfloat16", 383.0, 3.2768e12, 128e9),
    ],
)
def test_figures_are_the_dense_datasheet_ones(key: str, dtype: str, tflops: float, bandwidth: float,
                                              capacity: float | None) -> None:
    spec = GPUS[key]
    assert spec.peak_tflops[dtype] == tflops
    assert spec.memory_bytes_per_s == pytest.approx(bandwidth)
    assert spec.memory_bytes == (None if capacity is None else int(capacity))


def test_interconnects() -> None:
    assert GPUS["H100 SXM"].nvlink_bytes_per_s == 900e9 and GPUS["H100 SXM"].pcie_bytes_per_s == 128e9
    assert GPUS["B200"].nvlink_bytes_per_s == 1800e9
    assert GPUS["L4"].nvlink_bytes_per_s is None and GPUS["L4"].pcie_bytes_per_s == 64e9


def test_a_user_gpu_is_found_by_name_short_name_and_device_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpus, "GPUS", dict(GPUS))
    monkeypatch.setattr(gpus, "_USER_ORDER", [])
    spec = GpuSpec("Lab GPU", {"bfloat16": 100.0}, memory_bytes_per_s=1e12, short_names=("lab",),
                   device_pattern=r"lab gpu")
    register_gpu(spec)
    assert gpu_spec("lab") is spec and gpu_spec("Lab GPU") is spec and match_gpu("ACME Lab GPU 9") is spec
    with pytest.raises(InputError, match="already"):
        register_gpu(GpuSpec("Other", {"bfloat16": 1.0}, short_names=("h100",)))
    mine = GpuSpec("H100 SXM", {"bfloat16": 700.0}, memory_bytes_per_s=3e12, short_names=("h100-sxm",))
    register_gpu(mine, replace=True)
    assert gpu_spec("h100-sxm") is mine


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_a_spec_refuses_figures_that_are_not_positive(bad: float) -> None:
    with pytest.raises(InputError):
        GpuSpec("Bad", {"bfloat16": bad})
    with pytest.raises(InputError):
        GpuSpec("Bad", {"bfloat16": 1.0}, memory_bytes_per_s=bad)


def test_the_docstring_examples_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest

    monkeypatch.setattr(gpus, "GPUS", dict(GPUS))  # register_gpu's example adds an entry
    monkeypatch.setattr(gpus, "_USER_ORDER", [])
    assert doctest.testmod(gpus).failed == 0
