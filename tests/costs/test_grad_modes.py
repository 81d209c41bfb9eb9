"""Same model, same counts under grad mode, no_grad and inference_mode, on CPU and meta.

Under inference_mode composite ops reach the counting mode whole and are decomposed there;
under grad mode autograd splits them first. Each family's grad-mode count is checked against
hand numbers in its own test file; here the other modes must give exactly that count.
"""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import flopsight

E = 8


class Fn(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _x(*shape: int):
    return lambda device: (torch.randn(*shape, device=device),)


def _sdpa(**kwargs):
    def call(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **kwargs)
    return call


FAMILIES = {
    "linear": (lambda: nn.Linear(E, 4), _x(3, E)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3), _x(2, 3, 6)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), _x(2, 3, 5, 5)),
    "conv3d": (lambda: nn.Conv3d(2, 3, 2), _x(1, 2, 4, 4, 4)),
    "conv-transpose2d": (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2), _x(2, 3, 4, 4)),
    "matmul": (lambda: Fn(torch.matmul), lambda d: (torch.randn(2, 3, 4, device=d), torch.randn(4, 5, device=d))),
    "bmm": (lambda: Fn(torch.bmm), lambda d: (torch.randn(2, 3, 4, device=d), torch.randn(2, 4, 5, device=d))),
    "einsum": (lambda: Fn(lambda a, b: torch.einsum("bij,bjk->bik", a, b)),
               lambda d: (torch.randn(2, 3, 4, device=d), torch.randn(2, 4, 5, device=d))),
    "layer-norm": (lambda: nn.LayerNorm(E), _x(3, E)),
    "group-norm": (lambda: nn.GroupNorm(2, 4), _x(2, 4, 3)),
    "batch-norm-eval": (lambda: nn.BatchNorm2d(3).eval(), _x(2, 3, 4, 4)),
    "rms-norm": (lambda: nn.RMSNorm(E), _x(3, E)),
    "softmax": (lambda: Fn(lambda x: F.softmax(x, -1)), _x(3, E)),
    "log-softmax": (lambda: Fn(lambda x: F.log_softmax(x, -1)), _x(3, E)),
    "sdpa": (lambda: Fn(_sdpa()), lambda d: tuple(torch.randn(2, 2, 5, 4, device=d) for _ in range(3))),
    "sdpa-causal": (lambda: Fn(_sdpa(is_causal=True)), lambda d: tuple(torch.randn(2, 2, 5, 4, device=d) for _ in range(3))),
    "sdpa-mask": (lambda: Fn(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)),
                  lambda d: tuple(torch.randn(2, 2, 5, 4, device=d) for _ in range(3)) + (torch.randn(5, 5, device=d),)),
    "embedding": (lambda: nn.Embedding(10, E), lambda d: (torch.tensor([[1, 2], [3, 4]], device=d),)),
    "pointwise": (lambda: Fn(lambda x: F.gelu(x) * torch.sigmoid(x) + x.exp()), _x(3, E)),
    "reductions": (lambda: Fn(lambda x: x.sum() + x.mean(-1).sum() + x.var() + x.norm()), _x(3, E)),
    "pooling": (lambda: nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1)), _x(2, 3, 8, 8)),
    "interpolation": (lambda: Fn(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear")), _x(1, 2, 4, 4)),
    "losses": (lambda: Fn(lambda x, t: F.cross_entropy(x, t) + F.mse_loss(x, x.tanh())),
               lambda d: (torch.randn(4, 5, device=d), torch.tensor([0, 1, 2, 3], device=d))),
    "rnn": (lambda: nn.RNN(E, 4, batch_first=True), _x(2, 3, E)),
    "lstm": (lambda: nn.LSTM(E, 4, num_layers=2, batch_first=True), _x(2, 3, E)),
    "gru": (lambda: nn.GRU(E, 4, batch_first=True), _x(2, 3, E)),
}

MODES = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}


def _counts(name: str, device: str, mode: contextlib.AbstractContextManager | None):
    make, inputs = FAMILIES[name]
    torch.manual_seed(0)
    model = make().to(device)
    args = inputs(device)
    with mode if mode is not None else contextlib.nullcontext():
        p = flopsight.profile(model, *args)
    return p.uncounted_ops, p.forward.macs, p.forward.flops, p.forward.masked_flops


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_grad_mode_counts_the_same(name, mode, device) -> None:
    expected = _counts(name, device, None)
    assert expected[0] == {}
    assert expected[2] > 0 or name == "embedding"  # an embedding is a gather: 0 FLOPs
    assert _counts(name, device, MODES[mode]()) == expected


@pytest.mark.parametrize("mode", ["grad", *sorted(MODES)])
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_cpu_and_meta_count_the_same(name, mode) -> None:
    make_mode = MODES.get(mode)
    cpu = _counts(name, "cpu", make_mode() if make_mode else None)
    assert _counts(name, "meta", make_mode() if make_mode else None) == cpu
