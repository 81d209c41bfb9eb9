"""Common layers leave nothing uncounted, forward and backward, on CPU and meta.

Each op these layers reach has a formula or is listed as free in costs/free_ops.py; an op that
shows up here as uncounted needs one or the other, with its reason.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight

E = 8


def _x(*shape: int):
    return lambda device: (torch.randn(*shape, device=device),)


LAYERS = {
    "linear": (lambda: nn.Linear(E, 4), _x(3, E)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3), _x(2, 3, 6, 6)),
    "conv-transpose2d": (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2), _x(2, 3, 5, 5)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, padding="same"), _x(2, 3, 6)),
    "batch-norm": (lambda: nn.BatchNorm2d(3), _x(2, 3, 4, 4)),
    "layer-norm": (lambda: nn.LayerNorm(E), _x(3, E)),
    "group-norm": (lambda: nn.GroupNorm(2, 4), _x(2, 4, 3)),
    "rms-norm": (lambda: nn.RMSNorm(E), _x(3, E)),
    "gelu-mlp": (lambda: nn.Sequential(nn.Linear(E, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, E)), _x(3, E)),
    "embedding": (lambda: nn.Embedding(10, E), lambda device: (torch.tensor([[1, 2], [3, 4]], device=device),)),
    "embedding-bag": (lambda: nn.EmbeddingBag(10, E), lambda device: (torch.tensor([[1, 2], [3, 4]], device=device),)),
    "lstm": (lambda: nn.LSTM(E, 4, num_layers=2, batch_first=True), _x(2, 3, E)),
    "gru": (lambda: nn.GRU(E, 4, num_layers=2, batch_first=True), _x(2, 3, E)),
    "multihead-attention": (lambda: nn.MultiheadAttention(E, 2, batch_first=True),
                            lambda device: (torch.randn(2, 3, E, device=device),) * 3),
    "transformer-encoder": (lambda: nn.TransformerEncoderLayer(E, 2, 16, batch_first=True), _x(2, 3, E)),
    "transformer-decoder": (lambda: nn.TransformerDecoderLayer(E, 2, 16, batch_first=True), lambda device: (
        torch.randn(2, 3, E, device=device), torch.randn(2, 4, E, device=device))),
    "bilinear": (lambda: nn.Bilinear(3, 4, 5),
                 lambda device: (torch.randn(2, 3, device=device), torch.randn(2, 4, device=device))),
    "cnn-head": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Upsample(scale_factor=2),
                                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)), _x(2, 3, 8, 8)),
}


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_train_mode_forward_and_backward_are_fully_counted(device, name) -> None:
    make, inputs = LAYERS[name]
    p = flopsight.profile(make().to(device).train(), *inputs(device), backward=True)
    assert p.uncounted_ops == {}
    assert p.forward.flops > 0 or name == "embedding"
    assert p.backward.flops > 0


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_eval_no_grad_is_fully_counted(device, name) -> None:
    """Eval + no_grad takes the fast paths (MultiheadAttention's fused op, oneDNN LSTM on CPU)."""
    make, inputs = LAYERS[name]
    model = make().to(device).eval()
    with torch.no_grad():
        p = flopsight.profile(model, *inputs(device))
    assert p.uncounted_ops == {}
