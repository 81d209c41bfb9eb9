"""A backward run through the meta redirect mode keeps the mode on, so activation
checkpointing recomputes the forward with the same redirects (it raised before: the recomputed
tensors differed from the saved ones)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.checkpoint import checkpoint

import flopsight
from flopsight.capture.backward_in_mode import BACKWARD_FUNCTIONS, backward_in_mode
from flopsight.training import FlopsProfiler


class Attention(nn.Module):
    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, q, q)


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear, self.norm, self.drop = nn.Linear(32, 32), nn.RMSNorm(32), nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.norm(self.linear(x)))


class Checkpointed(nn.Module):
    def __init__(self, inner: nn.Module, width: int) -> None:
        super().__init__()
        self.inner, self.head = inner, nn.Linear(width, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(checkpoint(self.inner, x, use_reentrant=False))


def counts(device: str, make: Any, x_shape: tuple[int, ...], *, memory: bool) -> tuple[int, int, int, dict[str, int]]:
    torch.manual_seed(0)
    p = flopsight.profile(make().to(device), torch.randn(*x_shape, device=device, requires_grad=True),
                          backward=True, memory=memory)
    return p.forward.flops, p.backward.flops, p.recompute.flops, p.uncounted_ops


@pytest.mark.parametrize("memory", [False, True])
def test_sdpa_in_a_checkpoint_on_meta_counts_what_cpu_counts(memory: bool) -> None:
    def make() -> nn.Module:
        return Checkpointed(Attention(), 8)
    assert counts("meta", make, (2, 2, 5, 8), memory=memory) == counts("cpu", make, (2, 2, 5, 8), memory=memory)


def test_dropout_and_rms_norm_in_a_checkpoint_on_meta_as_cuda_runs_them() -> None:
    def make() -> nn.Module:
        return Checkpointed(Block(), 32)
    rows, width = 8, 32
    cpu = counts("cpu", make, (rows, width), memory=True)
    meta = counts("meta", make, (rows, width), memory=True)
    assert (meta[0], meta[1], meta[3]) == (cpu[0], cpu[1], cpu[3]) == (cpu[0], cpu[1], {})
    # The recompute stops once the tensors the backward needs are made again: on CPU that is
    # before dropout's last multiply (x * noise saves the noise, not its result); CUDA's fused
    # native_dropout saves its own mask, so it runs whole: one FLOP per element more.
    assert meta[2] == cpu[2] + rows * width
    assert counts("meta", make, (rows, width), memory=False) == cpu


def test_a_backward_in_the_users_loop_on_meta_keeps_the_redirects() -> None:
    torch.manual_seed(0)
    model = Checkpointed(Attention(), 8).to("meta")
    x = torch.randn(2, 2, 5, 8, device="meta", requires_grad=True)
    expected = flopsight.profile(model, x, backward=True)
    for backward in (lambda loss: loss.backward(), lambda loss: torch.autograd.backward([loss])):
        with FlopsProfiler(model) as prof:
            backward(model(x).sum())
        assert prof.profile.backward == expected.backward
        assert model.head.weight.grad is not None and model.head.weight.grad.shape == model.head.weight.shape
        model.zero_grad(set_to_none=True)
        x.grad = None


class Seen(TorchFunctionMode):
    """Records the torch functions it sees; runs backwards as the meta mode does."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        self.seen.append(func)
        if func in BACKWARD_FUNCTIONS:
            return backward_in_mode(self, func, args, kwargs or {})
        return func(*args, **(kwargs or {}))


class Doubled(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x * 2

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return torch.mul(grad, 2)  # a torch function called inside the backward


@pytest.mark.parametrize("call", ["grad", "backward", "Tensor.backward", "grad-with-grad_outputs"])
def test_the_mode_sees_what_the_backward_calls_and_the_gradients_are_torchs(call: str) -> None:
    x = torch.ones(3, requires_grad=True)
    mode = Seen()
    with mode:
        y = Doubled.apply(x).sum() if call != "grad-with-grad_outputs" else Doubled.apply(x)
        if call == "grad":
            (gradient,) = torch.autograd.grad(y, [x])
        elif call == "grad-with-grad_outputs":
            (gradient,) = torch.autograd.grad(y, x, grad_outputs=torch.full((3,), 3.0))
        else:
            y.backward() if call == "Tensor.backward" else torch.autograd.backward(y)
            gradient = x.grad
    assert torch.mul in mode.seen
    expected = 6.0 if call == "grad-with-grad_outputs" else 2.0
    assert gradient is not None and gradient.tolist() == [expected] * 3


def test_calls_it_does_not_cover_run_as_before() -> None:
    x, unused = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    with Seen():
        y = (x * 2).sum()
        gradients = torch.autograd.grad(y, [x, unused], materialize_grads=True)
    assert gradients[0].tolist() == [2.0] * 3 and gradients[1].tolist() == [0.0, 0.0]
