"""Convolutions: MACs = output elements x (input channels per group) x kernel volume; for a
transposed convolution, input elements x (output channels per group) x kernel volume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight

aten = torch.ops.aten
DEVICES = ["cpu", "meta"]

# (layer factory, input shape, output elements, MACs per output element [per input element if transposed])
CASES = {
    # out L = 10 - 3 + 1 = 8: 2*8*8 outputs x Cin 3 * k 3
    "conv1d": (lambda bias: nn.Conv1d(3, 8, 3, bias=bias), (2, 3, 10), 2 * 8 * 8, 3 * 3),
    # out 8x8: 2*8*64 outputs x 3 * 3*3
    "conv2d": (lambda bias: nn.Conv2d(3, 8, 3, bias=bias), (2, 3, 10, 10), 2 * 8 * 64, 3 * 9),
    # out 4x4x4: 2*8*64 outputs x 3 * 3*3*3
    "conv3d": (lambda bias: nn.Conv3d(3, 8, 3, bias=bias), (2, 3, 6, 6, 6), 2 * 8 * 64, 3 * 27),
    # groups=4: each output sees 8/4 = 2 input channels
    "grouped": (lambda bias: nn.Conv2d(8, 16, 3, groups=4, bias=bias), (2, 8, 10, 10), 2 * 16 * 64, 2 * 9),
    # depthwise: 1 input channel per output
    "depthwise": (lambda bias: nn.Conv2d(8, 8, 3, groups=8, bias=bias), (2, 8, 10, 10), 2 * 8 * 64, 1 * 9),
    # dilation 2: effective kernel 5, out 6x6
    "dilated": (lambda bias: nn.Conv2d(3, 8, 3, dilation=2, bias=bias), (2, 3, 10, 10), 2 * 8 * 36, 3 * 9),
    # stride 2, padding 1: out (10 + 2 - 3) // 2 + 1 = 5
    "strided": (lambda bias: nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=bias), (2, 3, 10, 10), 2 * 8 * 25, 3 * 9),
    # padding="same" keeps 10x10
    "same": (lambda bias: nn.Conv2d(3, 8, 3, padding="same", bias=bias), (2, 3, 10, 10), 2 * 8 * 100, 3 * 9),
}

# Transposed: (factory, input shape, output elements, input elements, MACs per input element)
TRANSPOSED = {
    # out (5 - 1) * 2 + 3 + 1 = 12: each of 2*4*25 inputs scatters into Cout 6 x 3*3 outputs
    "transposed": (lambda bias: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1, bias=bias),
                   (2, 4, 5, 5), 2 * 6 * 144, 2 * 4 * 25, 6 * 9),
    # groups=2: each input scatters into 6/2 = 3 output channels; out (5 - 1) * 2 + 3 = 11
    "transposed-grouped": (lambda bias: nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, bias=bias),
                           (2, 4, 5, 5), 2 * 6 * 121, 2 * 4 * 25, 3 * 9),
    # 1-d: out 5 + 3 - 1 = 7
    "transposed-1d": (lambda bias: nn.ConvTranspose1d(2, 3, 3, bias=bias), (1, 2, 5), 1 * 3 * 7, 1 * 2 * 5, 3 * 3),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_convolution_forward(per_op, device, bias, case) -> None:
    make, shape, outputs, per_output = CASES[case]
    p = flopsight.profile(make(bias).to(device), torch.randn(*shape, device=device))
    macs = outputs * per_output
    flops = 2 * macs + (outputs if bias else 0)  # the bias adds once per output element
    assert per_op(p) == {"aten.convolution.default": (1, macs, flops)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("case", sorted(TRANSPOSED))
def test_transposed_convolution_forward(per_op, device, bias, case) -> None:
    make, shape, outputs, inputs, per_input = TRANSPOSED[case]
    p = flopsight.profile(make(bias).to(device), torch.randn(*shape, device=device))
    macs = inputs * per_input
    assert per_op(p) == {"aten.convolution.default": (1, macs, 2 * macs + (outputs if bias else 0))}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", ["conv2d", "grouped", "depthwise", "dilated", "strided", "conv3d"])
def test_backward_with_input_grad_is_twice_forward(device, case) -> None:
    make, shape, outputs, per_output = CASES[case]
    x = torch.randn(*shape, device=device, requires_grad=True)
    p = flopsight.profile(make(True).to(device), x, backward=True)
    forward_macs = outputs * per_output
    assert p.forward.macs == forward_macs
    # input gradient + weight gradient, each a convolution of the forward's size
    assert p.backward.macs == 2 * forward_macs
    # bias gradient: grad_out summed, one FLOP per output element
    assert p.backward.flops == 2 * p.backward.macs + outputs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", ["conv2d", "grouped", "conv1d"])
def test_backward_without_input_grad_is_weight_grad_only(device, case) -> None:
    make, shape, outputs, per_output = CASES[case]
    p = flopsight.profile(make(True).to(device), torch.randn(*shape, device=device), backward=True)
    assert p.backward.macs == outputs * per_output
    assert p.backward.flops == 2 * outputs * per_output + outputs


@pytest.mark.parametrize("device", DEVICES)
def test_transposed_backward_is_twice_forward(device) -> None:
    make, shape, outputs, inputs, per_input = TRANSPOSED["transposed"]
    x = torch.randn(*shape, device=device, requires_grad=True)
    p = flopsight.profile(make(False).to(device), x, backward=True)
    assert p.backward.macs == 2 * inputs * per_input
    assert p.backward.flops == 2 * p.backward.macs


@pytest.mark.parametrize("case", sorted(CASES))
def test_cpu_and_meta_agree(case) -> None:
    make, shape, _, _ = CASES[case]
    x = torch.randn(*shape, requires_grad=True)
    cpu = flopsight.profile(make(True), x, backward=True)
    meta = flopsight.profile(make(True).to("meta"), x.detach().to("meta").requires_grad_(), backward=True)
    assert (cpu.forward, cpu.backward) == (meta.forward, meta.backward)


def _backend_calls():
    w = torch.randn(8, 3, 3, 3)
    b = torch.randn(8)
    wt = torch.randn(3, 4, 3, 3)
    bt = torch.randn(4)
    return {
        # (input, weight, bias, padding, stride, dilation, groups)
        "mkldnn_convolution": lambda x: aten.mkldnn_convolution(x, w, b, [0, 0], [1, 1], [1, 1], 1),
        # (input, weight, kernel_size, bias, stride, padding)
        "_slow_conv2d_forward": lambda x: aten._slow_conv2d_forward(x, w, [3, 3], b, [1, 1], [0, 0]),
        "slow_conv_dilated2d": lambda x: aten.slow_conv_dilated2d(x, w, [3, 3], b, [1, 1], [0, 0], [1, 1]),
        # transposed, stride 1: every input element scatters into 4 x 3*3 outputs
        "slow_conv_transpose2d": lambda x: aten.slow_conv_transpose2d(x, wt, [3, 3], bt),
    }


@pytest.mark.parametrize("name", sorted(_backend_calls()))
def test_backend_ops_called_directly_count_their_bias(profile_op, name) -> None:
    x = torch.randn(2, 3, 10, 10)
    p = profile_op(_backend_calls()[name], x)
    if name == "slow_conv_transpose2d":
        macs = 2 * 3 * 100 * (4 * 9)  # inputs x Cout * k
        outputs = 2 * 4 * 12 * 12  # out 10 + 3 - 1 = 12
    else:
        outputs = 2 * 8 * 64  # out 8x8
        macs = outputs * 3 * 9
    assert (p.forward.macs, p.forward.flops) == (macs, 2 * macs + outputs)
    assert p.uncounted_ops == {}
