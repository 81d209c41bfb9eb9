"""Properties of the formula families over generated shapes: matmul-class MACs are linear in
the batch, causal attention never costs more than full attention, and the hand formulas hold
for any shape."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import flopsight
from flopsight.costs.attention import causal_kept_scores

from op_runner import profile_call
from hand_counts import brute_force_kept

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
small = st.integers(min_value=1, max_value=6)
batch = st.integers(min_value=2, max_value=5)


def _macs(model: nn.Module, x: torch.Tensor) -> int:
    return flopsight.profile(model, x).forward.macs


@SETTINGS
@given(b=batch, rows=small, fin=small, fout=small, bias=st.booleans())
def test_linear_is_linear_in_batch(b, rows, fin, fout, bias) -> None:
    layer = nn.Linear(fin, fout, bias=bias, device="meta")
    one = flopsight.profile(layer, torch.empty(1, rows, fin, device="meta")).forward
    many = flopsight.profile(layer, torch.empty(b, rows, fin, device="meta")).forward
    assert one.macs == rows * fin * fout
    assert (many.macs, many.flops) == (b * one.macs, b * one.flops)


@SETTINGS
@given(b=batch, groups=st.sampled_from([1, 2]), cin=small, cout=small, k=st.integers(1, 3),
       stride=st.integers(1, 2), size=st.integers(3, 7), transposed=st.booleans())
def test_convolution_is_linear_in_batch(b, groups, cin, cout, k, stride, size, transposed) -> None:
    cin, cout = cin * groups, cout * groups
    kind = nn.ConvTranspose2d if transposed else nn.Conv2d
    layer = kind(cin, cout, k, stride=stride, groups=groups, device="meta")
    one = _macs(layer, torch.empty(1, cin, size, size, device="meta"))
    many = _macs(layer, torch.empty(b, cin, size, size, device="meta"))
    assert many == b * one
    if not transposed:
        out = (size - k) // stride + 1
        assert one == cout * out * out * (cin // groups) * k * k


@SETTINGS
@given(b=batch, h=st.integers(1, 3), sq=small, sk=small, d=st.sampled_from([2, 4, 8]), causal=st.booleans())
def test_attention_is_linear_in_batch(b, h, sq, sk, d, causal) -> None:
    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def run(n):
        q, k, v = torch.empty(n, h, sq, d), torch.empty(n, h, sk, d), torch.empty(n, h, sk, d)
        return profile_call(attend, *(t.to("meta") for t in (q, k, v))).forward

    one, many = run(1), run(b)
    assert one.macs == h * sq * sk * 2 * d
    assert (many.macs, many.flops, many.masked_flops) == (b * one.macs, b * one.flops, b * one.masked_flops)


@SETTINGS
@given(b=st.integers(1, 2), h=st.integers(1, 3), sq=small, sk=small, d=st.sampled_from([2, 4]))
def test_causal_effective_never_exceeds_full(b, h, sq, sk, d) -> None:
    q, k, v = torch.randn(b, h, sq, d), torch.randn(b, h, sk, d), torch.randn(b, h, sk, d)
    full = profile_call(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v).forward
    causal = profile_call(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v).forward
    scores = b * h * sq * sk
    # scores are counted in full either way, plus the causal mask the reference adds, one per score
    assert causal.flops == full.flops + scores
    assert 0 <= causal.masked_flops <= causal.flops
    assert causal.effective_flops <= full.effective_flops + scores
    # top-left causal keeps min(i + 1, Sk) keys in row i; q and k scaled whatever is masked
    per_score = 2 * (d + d) + 5 + 1
    scale = b * h * (sq + sk) * d
    kept = b * h * sum(min(i + 1, sk) for i in range(sq))
    assert causal.effective_flops == kept * per_score + scale


@settings(max_examples=200, deadline=None)
@given(sq=st.integers(0, 40), sk=st.integers(0, 40), bottom_right=st.booleans())
def test_causal_kept_scores_property(sq, sk, bottom_right) -> None:
    kept = causal_kept_scores(sq, sk, bottom_right=bottom_right)
    assert 0 <= kept <= sq * sk
    assert kept == brute_force_kept(sq, sk, bottom_right=bottom_right)
