"""Recurrent layers and their fused kernels: a fused op must cost what the unfused cells cost.

RNN hand count, per step, layer and direction, batch B, input I, hidden H:
    LSTM MACs B*4H*(I+H); pointwise per (row, hidden unit) 13 (gate add 4, sigmoid x3, tanh,
    f*c, i*g, their add, tanh(c), o*tanh(c)); bias adds 2 x B*4H
    GRU  MACs B*3H*(I+H); pointwise 10 (r, z adds and sigmoids, r*h_n, i_n +, tanh, h - n, *z, + n);
    bias adds 2 x B*3H
    RNN  MACs B*H*(I+H); pointwise 2 (add, tanh); bias adds 2 x B*H
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight
from flopsight.costs import REGISTRY

aten = torch.ops.aten
B, T, I, H = 2, 5, 3, 4


def hand_rnn(kind: str, layers: int, *, bias: bool = True, directions: int = 1) -> tuple[int, int]:
    gates, pointwise = {"lstm": (4, 13), "gru": (3, 10), "rnn": (1, 2)}[kind]
    macs = flops_other = 0
    in_features = I
    for _ in range(layers):
        for _ in range(directions):
            step_macs = B * gates * H * (in_features + H)
            step_other = B * H * pointwise + (2 * B * gates * H if bias else 0)
            macs += T * step_macs
            flops_other += T * step_other
        in_features = H * directions
    return macs, 2 * macs + flops_other


RNNS = {
    "lstm-2-layers": (lambda: nn.LSTM(I, H, num_layers=2, batch_first=True), hand_rnn("lstm", 2)),
    "lstm-no-bias": (lambda: nn.LSTM(I, H, batch_first=True, bias=False), hand_rnn("lstm", 1, bias=False)),
    "lstm-bidirectional": (lambda: nn.LSTM(I, H, batch_first=True, bidirectional=True),
                           hand_rnn("lstm", 1, directions=2)),
    "gru-2-layers": (lambda: nn.GRU(I, H, num_layers=2, batch_first=True), hand_rnn("gru", 2)),
    "rnn-tanh": (lambda: nn.RNN(I, H, batch_first=True), hand_rnn("rnn", 1)),
}


def test_hand_count_of_the_two_layer_lstm() -> None:
    # layer 0: 5 steps x 2*16*(3+4) = 1120, layer 1: 5 x 2*16*(4+4) = 1280
    # pointwise: 10 (step, layer) pairs x (2*4*13 + 2*2*16) = 10 x 168
    assert hand_rnn("lstm", 2) == (1120 + 1280, 2 * 2400 + 1680)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("case", sorted(RNNS))
def test_rnn_forward(device, case) -> None:
    make, (macs, flops) = RNNS[case]
    p = flopsight.profile(make().to(device), torch.randn(B, T, I, device=device))
    assert (p.forward.macs, p.forward.flops) == (macs, flops)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("case", sorted(RNNS))
def test_rnn_cpu_equals_meta(case) -> None:
    make, _ = RNNS[case]
    layer = make()
    x = torch.randn(B, T, I)
    cpu = flopsight.profile(layer, x)
    meta = flopsight.profile(layer.to("meta"), x.to("meta"))
    assert (cpu.forward.macs, cpu.forward.flops) == (meta.forward.macs, meta.forward.flops)


def test_cpu_lstm_runs_one_onednn_op_per_layer(per_op) -> None:
    p = flopsight.profile(nn.LSTM(I, H, num_layers=2, batch_first=True), torch.randn(B, T, I))
    assert list(per_op(p)) == ["aten.mkldnn_rnn_layer.default"]
    assert per_op(p)["aten.mkldnn_rnn_layer.default"][0] == 2


def test_cpu_lstm_backward_computes_every_gradient() -> None:
    """oneDNN's backward computes input, hidden and weight gradients: 2 x the forward MACs."""
    p = flopsight.profile(nn.LSTM(I, H, num_layers=2, batch_first=True), torch.randn(B, T, I), backward=True)
    assert p.backward.macs == 2 * hand_rnn("lstm", 2)[0]


def _cudnn_call(layer: nn.RNNBase, mode: int):
    proj = getattr(layer, "proj_size", 0)
    directions = 2 if layer.bidirectional else 1
    hidden_out = proj or layer.hidden_size
    weights = list(layer._flat_weights)
    stride0 = len(weights) // (layer.num_layers * directions)

    def run(x: torch.Tensor) -> torch.Tensor:
        states = layer.num_layers * directions
        hx = torch.zeros(states, x.shape[0], hidden_out, device=x.device)
        cx = torch.zeros(states, x.shape[0], layer.hidden_size, device=x.device) if mode == 2 else None
        return aten._cudnn_rnn(x, weights, stride0, None, hx, cx, mode, layer.hidden_size, proj, layer.num_layers,
                               True, 0.0, False, layer.bidirectional, [], None)[0]

    return run


@pytest.mark.parametrize(("make", "mode"), [
    (lambda: nn.LSTM(I, H, num_layers=2, batch_first=True), 2),
    (lambda: nn.LSTM(I, H, num_layers=2, batch_first=True, proj_size=2), 2),
    (lambda: nn.LSTM(I, H, batch_first=True, bidirectional=True), 2),
    (lambda: nn.GRU(I, H, num_layers=2, batch_first=True), 3),
    (lambda: nn.RNN(I, H, batch_first=True), 1),
    (lambda: nn.RNN(I, H, batch_first=True, nonlinearity="relu", bias=False), 0),
], ids=["lstm", "lstm-proj", "lstm-bidirectional", "gru", "rnn-tanh", "rnn-relu-no-bias"])
def test_cudnn_rnn_costs_what_the_unfused_cells_cost(profile_op, per_op, make, mode) -> None:
    """CUDA runs one _cudnn_rnn op for a whole nn.LSTM/GRU/RNN; its meta kernel lets us price it
    against the per-step ops the same module runs on meta."""
    layer = make().to("meta")
    x = torch.randn(B, T, I, device="meta")
    fused = profile_op(_cudnn_call(layer, mode), x)
    assert list(per_op(fused)) == ["aten._cudnn_rnn.default"]
    unfused = flopsight.profile(layer, x)
    assert (fused.forward.macs, fused.forward.flops) == (unfused.forward.macs, unfused.forward.flops)


def test_lstm_with_projection_hand_count() -> None:
    layer = nn.LSTM(I, H, num_layers=2, batch_first=True, proj_size=2).to("meta")
    p = flopsight.profile(layer, torch.randn(B, T, I, device="meta"))
    # layer 0: B*4H*(I + P) + projection B*P*H per step; layer 1 takes the P=2 projected features
    per_step = (2 * 16 * (3 + 2) + 2 * 2 * 4) + (2 * 16 * (2 + 2) + 2 * 2 * 4)
    assert p.forward.macs == T * per_step


def test_fused_lstm_cell_costs_what_lstm_cell_costs(profile_op) -> None:
    """CUDA's LSTMCell: two bias-free matmuls and _thnn_fused_lstm_cell (meta kernel available)."""
    cell = nn.LSTMCell(I, H).to("meta")
    x, h, c = torch.randn(B, I, device="meta"), torch.randn(B, H, device="meta"), torch.randn(B, H, device="meta")

    def cuda_path(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gates_i, gates_h = x @ cell.weight_ih.t(), h @ cell.weight_hh.t()
        return aten._thnn_fused_lstm_cell(gates_i, gates_h, c, cell.bias_ih, cell.bias_hh)[0]

    fused = profile_op(cuda_path, x, h, c)
    unfused = flopsight.profile(cell, x, (h, c))
    # B*4H*(I+H) MACs; B*H*13 pointwise + 2 x B*4H bias adds
    assert unfused.forward.macs == 2 * 16 * 7
    assert unfused.forward.flops == 2 * 224 + 2 * 4 * 13 + 2 * 2 * 16
    assert (fused.forward.macs, fused.forward.flops) == (unfused.forward.macs, unfused.forward.flops)


def test_fused_gru_cell_formula_costs_what_gru_cell_costs() -> None:
    """_thnn_fused_gru_cell has no meta kernel in this build: call its formula directly."""
    cell = nn.GRUCell(I, H)
    x, h = torch.randn(B, I), torch.randn(B, H)
    unfused = flopsight.profile(cell, x, h)
    formula = REGISTRY.resolve(aten._thnn_fused_gru_cell.default)
    gates = torch.empty(B, 3 * H)
    cost = formula(gates, gates, h, cell.bias_ih, cell.bias_hh, out=(h, torch.empty(B, 5 * H)))
    matmul_flops = 2 * B * 3 * H * (I + H)
    # B*H*10 pointwise + 2 x B*3H bias adds
    assert cost.flops == B * H * 10 + 2 * B * 3 * H
    assert matmul_flops + cost.flops == unfused.forward.flops
