"""torch.nn.attention.varlen.varlen_attn: packed sequences, priced per sequence.

varlen_attn dispatches to the custom ops torch_attn._varlen_attn and _varlen_attn_backward.
They have kernels on CUDA only (on CPU torch raises NotImplementedError for the flash kernel
inside), so these tests run q, k, v on meta, where the ops run their fake kernels; the sequence
lengths stay real on the CPU (exact price) or go to meta (unknown: an upper bound). Expected
numbers come from hand_counts and from torch's FlopCounterMode (FLOPs = 2 x MACs there).
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention.varlen import varlen_attn
from torch.utils.flop_counter import FlopCounterMode

from hand_counts import brute_force_kept, hand_backward, hand_forward

H, D = 2, 4
LENGTHS = (3, 7)
CU = torch.tensor([0, 3, 10], dtype=torch.int32)  # cumulative LENGTHS
FORWARD_OP = "torch_attn._varlen_attn.default"
BACKWARD_OP = "torch_attn._varlen_attn_backward.default"


def _qkv(heads_k: int = H) -> list[torch.Tensor]:
    total = sum(LENGTHS)
    return [torch.randn(total, h, D, device="meta", requires_grad=True) for h in (H, heads_k, heads_k)]


def _call(cu: torch.Tensor, **kwargs):
    return lambda q, k, v: varlen_attn(q, k, v, cu, cu, max(LENGTHS), max(LENGTHS), **kwargs)


def _flop_counter_total(fn, *inputs: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*inputs).sum().backward()
    return counter.get_total_flops()


def test_lengths_on_the_cpu_price_each_sequence(profile_op) -> None:
    p = profile_op(_call(CU), *_qkv(), backward=True)
    assert p.uncounted_ops == {}
    assert p.bounded_ops == {}
    # two problems, 3 x 3 and 7 x 7 scores per head, not one of 10 x 10
    forward = [hand_forward(1, H, n, n, D, D) for n in LENGTHS]
    backward = [hand_backward(1, H, n, n, D, D) for n in LENGTHS]
    assert (p.forward.macs, p.forward.flops) == (sum(f[0] for f in forward), sum(f[1] for f in forward))
    assert (p.backward.macs, p.backward.flops) == (sum(b[0] for b in backward), sum(b[1] for b in backward))
    assert p.by_op("forward")[FORWARD_OP].calls == 1
    assert p.by_op("backward")[BACKWARD_OP].calls == 1
    # FlopCounterMode counts the products only, 2 FLOPs per MAC; its backward also counts
    # recomputing Q K^T, 5 products where flopsight counts 4
    assert _flop_counter_total(_call(CU), *_qkv()) == 2 * (p.forward.macs + p.backward.macs * 5 // 4)


def test_causal_window_masks_bottom_right(profile_op) -> None:
    p = profile_op(_call(CU, window_size=(-1, 0)), *_qkv())
    per_score = hand_forward(1, H, 1, 1, D, D, mask=True)[2]
    masked = sum(H * (n * n - brute_force_kept(n, n, bottom_right=True)) * per_score for n in LENGTHS)
    assert p.forward.flops == sum(hand_forward(1, H, n, n, D, D, mask=True)[1] for n in LENGTHS)
    assert p.forward.masked_flops == masked


def test_grouped_query_heads_are_priced_per_query_head(profile_op) -> None:
    p = profile_op(_call(CU, enable_gqa=True), *_qkv(heads_k=1))
    assert p.forward.macs == sum(hand_forward(1, H, n, n, D, D)[0] for n in LENGTHS)


def test_lengths_on_meta_are_priced_by_their_bound(profile_op) -> None:
    cu = CU.to("meta")
    p = profile_op(_call(cu), *_qkv(), backward=True)
    assert p.uncounted_ops == {}
    # 2 sequences (len(cu) - 1) at the maximum length 7: 2 x 7 x 7 scores per head
    assert p.forward.macs == hand_forward(len(LENGTHS), H, 7, 7, D, D)[0]
    assert p.backward.macs == hand_backward(len(LENGTHS), H, 7, 7, D, D)[0]
    assert p.bounded_ops == {FORWARD_OP: 1, BACKWARD_OP: 1}
    assert _flop_counter_total(_call(cu), *_qkv()) == 2 * (p.forward.macs + p.backward.macs * 5 // 4)


@pytest.mark.parametrize("window", [(2, 0), (3, 3)], ids=["sliding-causal", "local"])
def test_a_finite_window_is_priced_as_full_attention_and_said_to_be_a_bound(profile_op, window) -> None:
    p = profile_op(_call(CU, window_size=window), *_qkv())
    assert p.forward.macs == sum(hand_forward(1, H, n, n, D, D)[0] for n in LENGTHS)
    assert p.bounded_ops == {FORWARD_OP: 1}
