"""Fused recurrent kernels that run a whole RNN layer (or cell) in one op: they must cost what
the unfused cells cost.

Each formula is the sum of the per-step ops aten's unfused cells run, so that a CPU LSTM (one
oneDNN op per layer), a CUDA one (one cuDNN op for the whole module) and one on meta (per-step
ops) cost the same.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import OpCost, io_bytes
from .registry import aten, register_cost


# One RNN step, per batch row and hidden unit, as aten's unfused cells run it:
# lstm_cell: gates add (4), sigmoid x3, tanh of the cell gate, f*c and i*g, their add, tanh(c'),
#   o*tanh(c');
# gru_cell: r and z gate adds (2) and sigmoids (2), r*h_n, i_n + that, tanh, h - n, *z, + n;
# rnn_tanh_cell / rnn_relu_cell: the add of the two products and the activation.
# Each bias (b_ih, b_hh) adds 1 FLOP per gate unit.
LSTM_POINTWISE_PER_HIDDEN = 4 + 3 + 1 + 2 + 1 + 1 + 1
GRU_POINTWISE_PER_HIDDEN = 2 + 2 + 1 + 1 + 1 + 1 + 1 + 1
RNN_POINTWISE_PER_HIDDEN = 1 + 1
LSTM_GATES = 4
GRU_GATES = 3
# cudnn's mode numbers: RNN_RELU, RNN_TANH, LSTM, GRU -> (gates, pointwise per hidden unit).
CUDNN_CELLS = {0: (1, RNN_POINTWISE_PER_HIDDEN), 1: (1, RNN_POINTWISE_PER_HIDDEN),
               2: (LSTM_GATES, LSTM_POINTWISE_PER_HIDDEN), 3: (GRU_GATES, GRU_POINTWISE_PER_HIDDEN)}


def _rnn_layer_dims(x: torch.Tensor, hidden_size: int, batch_first: bool) -> tuple[int, int, int]:
    """(steps, batch, input features) of an RNN layer input."""
    if x.dim() == 2:  # unbatched [T, I]
        return x.shape[0], 1, x.shape[1]
    steps, batch = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    return steps, batch, x.shape[2]


@register_cost(aten.mkldnn_rnn_layer)
def mkldnn_lstm_layer_cost(
    x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: Any, b_hh: Any, hx: Any, cx: Any,
    reverse: bool, batch_sizes: Any, mode: int, hidden_size: int, num_layers: int, has_biases: bool,
    bidirectional: bool, batch_first: bool, train: bool, *, out: Any,
) -> OpCost:
    """One direction of one LSTM layer: per step, x @ W_ih^T and h @ W_hh^T (+ biases), then the
    cell's pointwise ops, as the unfused aten lstm_cell runs them."""
    steps, batch, in_features = _rnn_layer_dims(x, hidden_size, batch_first)
    gates = LSTM_GATES * hidden_size
    per_step_macs = batch * gates * (in_features + hidden_size)
    bias_flops = 2 * batch * gates if has_biases else 0
    pointwise = batch * hidden_size * LSTM_POINTWISE_PER_HIDDEN
    macs = steps * per_step_macs
    read, written = io_bytes((x, w_ih, w_hh, b_ih, b_hh, hx, cx), out)
    return OpCost(
        macs=macs, flops=2 * macs + steps * (bias_flops + pointwise), bytes_read=read, bytes_written=written
    )


@register_cost(aten.mkldnn_rnn_layer_backward)
def mkldnn_lstm_layer_backward_cost(
    x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, *args: Any, out: Any, **kwargs: Any
) -> OpCost:
    """oneDNN computes the input, hidden and both weight gradients: 2 x the forward MACs, plus the
    cell's pointwise backward (2 FLOPs per forward pointwise FLOP) and the bias sums."""
    # args after the three weights: w_hh bias, hx, cx, output, hy, cy, grad_output, grad_hy,
    # grad_cy, reverse, mode, hidden_size (12), ..., batch_first (18), workspace.
    hidden_size = int(args[12])
    batch_first = bool(args[18])
    steps, batch, in_features = _rnn_layer_dims(x, hidden_size, batch_first)
    gates = LSTM_GATES * hidden_size
    macs = 2 * steps * batch * gates * (in_features + hidden_size)
    pointwise = 2 * steps * batch * hidden_size * LSTM_POINTWISE_PER_HIDDEN + 2 * steps * batch * gates
    read, written = io_bytes((x, w_ih, w_hh), out)
    return OpCost(macs=macs, flops=2 * macs + pointwise, bytes_read=read, bytes_written=written)


@register_cost(aten._thnn_fused_lstm_cell)
def fused_lstm_cell_cost(
    input_gates: torch.Tensor, hidden_gates: torch.Tensor, cx: torch.Tensor, input_bias: Any = None,
    hidden_bias: Any = None, *, out: Any,
) -> OpCost:
    """CUDA LSTMCell after its two bias-free matmuls: the bias adds and the cell's pointwise ops,
    as the CPU lstm_cell counts them (there the biases ride in addmm)."""
    rows_hidden = cx.numel()
    biases = sum(b is not None for b in (input_bias, hidden_bias))
    flops = rows_hidden * (LSTM_POINTWISE_PER_HIDDEN + biases * LSTM_GATES)
    read, written = io_bytes((input_gates, hidden_gates, cx, input_bias, hidden_bias), out)
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)


@register_cost(aten._thnn_fused_gru_cell)
def fused_gru_cell_cost(
    input_gates: torch.Tensor, hidden_gates: torch.Tensor, hx: torch.Tensor, input_bias: Any = None,
    hidden_bias: Any = None, *, out: Any,
) -> OpCost:
    """CUDA GRUCell after its two bias-free matmuls, as the CPU gru_cell counts it."""
    rows_hidden = hx.numel()
    biases = sum(b is not None for b in (input_bias, hidden_bias))
    flops = rows_hidden * (GRU_POINTWISE_PER_HIDDEN + biases * GRU_GATES)
    read, written = io_bytes((input_gates, hidden_gates, hx, input_bias, hidden_bias), out)
    return OpCost(flops=flops, bytes_read=read, bytes_written=written)


def _cudnn_rnn_work(
    x: torch.Tensor, weights: Any, stride0: int, mode: int, hidden_size: int, proj_size: int, batch_sizes: Any,
) -> tuple[int, int, int]:
    """(MACs, pointwise FLOPs, bias FLOPs) of a whole cuDNN RNN, all layers and
    directions. ``weights`` holds ``stride0`` tensors per (layer, direction): w_ih, w_hh, then
    b_ih, b_hh when there are biases, then w_hr when proj_size > 0."""
    gates, pointwise_per_hidden = CUDNN_CELLS[int(mode)]
    # Every layer processes each (time, batch) row once: padded input is [T, B, I] or [B, T, I],
    # packed input (batch_sizes given) [rows, I].
    rows = x.shape[0] * x.shape[1] if x.dim() == 3 and not batch_sizes else x.shape[0]
    has_biases = stride0 - (1 if proj_size else 0) == 4
    macs = pointwise = bias = 0
    for start in range(0, len(weights), stride0):
        group = weights[start:start + stride0]
        w_ih, w_hh = group[0], group[1]
        macs += rows * (w_ih.numel() + w_hh.numel())
        if proj_size:
            macs += rows * group[-1].numel()
        pointwise += rows * hidden_size * pointwise_per_hidden
        if has_biases:
            bias += rows * 2 * gates * hidden_size
    return macs, pointwise, bias


@register_cost(aten._cudnn_rnn)
def cudnn_rnn_cost(
    x: torch.Tensor, weights: Any, stride0: int, weight_buf: Any, hx: Any, cx: Any, mode: int,
    hidden_size: int, proj_size: int, num_layers: int, batch_first: bool, dropout: float, train: bool,
    bidirectional: bool, batch_sizes: Any, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    """A whole cuDNN RNN (CUDA nn.LSTM / GRU / RNN), priced as the per-step ops of the unfused
    cells, so that CUDA, CPU and meta agree."""
    macs, pointwise, bias = _cudnn_rnn_work(x, weights, stride0, mode, hidden_size, proj_size, batch_sizes)
    read, written = io_bytes((x, *weights, hx, cx), out)
    return OpCost(macs=macs, flops=2 * macs + pointwise + bias, bytes_read=read, bytes_written=written)


@register_cost(aten._cudnn_rnn_backward)
def cudnn_rnn_backward_cost(
    x: torch.Tensor, weights: Any, stride0: int, weight_buf: Any, hx: Any, cx: Any, output: Any,
    grad_output: Any, grad_hy: Any, grad_cy: Any, mode: int, hidden_size: int, proj_size: int,
    num_layers: int, batch_first: bool, dropout: float, train: bool, bidirectional: bool,
    batch_sizes: Any, *args: Any, out: Any, **kwargs: Any,
) -> OpCost:
    """Input, hidden and weight gradients: 2 x the forward MACs; the cells' pointwise backward at
    2 FLOPs per forward pointwise FLOP; the bias gradients sum one FLOP per bias add."""
    macs, pointwise, bias = _cudnn_rnn_work(x, weights, stride0, mode, hidden_size, proj_size, batch_sizes)
    read, written = io_bytes((x, *weights, hx, cx, output, grad_output), out)
    return OpCost(macs=2 * macs, flops=4 * macs + 2 * pointwise + bias, bytes_read=read, bytes_written=written)
