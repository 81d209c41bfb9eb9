"""Scaled dot-product attention on every path reachable without a GPU.

Hand count, per (batch, query head) slice of Sq x Sk scores, as PyTorch's math reference runs it:
    MACs  = scores * (D + Dv)                         Q @ K^T, then P @ V
    FLOPs = 2 * MACs + scores * (5 [+ 1]) + (Sq + Sk) * D
            softmax (max, sub, exp, sum, div), mask add (explicit or causal), q and k scaled
backward: MACs = 2 * scores * (D + Dv) (dQ, dK, dV, dP), FLOPs = 2 * MACs + scores * 3 + (Sq + Sk) * D
(softmax backward, scale). A causal or explicit mask moves the discarded scores' FLOPs to
``masked_flops``; ``effective_flops`` is the rest.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hand_counts import brute_force_kept, hand_backward, hand_forward

aten = torch.ops.aten
CPU_FUSED = "aten._scaled_dot_product_flash_attention_for_cpu.default"
CPU_FUSED_BACKWARD = "aten._scaled_dot_product_flash_attention_for_cpu_backward.default"


def qkv(device: str, b: int, hq: int, hk: int, sq: int, sk: int, d: int, dv: int, grad: bool = False):
    tensors = (torch.randn(b, hq, sq, d), torch.randn(b, hk, sk, d), torch.randn(b, hk, sk, dv))
    return [t.to(device).requires_grad_(grad) for t in tensors]


# (B, Hq, Hkv, Sq, Sk, D, Dv, sdpa kwargs)
FUSED_CASES = {
    "plain": (2, 4, 4, 6, 6, 8, 8, {}),
    "gqa": (2, 8, 2, 6, 6, 8, 8, {"enable_gqa": True}),
    "sq-ne-sk": (2, 4, 4, 6, 9, 8, 8, {}),
    "causal": (2, 4, 4, 6, 6, 8, 8, {"is_causal": True}),
    "causal-gqa": (2, 8, 2, 6, 6, 8, 8, {"is_causal": True, "enable_gqa": True}),
    "causal-sq-lt-sk": (2, 4, 4, 6, 9, 8, 8, {"is_causal": True}),
    "causal-sq-gt-sk": (2, 4, 4, 6, 3, 8, 8, {"is_causal": True}),
}


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("case", sorted(FUSED_CASES))
def test_fused_sdpa_forward_and_backward(profile_op, per_op, device, case) -> None:
    b, hq, hk, sq, sk, d, dv, kwargs = FUSED_CASES[case]
    p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
                   *qkv(device, b, hq, hk, sq, sk, d, dv, grad=True), backward=True)
    macs, flops, per_score = hand_forward(b, hq, sq, sk, d, dv, mask=bool(kwargs.get("is_causal")))
    assert per_op(p) == {CPU_FUSED: (1, macs, flops)}
    bmacs, bflops, per_score_backward = hand_backward(b, hq, sq, sk, d, dv)
    assert per_op(p, "backward") == {CPU_FUSED_BACKWARD: (1, bmacs, bflops)}
    slices = b * hq
    if kwargs.get("is_causal"):
        # top-left causal: query i sees keys 0..i
        dropped = slices * (sq * sk - brute_force_kept(sq, sk, bottom_right=False))
    else:
        dropped = 0
    assert p.forward.masked_flops == dropped * per_score
    assert p.backward.masked_flops == dropped * per_score_backward
    assert p.forward.effective_flops == flops - dropped * per_score


def test_causal_square_keeps_the_lower_triangle(profile_op) -> None:
    b, h, s, d = 2, 4, 6, 8
    tensors = qkv("cpu", b, h, h, s, s, d, d)
    p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), *tensors)
    _, flops, per_score = hand_forward(b, h, s, s, d, d, mask=True)
    kept = b * h * s * (s + 1) // 2  # 21 of 36 scores per slice
    scale = b * h * (s + s) * d  # q and k scaled: no mask discards it
    assert p.forward.effective_flops == kept * per_score + scale
    assert p.forward.masked_flops == (b * h * s * s - kept) * per_score
    assert p.forward.flops == flops


@pytest.mark.parametrize("case", sorted(FUSED_CASES))
def test_cpu_equals_meta_exactly(profile_op, case) -> None:
    b, hq, hk, sq, sk, d, dv, kwargs = FUSED_CASES[case]
    tensors = qkv("cpu", b, hq, hk, sq, sk, d, dv, grad=True)
    meta = [t.detach().to("meta").requires_grad_() for t in tensors]

    def run(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **kwargs)

    cpu_p = profile_op(run, *tensors, backward=True)
    meta_p = profile_op(run, *meta, backward=True)
    assert (cpu_p.forward, cpu_p.backward) == (meta_p.forward, meta_p.backward)


def _masks(sq: int, sk: int):
    keep = torch.rand(sq, sk) > 0.4
    keep[:, 0] = True  # no fully masked row
    additive = torch.zeros(sq, sk).masked_fill(~keep, float("-inf"))
    return keep, additive


@pytest.mark.parametrize("kind", ["bool", "float", "float-min"])
@pytest.mark.parametrize("mask_shape", ["2d", "4d-broadcast-heads"])
def test_explicit_mask(profile_op, per_op, kind, mask_shape) -> None:
    b, h, sq, sk, d = 2, 4, 6, 9, 8
    keep, additive = _masks(sq, sk)
    # Hugging Face's additive masks use the dtype's minimum rather than -inf.
    finfo_min = torch.zeros(sq, sk).masked_fill(~keep, torch.finfo(torch.float32).min)
    mask = {"bool": keep, "float": additive, "float-min": finfo_min}[kind]
    if mask_shape == "4d-broadcast-heads":
        mask = mask.expand(b, 1, sq, sk).clone()
    tensors = qkv("cpu", b, h, h, sq, sk, d, d)
    cpu_p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), *tensors)
    macs, flops, per_score = hand_forward(b, h, sq, sk, d, d, mask=True)
    assert per_op(cpu_p) == {CPU_FUSED: (1, macs, flops)}
    kept = int(keep.sum()) * b * h  # the same [Sq, Sk] pattern in every slice
    assert cpu_p.forward.masked_flops == (b * h * sq * sk - kept) * per_score

    meta_mask = mask.to("meta")
    meta_p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=meta_mask),
                        *[t.to("meta") for t in tensors])
    assert (meta_p.forward.macs, meta_p.forward.flops) == (macs, flops)
    # which scores a mask on meta keeps is unknown: nothing is reported as masked there
    assert meta_p.forward.masked_flops == 0


def test_different_value_head_dim_runs_the_math_path_on_cpu(profile_op, per_op) -> None:
    """The CPU fused kernel needs D == Dv; otherwise SDPA decomposes (bmm, softmax, scaling)."""
    b, h, sq, sk, d, dv = 2, 4, 6, 9, 8, 5
    p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), *qkv("cpu", b, h, h, sq, sk, d, dv))
    ops = per_op(p)
    assert CPU_FUSED not in ops
    macs, _, _ = hand_forward(b, h, sq, sk, d, dv)
    assert ops["aten.bmm.default"] == (2, macs, 2 * macs)  # QK^T and PV
    scores = b * h * sq * sk
    assert ops["aten._safe_softmax.default"] == (1, 0, 5 * scores)
    # the math path scales q and k by sqrt(scale) each, instead of the scores once
    assert ops["aten.mul.Scalar"] == (2, 0, b * h * sq * d + b * h * sk * d)


def test_different_value_head_dim_cpu_equals_meta(profile_op) -> None:
    tensors = qkv("cpu", 2, 4, 4, 6, 9, 8, 5)
    cpu_p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), *tensors)
    meta_p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), *[t.to("meta") for t in tensors])
    assert cpu_p.forward.macs == meta_p.forward.macs  # MACs already agree
    assert cpu_p.forward == meta_p.forward


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_dropout_runs_the_math_path_with_the_same_macs(profile_op, per_op, device) -> None:
    b, h, s, d = 2, 4, 6, 8
    tensors = qkv(device, b, h, h, s, s, d, d, grad=True)
    p = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.5), *tensors, backward=True)
    ops = per_op(p)
    macs, _, _ = hand_forward(b, h, s, s, d, d)
    assert ops["aten.bmm.default"] == (2, macs, 2 * macs)
    assert p.forward.macs == macs
    assert p.backward.macs == 2 * macs
    assert p.uncounted_ops == {}


def test_math_path_cpu_equals_meta(profile_op) -> None:
    tensors = qkv("cpu", 2, 4, 4, 6, 6, 8, 8, grad=True)
    meta = [t.detach().to("meta").requires_grad_() for t in tensors]

    def run(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)

    cpu_p, meta_p = profile_op(run, *tensors, backward=True), profile_op(run, *meta, backward=True)
    assert (cpu_p.forward.macs, cpu_p.forward.flops) == (meta_p.forward.macs, meta_p.forward.flops)
    assert (cpu_p.backward.macs, cpu_p.backward.flops) == (meta_p.backward.macs, meta_p.backward.flops)


@pytest.mark.parametrize("sq", range(0, 7))
@pytest.mark.parametrize("sk", range(0, 7))
@pytest.mark.parametrize("bottom_right", [False, True], ids=["top-left", "bottom-right"])
def test_causal_kept_scores_matches_brute_force(sq, sk, bottom_right) -> None:
    from flopsight.costs.attention import causal_kept_scores

    assert causal_kept_scores(sq, sk, bottom_right=bottom_right) == brute_force_kept(sq, sk, bottom_right=bottom_right)


def test_causal_kept_scores_closed_forms() -> None:
    from flopsight.costs.attention import causal_kept_scores

    # square: the lower triangle with its diagonal, either alignment
    assert causal_kept_scores(6, 6) == causal_kept_scores(6, 6, bottom_right=True) == 6 * 7 // 2
    # one query row after a cache of 9 keys (decoding) sees all 10 keys bottom-right, 1 top-left
    assert causal_kept_scores(1, 10, bottom_right=True) == 10
    assert causal_kept_scores(1, 10) == 1
    # 4 new queries over 10 keys, bottom-right: rows see 7, 8, 9, 10 keys
    assert causal_kept_scores(4, 10, bottom_right=True) == 7 + 8 + 9 + 10
