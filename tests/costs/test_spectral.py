"""FFTs: 5 N log2 N real FLOPs per complex transform of length N (N/2 log2 N radix-2
butterflies of 10 FLOPs), half for real-input or real-output transforms, plus one multiply per
real output value when normalized; no MACs."""

from __future__ import annotations

import pytest
import torch

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
def test_fft2_complex_unnormalized(profile_op, device) -> None:
    # [3, 8, 4] complex over the last two dims: N = 32, log2 N = 5; 3 transforms x 5 x 32 x 5
    x = torch.randn(3, 8, 4, dtype=torch.complex64, device=device)
    p = profile_op(lambda x: torch.fft.fft2(x), x)
    assert (p.forward.macs, p.forward.flops) == (0, 3 * 5 * 32 * 5)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_ifft_complex_scaled_by_one_over_n(profile_op, device) -> None:
    # [2, 16] complex over the last dim: 2 x 5 x 16 x 4 = 640, plus 2 FLOPs per complex output (32)
    x = torch.randn(2, 16, dtype=torch.complex64, device=device)
    p = profile_op(lambda x: torch.fft.ifft(x), x)
    assert (p.forward.macs, p.forward.flops) == (0, 640 + 2 * 32)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_rfft_and_irfft_are_half_a_complex_transform(profile_op, device) -> None:
    # rfft of [4, 8] real: 2.5 x 32 x log2 8 = 240 (unnormalized, 5 complex outputs per row)
    x = torch.randn(4, 8, device=device)
    p = profile_op(lambda x: torch.fft.rfft(x), x)
    assert (p.forward.macs, p.forward.flops) == (0, 240)
    # irfft back to [4, 8] real: 240, plus 1/n scaling of 32 real outputs
    y = torch.randn(4, 5, dtype=torch.complex64, device=device)
    p = profile_op(lambda y: torch.fft.irfft(y, n=8), y)
    assert (p.forward.macs, p.forward.flops) == (0, 240 + 32)
    assert p.uncounted_ops == {}
