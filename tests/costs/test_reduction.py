"""Reductions: FLOPs per input element; none on integer inputs."""

from __future__ import annotations

import pytest
import torch
from feature_map import N, random_feature_map as _x

DEVICES = ["cpu", "meta"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("fn", "per_input"), [
    (lambda x: x.sum(), 1),
    (lambda x: x.mean(-1), 1),
    (lambda x: x.amax(-1), 1),
    (lambda x: x.max(-1).values, 1),
    (lambda x: x.argmax(-1), 1),
    (lambda x: x.prod(-1), 1),
    (lambda x: x.cumsum(-1), 1),
    (lambda x: x.norm(dim=-1), 2),  # square, accumulate
    (lambda x: x.var(-1), 3),  # subtract the mean, square, accumulate
    (lambda x: x.std(), 3),
    (lambda x: x.logsumexp(-1), 3),
], ids=["sum", "mean", "amax", "max", "argmax", "prod", "cumsum", "norm", "var", "std", "logsumexp"])
def test_reductions(profile_op, device, fn, per_input) -> None:
    p = profile_op(fn, _x(device))
    assert (p.forward.macs, p.forward.flops) == (0, per_input * N)
    assert p.uncounted_ops == {}


@pytest.mark.parametrize("device", DEVICES)
def test_integer_reduction_is_free(profile_op, device) -> None:
    assert profile_op(lambda a: a.sum(), torch.arange(10, device=device)).forward.flops == 0
