"""The CUDA attention kernels, called directly on meta tensors inside a profiled module (their
meta kernels accept the calls), and flex_attention. Every kernel costs what the hand count of
test_attention.py says: MACs = scores * (D + Dv); FLOPs per score 2 * (D + Dv) + 1 scale + 5
softmax [+ 1 mask]; backward 2 x the MACs and 2 * 2 * (D + Dv) + 3 + 1 FLOPs per score.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from flopsight.costs import REGISTRY

from hand_counts import brute_force_kept, hand_backward, hand_forward

aten = torch.ops.aten
B, H, S, D = 2, 4, 6, 8


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, device="meta", dtype=dtype)


def _bhsd() -> list[torch.Tensor]:
    return [meta(B, H, S, D) for _ in range(3)]


def _bshd() -> list[torch.Tensor]:
    return [meta(B, S, H, D) for _ in range(3)]


# name -> (call on q, k, v, layout maker, causal, has mask)
FORWARD_KERNELS = {
    "efficient": (lambda q, k, v: aten._scaled_dot_product_efficient_attention(q, k, v, None, True, 0.0, True)[0],
                  _bhsd, True, False),
    "efficient-bias": (lambda q, k, v: aten._scaled_dot_product_efficient_attention(q, k, v, meta(B, H, S, S), True)[0],
                       _bhsd, False, True),
    "flash": (lambda q, k, v: aten._scaled_dot_product_flash_attention(q, k, v, 0.0, True)[0], _bhsd, True, False),
    "flash-not-causal": (lambda q, k, v: aten._scaled_dot_product_flash_attention(q, k, v)[0], _bhsd, False, False),
    "cudnn": (lambda q, k, v: aten._scaled_dot_product_cudnn_attention(q, k, v, None, True, 0.0, True)[0],
              _bhsd, True, False),
    "overrideable": (lambda q, k, v: aten._scaled_dot_product_fused_attention_overrideable(q, k, v, None, 0.0, True)[0],
                     _bhsd, True, False),
    "flash-forward": (lambda q, k, v: aten._flash_attention_forward(q, k, v, None, None, S, S, 0.0, True, False)[0],
                      _bshd, True, False),
    # custom_mask_type 1: causal from the top left
    "efficient-forward": (lambda q, k, v: aten._efficient_attention_forward(
        q, k, v, None, None, None, None, None, 0.0, 1, True)[0], _bshd, True, False),
}


@pytest.mark.parametrize("name", sorted(FORWARD_KERNELS))
def test_forward_kernels_on_meta(profile_op, per_op, name) -> None:
    call, layout, causal, has_mask = FORWARD_KERNELS[name]
    p = profile_op(call, *layout())
    macs, flops, per_score = hand_forward(B, H, S, S, D, D, mask=has_mask or causal)  # causal: its mask added
    ((op, counted),) = per_op(p).items()
    assert counted == (1, macs, flops), op
    kept = B * H * S * (S + 1) // 2 if causal else B * H * S * S
    assert p.forward.masked_flops == (B * H * S * S - kept) * per_score


def test_flash_forward_gqa_and_bottom_right_causal(profile_op) -> None:
    # flash-attn layout [B, S, H, D], 8 query heads over 2 kv heads, 4 new queries over 10 keys
    sq, sk, hq, hk = 4, 10, 8, 2
    q, k, v = meta(B, sq, hq, D), meta(B, sk, hk, D), meta(B, sk, hk, D)
    p = profile_op(
        lambda q, k, v: aten._flash_attention_forward(q, k, v, None, None, sq, sk, 0.0, True, False)[0], q, k, v)
    macs, flops, per_score = hand_forward(B, hq, sq, sk, D, D, mask=True)
    assert (p.forward.macs, p.forward.flops) == (macs, flops)
    kept = B * hq * brute_force_kept(sq, sk, bottom_right=True)  # rows see 7, 8, 9, 10 keys
    assert p.forward.masked_flops == (B * hq * sq * sk - kept) * per_score


@pytest.mark.parametrize(("mask_type", "bottom_right"), [(1, False), (2, True)], ids=["top-left", "bottom-right"])
def test_efficient_forward_custom_mask_types(profile_op, mask_type, bottom_right) -> None:
    sq, sk = 4, 10
    q, k, v = meta(B, sq, H, D), meta(B, sk, H, D), meta(B, sk, H, D)
    p = profile_op(lambda q, k, v: aten._efficient_attention_forward(
        q, k, v, None, None, None, None, None, 0.0, mask_type, True)[0], q, k, v)
    _, flops, per_score = hand_forward(B, H, sq, sk, D, D, mask=True)
    kept = B * H * brute_force_kept(sq, sk, bottom_right=bottom_right)
    assert p.forward.effective_flops == flops - (B * H * sq * sk - kept) * per_score


LENGTHS = (3, 4, 5)
CU_SEQLENS = torch.tensor([0, 3, 7, 12], dtype=torch.int32)  # cumulative LENGTHS


def _varlen_hand(causal_bottom_right: bool) -> tuple[int, int, int]:
    macs = flops = masked = 0
    for n in LENGTHS:
        m, f, per_score = hand_forward(1, H, n, n, D, D, mask=causal_bottom_right)
        macs, flops = macs + m, flops + f
        if causal_bottom_right:
            masked += H * (n * n - brute_force_kept(n, n, bottom_right=True)) * per_score
    return macs, flops, masked


def test_flash_forward_varlen_with_lengths_on_cpu(profile_op) -> None:
    total = sum(LENGTHS)
    q, k, v = meta(total, H, D), meta(total, H, D), meta(total, H, D)
    p = profile_op(lambda q, k, v: aten._flash_attention_forward(
        q, k, v, CU_SEQLENS, CU_SEQLENS, max(LENGTHS), max(LENGTHS), 0.0, True, False)[0], q, k, v)
    # three problems of 3, 4 and 5 tokens, not one of 12
    assert (p.forward.macs, p.forward.flops, p.forward.masked_flops) == _varlen_hand(True)


def test_efficient_forward_varlen_with_lengths_on_cpu(profile_op) -> None:
    total = sum(LENGTHS)
    q, k, v = meta(1, total, H, D), meta(1, total, H, D), meta(1, total, H, D)  # [1, total, H, D]
    p = profile_op(lambda q, k, v: aten._efficient_attention_forward(
        q, k, v, None, CU_SEQLENS, CU_SEQLENS, max(LENGTHS), max(LENGTHS), 0.0, 0, True)[0], q, k, v)
    macs, flops, _ = _varlen_hand(False)
    assert (p.forward.macs, p.forward.flops, p.forward.masked_flops) == (macs, flops, 0)


@pytest.mark.parametrize("kernel", ["flash", "efficient"])
def test_varlen_with_lengths_on_meta_is_priced_by_its_bound(profile_op, kernel) -> None:
    total = sum(LENGTHS)
    cu = CU_SEQLENS.to("meta")
    if kernel == "flash":
        q, k, v = meta(total, H, D), meta(total, H, D), meta(total, H, D)
        call = lambda q, k, v: aten._flash_attention_forward(q, k, v, cu, cu, 5, 5, 0.0, False, False)[0]  # noqa: E731
        op = "aten._flash_attention_forward.default"
    else:
        q, k, v = meta(1, total, H, D), meta(1, total, H, D), meta(1, total, H, D)
        call = lambda q, k, v: aten._efficient_attention_forward(q, k, v, None, cu, cu, 5, 5, 0.0, 0, True)[0]  # noqa: E731
        op = "aten._efficient_attention_forward.default"
    p = profile_op(call, q, k, v)
    # lengths on meta are unknown: 3 sequences (len(cu) - 1), each at the maximum 5 x 5, as
    # FlopCounterMode does; not 12 x 12 (all tokens as one sequence, more than twice as much)
    macs, flops, _ = hand_forward(len(LENGTHS), H, 5, 5, D, D)
    assert (p.forward.macs, p.forward.flops) == (macs, flops)
    assert p.bounded_ops == {op: 1}


def test_varlen_with_lengths_on_cpu_is_exact(profile_op) -> None:
    total = sum(LENGTHS)
    q, k, v = meta(total, H, D), meta(total, H, D), meta(total, H, D)
    p = profile_op(lambda q, k, v: aten._flash_attention_forward(
        q, k, v, CU_SEQLENS, CU_SEQLENS, 5, 5, 0.0, False, False)[0], q, k, v)
    assert p.bounded_ops == {}


def _backward_kernels():
    g, q, k, v, o = (meta(B, H, S, D) for _ in range(5))
    lse, seed, offset = meta(B, H, S), meta(dtype=torch.int64), meta(dtype=torch.int64)
    empty_i32 = meta(0, dtype=torch.int32)
    gb, qb, kb, vb, ob = (meta(B, S, H, D) for _ in range(5))
    return {
        "flash": lambda: aten._scaled_dot_product_flash_attention_backward(
            g, q, k, v, o, lse, empty_i32, empty_i32, S, S, 0.0, True, seed, offset),
        "efficient": lambda: aten._scaled_dot_product_efficient_attention_backward(
            g, q, k, v, None, o, lse, seed, offset, 0.0, [True, True, True, False], True),
        "cudnn": lambda: aten._scaled_dot_product_cudnn_attention_backward(
            g, q, k, v, o, lse, seed, offset, meta(0), empty_i32, empty_i32, S, S, 0.0, True),
        "overrideable": lambda: aten._scaled_dot_product_fused_attention_overrideable_backward(
            g, q, k, v, meta(0), [True, True, True, False], o, lse, empty_i32, empty_i32, S, S, 0.0, True,
            seed, offset),
        "flash-backward": lambda: aten._flash_attention_backward(
            gb, qb, kb, vb, ob, lse, None, None, S, S, 0.0, True, seed, offset),
        "efficient-backward": lambda: aten._efficient_attention_backward(
            gb, qb, kb, vb, None, ob, None, None, S, S, lse, 0.0, seed, offset, 1, False),
    }


@pytest.mark.parametrize("name", sorted(_backward_kernels()))
def test_backward_kernels_on_meta(profile_op, name) -> None:
    call = _backward_kernels()[name]
    p = profile_op(lambda x: call()[0] + x, meta(1))
    macs, flops, per_score = hand_backward(B, H, S, S, D, D)
    assert p.forward.macs == macs
    kernel = [t for op, t in p.by_op("forward").items() if "attention" in op]
    assert [(t.macs, t.flops) for t in kernel] == [(macs, flops)]
    assert kernel[0].masked_flops == (B * H * S * S - B * H * S * (S + 1) // 2) * per_score


# flex_attention ---------------------------------------------------------------------------------

flex = pytest.importorskip("torch.nn.attention.flex_attention")
FLEX_WARNING = "ignore:flex_attention called without torch.compile"


def _causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def _flex_inputs(hq: int = 8, hk: int = 2, s: int = 16):
    return [torch.randn(B, hq, s, D), torch.randn(B, hk, s, D), torch.randn(B, hk, s, D)]


def _flex_hand(hq: int, s: int, causal: bool) -> tuple[int, int, int]:
    macs, flops, per_score = hand_forward(B, hq, s, s, D, D, mask=causal)
    masked = B * hq * (s * s - s * (s + 1) // 2) * per_score if causal else 0
    return macs, flops, masked


@pytest.mark.parametrize("causal", [False, True], ids=["no-mask", "causal"])
def test_flex_attention_formula(causal) -> None:
    """The formula, called as the dispatcher would call it for the flex_attention op."""
    q, k, v = _flex_inputs()
    block_mask = flex.create_block_mask(_causal, None, None, 16, 16, device="cpu", BLOCK_SIZE=4) if causal \
        else flex._create_empty_block_mask(q, k)
    formula = REGISTRY.resolve(torch.ops.higher_order.flex_attention)
    out = (torch.empty(B, 8, 16, D), torch.empty(B, 8, 16), torch.empty(B, 8, 16))
    cost = formula(q, k, v, flex._identity, block_mask.as_tuple(), D ** -0.5, {}, out=out)
    assert (cost.macs, cost.flops, cost.masked_flops) == _flex_hand(8, 16, causal)

    backward = REGISTRY.resolve(torch.ops.higher_order.flex_attention_backward)
    cost = backward(q, k, v, out[0], out[1], out[0], None, None, None, block_mask.as_tuple(), D ** -0.5, {},
                    out=(q, k, v, ()))
    bmacs, bflops, per_score = hand_backward(B, 8, 16, 16, D, D)
    dropped = B * 8 * (16 * 16 - 16 * 17 // 2) if causal else 0
    assert (cost.macs, cost.flops, cost.masked_flops) == (bmacs, bflops, dropped * per_score)


@pytest.mark.filterwarnings(FLEX_WARNING)
def test_flex_attention_is_counted(profile_op) -> None:
    p = profile_op(lambda q, k, v: flex.flex_attention(q, k, v, enable_gqa=True), *_flex_inputs())
    assert (p.forward.macs, p.forward.flops) == _flex_hand(8, 16, False)[:2]
    assert flex._FLEX_ATTENTION_DISABLE_COMPILE_DEBUG is False  # restored after the run


@pytest.mark.filterwarnings(FLEX_WARNING)
@pytest.mark.parametrize("causal", [False, True], ids=["no-mask", "causal"])
def test_flex_attention_counted_once_as_one_op(profile_op, causal) -> None:
    block_mask = flex.create_block_mask(_causal, None, None, 16, 16, device="cpu", BLOCK_SIZE=4) if causal else None
    p = profile_op(lambda q, k, v: flex.flex_attention(q, k, v, block_mask=block_mask, enable_gqa=True),
                   *_flex_inputs())
    flex_ops = {op: t for op, t in p.by_op("forward").items() if "flex" in op}
    assert [(t.macs, t.flops, t.masked_flops) for t in flex_ops.values()] == [_flex_hand(8, 16, causal)]


def test_flex_attention_costs_what_sdpa_costs(profile_op) -> None:
    q, k, v = _flex_inputs(hq=4, hk=4)
    sdpa = profile_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v)
    block_mask = flex.create_block_mask(_causal, None, None, 16, 16, device="cpu", BLOCK_SIZE=4)
    out = (torch.empty(B, 4, 16, D), torch.empty(B, 4, 16), torch.empty(B, 4, 16))
    cost = REGISTRY.resolve(torch.ops.higher_order.flex_attention)(
        q, k, v, flex._identity, block_mask.as_tuple(), D ** -0.5, {}, out=out)
    # same MACs and kept scores; flex's mask_mod costs one FLOP per score, as SDPA's causal mask does
    assert cost.macs == sdpa.forward.macs
    assert cost.flops == sdpa.forward.flops
    assert cost.flops - cost.masked_flops == sdpa.forward.effective_flops


def test_flex_attention_on_meta_is_refused_by_torch() -> None:
    with pytest.raises(ValueError, match="meta"):
        flex.flex_attention(meta(B, H, S, D), meta(B, H, S, D), meta(B, H, S, D))
