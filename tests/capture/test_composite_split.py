"""Every grad mode prices the same ops. Under inference_mode composite ops reach the counting
mode whole and are split there; the split must take the path torch takes without a mode."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
from torch import nn

import flopsight

GRAD_MODES: dict[str, Callable[[], Any]] = {
    "grad": torch.enable_grad,
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
}


class TransposedProjection(nn.Module):
    """A linear layer on a transposed (non-contiguous) 3-d input, as Mamba's x_proj: ATen's
    matmul folds it onto mm only because the weight's view ``weight.t()`` requires grad."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(64, 18, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.transpose(1, 2))


def _ops(device: str, mode: str) -> dict[str, tuple[int, int]]:
    torch.manual_seed(0)
    model = TransposedProjection().to(device)
    with GRAD_MODES[mode]():
        x = torch.randn(2, 64, 8, device=device)
        p = flopsight.profile(model, x)
    return {name: (t.calls, t.macs) for name, t in p.by_op().items()}


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("mode", list(GRAD_MODES))
def test_linear_on_a_transposed_input_runs_mm_in_every_grad_mode(device: str, mode: str) -> None:
    # [2, 8, 64] folded to [16, 64] @ [64, 18]: one mm, 16 * 64 * 18 MACs
    assert _ops(device, mode) == {"aten.mm.default": (1, 16 * 64 * 18)}


def test_torch_itself_runs_mm_under_inference_mode() -> None:
    """The reference: what torch runs without any mode (its profiler records the aten calls)."""
    model = TransposedProjection()
    with torch.inference_mode():
        x = torch.randn(2, 64, 8)
        with torch.profiler.profile() as prof:
            model(x)
    ran = {e.name for e in prof.events()}
    assert "aten::mm" in ran and "aten::bmm" not in ran


def test_the_split_restores_the_dispatch_key_state() -> None:
    """The split lets views through ADInplaceOrView, and excludes it again afterwards."""
    key = torch._C.DispatchKey.ADInplaceOrView
    before = torch._C._dispatch_tls_is_dispatch_key_excluded(key)
    _ops("cpu", "inference_mode")
    assert torch._C._dispatch_tls_is_dispatch_key_excluded(key) == before
