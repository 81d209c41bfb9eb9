"""Every grad mode gives the same counts. Under inference_mode composite ops reach the counting
mode whole and are split there, by the C++ kernel grad mode runs."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch
from torch import nn

import flopsight
from flopsight.costs.data_movement import is_data_movement

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
    # the copy that makes the transposed input contiguous moves bytes, no arithmetic: left out
    return {name: (t.calls, t.macs) for name, t in p.by_op().items() if not is_data_movement(name)}


def _macs(device: str, mode: str) -> int:
    return sum(macs for _, macs in _ops(device, mode).values())


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("mode", list(GRAD_MODES))
def test_linear_on_a_transposed_input_costs_the_same_in_every_grad_mode(device: str, mode: str) -> None:
    # [2, 8, 64] @ [64, 18]: 16 * 64 * 18 MACs, folded onto one mm or batched, alike
    assert _macs(device, mode) == 16 * 64 * 18


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


@pytest.mark.parametrize("same_inputs", [True, False], ids=["self-attention", "query-key-value"])
def test_multihead_attention_under_inference_mode(same_inputs: bool) -> None:
    """Distinct query, key and value split the packed weight with chunk, a composite view op whose
    own ADInplaceOrView kernel makes its outputs views: the split must not make them twice."""
    batch, seq, width = 2, 5, 16
    module = nn.MultiheadAttention(width, 2, batch_first=True)
    x, y, z = (torch.randn(batch, seq, width) for _ in range(3))
    args = (x, x, x) if same_inputs else (x, y, z)
    with torch.inference_mode():
        p = flopsight.profile(module, *args)
    tokens = batch * seq
    projections = tokens * width * 4 * width  # q, k, v and out projections
    attention = 2 * batch * 2 * seq * seq * (width // 2)  # QK^T and PV, 2 heads
    assert p.forward.macs == projections + attention


def test_the_split_restores_the_dispatch_key_state() -> None:
    """The split lets views through ADInplaceOrView, and excludes it again afterwards."""
    key = torch._C.DispatchKey.ADInplaceOrView
    before = torch._C._dispatch_tls_is_dispatch_key_excluded(key)
    _ops("cpu", "inference_mode")
    assert torch._C._dispatch_tls_is_dispatch_key_excluded(key) == before
