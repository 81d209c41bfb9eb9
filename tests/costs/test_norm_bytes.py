"""Norms write their output and, when they compute them, two float32 statistics per group: the
same bytes on CPU and meta, whatever statistics tensors each device's kernel returns."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import flopsight


def _forward_bytes(module: nn.Module, x: torch.Tensor, device: str) -> tuple[int, int]:
    module = module.to(device)
    p = flopsight.profile(module, x.to(device))
    return p.forward.bytes_read, p.forward.bytes_written


@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_bytes_agree_on_cpu_and_meta(training: bool) -> None:
    n, c, h, w = 4, 3, 5, 5
    module = nn.BatchNorm2d(c).train(training)
    x = torch.randn(n, c, h, w)
    cpu, meta = _forward_bytes(module, x, "cpu"), _forward_bytes(module, x, "meta")
    output = n * c * h * w * 4
    stats = 2 * c * 4 if training else 0  # saved mean and inverse std, training only
    counter = 8 if training else 0  # num_batches_tracked += 1 (int64), read and written
    assert cpu[1] == meta[1] == output + stats + counter
    assert cpu[0] == meta[0] == output + 2 * c * 4 + counter  # input, weight, bias


def test_bf16_layer_norm_statistics_are_float32_on_every_device() -> None:
    rows, width = 6, 8
    module = nn.LayerNorm(width).to(torch.bfloat16)
    x = torch.randn(rows, width, dtype=torch.bfloat16)
    cpu, meta = _forward_bytes(module, x, "cpu"), _forward_bytes(module, x, "meta")
    assert cpu == meta
    assert cpu[1] == rows * width * 2 + 2 * rows * 4


def test_group_norm_statistics_per_sample_and_group() -> None:
    n, c, groups, length = 2, 6, 3, 5
    x = torch.randn(n, c, length)
    cpu = _forward_bytes(nn.GroupNorm(groups, c), x, "cpu")
    assert cpu == _forward_bytes(nn.GroupNorm(groups, c), x, "meta")
    assert cpu[1] == n * c * length * 4 + 2 * n * groups * 4
