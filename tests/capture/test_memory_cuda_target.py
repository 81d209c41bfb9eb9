"""A meta run reports memory as a CUDA device holds it; a CPU run what the CPU kept.

The same bf16 model (Linear, LayerNorm, Dropout, Linear) on CPU and on meta, every storage
derived by hand: CUDA's fused dropout keeps a bool mask where CPU's bernoulli path keeps one of
the input's dtype, LayerNorm keeps fp32 statistics where CPU keeps bf16 ones, and the caching
allocator rounds every block up to 512 bytes. The counts stay the same.
"""

from __future__ import annotations

import contextlib
import json

import pytest
import torch
from torch import nn

import flopsight
from flopsight.errors import InputError
from flopsight.records.memory import MemoryRecord, MemorySummary

BF16, F32, BOOL = 2, 4, 1  # bytes per element
MIB = 1024 * 1024
BLOCK = 512  # the CUDA caching allocator's smallest block
B, D_IN, D, D_OUT = 64, 16, 32, 8


def block(nbytes: int) -> int:
    return -(-nbytes // BLOCK) * BLOCK


def model(device: str) -> nn.Module:
    torch.manual_seed(0)
    layers = nn.Sequential(nn.Linear(D_IN, D), nn.LayerNorm(D), nn.Dropout(0.5), nn.Linear(D, D_OUT))
    return layers.to(device=device, dtype=torch.bfloat16)


def run(device: str, **options: object) -> flopsight.Profile:
    x = torch.randn(B, D_IN, device=device, dtype=torch.bfloat16)
    return flopsight.profile(model(device), x, backward=True, memory=True, **options)  # type: ignore[arg-type]


PARAMETERS = [D * D_IN * BF16, D * BF16, D * BF16, D * BF16, D_OUT * D * BF16, D_OUT * BF16]  # W1 b1 w b W2 b2
HIDDEN = B * D * BF16  # h1 = x W1^T + b1, and the LayerNorm and dropout outputs: 4,096 bytes each
CPU_STAT = B * BF16  # CPU LayerNorm's mean and rstd for bf16 input: bf16, 128 bytes each
CUDA_STAT = B * F32  # CUDA's (and the meta kernel's): fp32, 256 bytes each
CPU_MASK = B * D * BF16  # CPU dropout: the scaled bernoulli noise, bf16, 4,096 bytes
CUDA_MASK = B * D * BOOL  # CUDA's native_dropout: a bool mask, 2,048 bytes


def test_the_target_is_cuda_on_meta_and_as_run_on_cpu() -> None:
    cpu, meta = run("cpu").memory, run("meta").memory
    assert cpu is not None and meta is not None
    assert (cpu.target, cpu.reserved_bytes, cpu.record.cuda_allocator) == ("cpu", None, False)
    assert (meta.target, meta.record.cuda_allocator) == ("cuda (simulated on meta)", True)
    as_run = run("meta", memory_target="as-run").memory
    assert as_run is not None and (as_run.target, as_run.reserved_bytes) == ("meta", None)


def test_activations_on_meta_are_what_cuda_keeps_and_on_cpu_what_cpu_keeps() -> None:
    cpu, meta = run("cpu"), run("meta")
    # Saved for backward: Linear 0 nothing of its own but h1 (LayerNorm's input, created by
    # Linear 0); LayerNorm its mean and rstd; Dropout its mask and its output z (the second
    # Linear's input, saved for W2's gradient).
    expected_cpu = {"0": HIDDEN, "1": 2 * CPU_STAT, "2": CPU_MASK + HIDDEN, "3": 0}
    expected_cuda = {"0": HIDDEN, "1": 2 * block(CUDA_STAT), "2": block(CUDA_MASK) + HIDDEN, "3": 0}
    assert {n: cpu.module(n).memory.activation_bytes for n in expected_cpu} == expected_cpu  # type: ignore[union-attr]
    assert {n: meta.module(n).memory.activation_bytes for n in expected_cuda} == expected_cuda  # type: ignore[union-attr]
    assert cpu.memory is not None and meta.memory is not None
    assert cpu.memory.activation_bytes == 12_544 == sum(expected_cpu.values())
    assert meta.memory.activation_bytes == 11_264 == sum(expected_cuda.values())
    # The difference, item by item: the mask (4,096 bf16 -> 2,048 bool) and the two statistics
    # (128 bf16 -> 256 fp32, each a 512-byte block).
    assert cpu.memory.activation_bytes - meta.memory.activation_bytes == (CPU_MASK - CUDA_MASK) - 2 * (BLOCK - CPU_STAT)


def test_as_run_on_meta_keeps_the_bernoulli_mask_and_fp32_statistics_unrounded() -> None:
    p = run("meta", memory_target="as-run")
    assert p.module("2").memory.activation_bytes == CPU_MASK + HIDDEN  # type: ignore[union-attr]
    assert p.module("1").memory.activation_bytes == 2 * CUDA_STAT  # type: ignore[union-attr]


def test_every_storage_is_a_block_of_512_bytes_and_the_peak_is_derived_by_hand() -> None:
    cpu, meta = run("cpu").memory, run("meta").memory
    assert cpu is not None and meta is not None
    assert cpu.parameter_bytes == sum(PARAMETERS) == 1_744
    assert meta.parameter_bytes == sum(block(n) for n in PARAMETERS) == 3_584
    assert meta.gradient_bytes == meta.parameter_bytes and cpu.gradient_bytes == cpu.parameter_bytes
    assert (cpu.output_bytes, meta.output_bytes) == (B * D_OUT * BF16, block(B * D_OUT * BF16))
    # The peak: the second Linear's backward, as it makes b2's gradient. Live: parameters,
    # x, the activations, the output, two bf16 scalars of the loss (the sum, and its total),
    # z's gradient, and W2's and b2's gradients.
    x, grad_z, scalar = B * D_IN * BF16, HIDDEN, BF16
    grads_3 = PARAMETERS[4:]
    assert (cpu.peak_module, cpu.peak_phase) == (meta.peak_module, meta.peak_phase) == ("3", flopsight.Phase.BACKWARD)
    assert cpu.peak_bytes == sum(PARAMETERS) + x + 12_544 + B * D_OUT * BF16 + 2 * scalar + grad_z + sum(grads_3)
    assert cpu.peak_bytes == 21_988
    assert meta.peak_bytes == (sum(block(n) for n in PARAMETERS) + x + 11_264 + block(B * D_OUT * BF16)
                               + 2 * block(scalar) + grad_z + sum(block(n) for n in grads_3))
    assert meta.peak_bytes == 24_064
    assert meta.reserved_bytes == 2 * MIB  # all of it fits one small-pool segment
    assert meta.temporary_bytes == 2 * block(scalar) + grad_z and cpu.temporary_bytes == 2 * scalar + grad_z


def test_large_requests_take_large_segments() -> None:
    with torch.device("meta"):
        linear = nn.Linear(1024, 1024)
    p = flopsight.profile(linear, torch.randn(256, 1024, device="meta"), memory=True)
    memory = p.memory
    assert memory is not None
    # W: 4 MiB, a large request under 10 MiB: a 20 MiB segment. b (4 KiB) and x (1 MiB) share a
    # 2 MiB small segment; the 1 MiB output no longer fits the 1,020 KiB left: a second one.
    assert memory.reserved_bytes == (20 + 2 + 2) * MIB
    assert memory.peak_bytes == 4 * MIB + 4096 + MIB + MIB


@pytest.mark.parametrize("mode", ["grad", "no_grad", "inference_mode"])
def test_the_counts_stay_those_of_the_cpu_run(mode: str) -> None:
    """Dropout runs as native_dropout on meta; both cost 2 FLOPs per element, 1 backward."""
    backward = mode == "grad"
    make = {"grad": contextlib.nullcontext, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}[mode]

    def counts(device: str, memory: bool) -> tuple[object, ...]:
        x = torch.randn(B, D_IN, device=device, dtype=torch.bfloat16)
        with make():
            p = flopsight.profile(model(device), x, backward=backward, memory=memory)
        ops = set(p.by_op())
        assert ("aten.native_dropout.default" in ops) == (device == "meta" and memory)
        return (p.uncounted_ops, p.forward.macs, p.forward.flops, p.backward.macs, p.backward.flops,
                {n: p.module(n).forward.flops for n in "0123"})

    cpu = counts("cpu", memory=True)
    assert counts("meta", memory=True) == cpu == counts("meta", memory=False) == counts("cpu", memory=False)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_layer_norm_statistics_on_meta_are_fp32_as_cuda_keeps_them(dtype: torch.dtype) -> None:
    """CUDA's layer_norm_cuda makes mean and rstd in the accumulate type (fp32 for bf16/fp16);
    the meta kernel does too, so the recorder needs no adjustment; CPU keeps the input's dtype."""
    layer_norm = torch.ops.aten.native_layer_norm.default
    shapes = ((3, 5, D), [D])
    for device, stats in (("meta", torch.float32), ("cpu", dtype)):
        x, weight = torch.randn(*shapes[0], device=device, dtype=dtype), torch.ones(D, device=device, dtype=dtype)
        _, mean, rstd = layer_norm(x, shapes[1], weight, torch.zeros_like(weight), 1e-5)
        assert (mean.dtype, rstd.dtype, mean.untyped_storage().nbytes()) == (stats, stats, 15 * stats.itemsize)


def test_in_place_and_eval_dropout_are_left_alone() -> None:
    drop = nn.Sequential(nn.Linear(D, D), nn.Dropout(0.5, inplace=True)).to("meta")
    p = flopsight.profile(drop, torch.randn(B, D, device="meta"), backward=True, memory=True)
    assert "aten.native_dropout.default" not in p.by_op()  # CUDA's in-place dropout is not fused either
    p = flopsight.profile(nn.Dropout(0.5).eval(), torch.randn(B, D, device="meta"), memory=True)
    assert "aten.native_dropout.default" not in p.by_op()


def test_the_context_line_is_given_and_added_to_what_the_device_shows() -> None:
    memory = run("meta", cuda_context_bytes=400 * MIB).memory
    assert memory is not None and memory.reserved_bytes is not None
    assert (memory.context_bytes, memory.device_bytes) == (400 * MIB, memory.reserved_bytes + 400 * MIB)
    default = run("meta").memory
    assert default is not None and default.context_bytes == 0


@pytest.mark.parametrize(
    ("device", "options", "message"),
    [
        ("cpu", {"memory_target": "gpu"}, "memory_target must be 'cuda' or 'as-run'"),
        ("cpu", {"memory_target": "cuda"}, "memory_target='cuda' needs a run on meta"),
        ("meta", {"cuda_context_bytes": -1}, "cuda_context_bytes must be a non-negative int"),
        ("meta", {"cuda_context_bytes": 1.5}, "cuda_context_bytes must be a non-negative int"),
        ("meta", {"memory_target": "as-run", "cuda_context_bytes": MIB}, "cuda_context_bytes is a line of the 'cuda'"),
        ("cpu", {"cuda_context_bytes": MIB}, "cuda_context_bytes is a line of the 'cuda'"),
    ],
)
def test_bad_options_get_one_line(device: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message) as raised:
        run(device, **options)
    assert "\n" not in str(raised.value)


def test_the_options_need_memory() -> None:
    with pytest.raises(InputError, match="only used with memory=True"):
        flopsight.profile(model("meta"), torch.randn(B, D_IN, device="meta"), memory_target="cuda")


def test_the_new_fields_survive_json_and_old_json_reads_with_defaults() -> None:
    p = run("meta", cuda_context_bytes=MIB)
    back = flopsight.Profile.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back.memory == p.memory and back.memory is not None
    assert (back.memory.reserved_bytes, back.memory.context_bytes) == (2 * MIB, MIB)
    assert (back.memory.record.cuda_allocator, back.memory.record.context_bytes) == (True, MIB)
    assert str(back) == str(p)
    old = p.memory.to_dict() if p.memory is not None else {}
    for key in ("reserved_bytes", "context_bytes"):
        del old[key]
    for key in ("cuda_allocator", "context_bytes"):
        del old["record"][key]
    summary = MemorySummary.from_dict(old)
    assert (summary.reserved_bytes, summary.context_bytes, summary.device_bytes) == (None, 0, None)
    assert MemoryRecord.from_dict(old["record"]).cuda_allocator is False


def rms_model(device: str, affine: bool) -> nn.Module:
    torch.manual_seed(0)
    layers = nn.Sequential(nn.Linear(D_IN, D), nn.RMSNorm(D, elementwise_affine=affine), nn.Linear(D, D_OUT))
    return layers.to(device=device, dtype=torch.bfloat16)


@pytest.mark.parametrize("affine", [True, False])
def test_rms_norm_on_meta_keeps_what_cudas_fused_kernel_keeps(affine: bool) -> None:
    """CPU's composite rms_norm keeps the fp32 upcast of h1 (and, with a weight, the fp32
    normalized rows); CUDA's _fused_rms_norm keeps h1 itself and the fp32 rstd."""
    def run_rms(device: str) -> flopsight.Profile:
        x = torch.randn(B, D_IN, device=device, dtype=torch.bfloat16)
        return flopsight.profile(rms_model(device, affine), x, backward=True, memory=True)

    cpu, meta = run_rms("cpu"), run_rms("meta")
    upcast = B * D * F32  # 8,192 bytes
    rstd = B * F32  # 256 bytes, one per row, fp32 on every device
    output = HIDDEN  # the norm's bf16 output, saved by the second Linear
    expected_cpu = {"0": 0, "1": upcast + rstd + (upcast if affine else 0) + output, "2": 0}
    expected_cuda = {"0": HIDDEN, "1": block(rstd) + output, "2": 0}
    assert {n: cpu.module(n).memory.activation_bytes for n in "012"} == expected_cpu  # type: ignore[union-attr]
    assert {n: meta.module(n).memory.activation_bytes for n in "012"} == expected_cuda  # type: ignore[union-attr]
    assert "aten._fused_rms_norm_backward.default" in meta.by_op("backward")
    assert (meta.forward.flops, meta.backward.flops, meta.uncounted_ops) == (cpu.forward.flops, cpu.backward.flops, {})


@pytest.mark.parametrize("case", ["on-the-input", "frozen-weight", "two-normalized-dims", "no_grad", "inference_mode"])
def test_rms_norm_counts_stay_those_of_the_cpu_run(case: str) -> None:
    make = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}.get(case, contextlib.nullcontext)
    backward = case not in ("no_grad", "inference_mode")

    def counts(device: str, memory: bool) -> tuple[object, ...]:
        torch.manual_seed(0)
        if case == "on-the-input":  # x does not require grad: only the weight's gradient
            module, x = nn.RMSNorm(8), torch.randn(4, 8)
        elif case == "two-normalized-dims":
            module, x = nn.Sequential(nn.Linear(4, 4), nn.RMSNorm((3, 4))), torch.randn(2, 3, 4)
        else:
            module, x = nn.Sequential(nn.Linear(8, 8), nn.RMSNorm(8)), torch.randn(4, 8)
            if case == "frozen-weight":
                module[1].requires_grad_(False)
        with make():
            p = flopsight.profile(module.to(device), x.to(device), backward=backward, memory=memory)
        return p.uncounted_ops, p.forward.macs, p.forward.flops, p.backward.macs, p.backward.flops

    assert counts("meta", memory=True) == counts("cpu", memory=True) == counts("meta", memory=False)
