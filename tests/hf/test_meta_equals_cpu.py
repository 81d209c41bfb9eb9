"""The same model and inputs give the same counts on meta (integers kept real) and on the CPU."""

from __future__ import annotations

import pytest

from flopsight.costs.data_movement import is_data_movement
from flopsight.hf import InputSpec

from hf_tiny import TINY, run, tiny_source

SPECS = {
    "qwen2-vl-7b": InputSpec(seq_len=8, image_size=(112, 84), num_images=2),
    "llava-next-8b": InputSpec(seq_len=8, image_size=(336, 500)),
    "clip-vit-large-patch14-336": InputSpec(batch_size=2, seq_len=16),
    "vit-base-patch16-224": InputSpec(batch_size=2),
    "resnet-50": InputSpec(batch_size=2, image_size=(64, 64)),
}
# Mixture-of-experts layers run as batched per-(token, expert) products on meta and as one loop
# per expert on the CPU: the matmul MACs agree, the op lists do not.
MOE = {"mixtral-8x7b", "deepseek-v2-lite"}
# T5 adds its causal mask to a float position bias: on meta the mask's values, and so the masked
# share of attention, are unknown; on the CPU they are read. Everything else must agree.
FLOAT_MASK = {"t5-base"}


def _ops(profile, masked: bool = True):
    # ops that only move data are left out: 0 FLOPs, and CPU kernels copy where meta's do not
    return {op: (t.calls, t.macs, t.flops, t.masked_flops if masked else 0) for op, t in profile.by_op().items()
            if not is_data_movement(op)}


def _modules(profile, masked: bool = True):
    # Bytes are left out: batch norm's meta kernel returns statistics the CPU kernel leaves empty.
    return {
        n.name: (n.calls, n.forward.macs, n.forward.flops, n.forward.masked_flops if masked else 0)
        for n in profile.modules()
    }


@pytest.mark.parametrize("name", sorted(TINY))
def test_meta_counts_equal_cpu_counts(name: str) -> None:
    spec = SPECS.get(name, InputSpec(batch_size=2, seq_len=16))
    on_meta = run(tiny_source(name), spec, device="meta")
    on_cpu = run(tiny_source(name), spec, device="cpu")
    assert on_meta.params == on_cpu.params
    assert on_meta.forward.macs == on_cpu.forward.macs
    if name not in MOE:
        masked = name not in FLOAT_MASK
        assert _ops(on_meta, masked) == _ops(on_cpu, masked)
        assert on_meta.uncounted_ops == on_cpu.uncounted_ops
        assert _modules(on_meta, masked) == _modules(on_cpu, masked)
    if name in FLOAT_MASK:
        assert on_cpu.forward.masked_flops > 0 == on_meta.forward.masked_flops
    assert on_meta.metadata["device"] == "meta" and on_cpu.metadata["device"] == "cpu"
