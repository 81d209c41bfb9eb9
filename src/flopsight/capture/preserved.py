"""What an extra run of the user's model must leave as it found: buffers and random state, and
after a real optimizer step the weights, gradients and optimizer state.

A profiling or timing run is one the user did not ask their model to make, so whatever it
changes is put back when it ends, also when the forward raises: every module's buffers (the
tensor objects themselves, since a forward may reassign one, ``self.step = self.step + 1``, or
register a new one, and their values, such as batch-norm statistics updated in place), and the
random number generators a forward draws from (dropout advances torch's).
"""

from __future__ import annotations

import contextlib
import copy
import random
import sys
from typing import Any, Iterator, Sequence

import torch
from torch import nn


@contextlib.contextmanager
def preserved_state(model: nn.Module) -> Iterator[None]:
    """Run the body, then restore ``model``'s buffers and the global random state."""
    buffers = _snapshot_buffers(model)
    rng = _snapshot_rng()
    try:
        yield
    finally:
        _restore_buffers(buffers)
        _restore_rng(rng)


@contextlib.contextmanager
def training_state_restored(model: nn.Module, params: Sequence[torch.Tensor],
                            optimizer: torch.optim.Optimizer | None) -> Iterator[None]:
    """Run the body, then put back the ``.grad`` of ``params`` and, with an optimizer, the
    weights and the optimizer's state (moments created by the steps go too), also when it raises."""
    saved_grads = [p.grad for p in params]
    saved = _snapshot_training(model, optimizer) if optimizer is not None else None
    try:
        yield
    finally:
        with torch.no_grad():
            for p, grad in zip(params, saved_grads):
                p.grad = grad
        if saved is not None and optimizer is not None:
            _restore_training(model, optimizer, saved)


def _snapshot_training(model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Weights and optimizer state before real optimizer steps run."""
    with torch.no_grad():
        weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    return weights, copy.deepcopy(optimizer.state_dict())


def _restore_training(model: nn.Module, optimizer: torch.optim.Optimizer,
                      saved: tuple[dict[str, torch.Tensor], dict[str, Any]]) -> None:
    weights, state = saved
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in weights:
                p.copy_(weights[name])
    # load_state_dict replaces the whole state, so moments created by the steps go too.
    optimizer.load_state_dict(state)


_BufferSnapshot = list[tuple[nn.Module, dict[str, Any], list[tuple[torch.Tensor, torch.Tensor]]]]


def _snapshot_buffers(model: nn.Module) -> _BufferSnapshot:
    snapshot: _BufferSnapshot = []
    with torch.no_grad():
        for module in model.modules():
            entries = dict(module._buffers)
            # Values too: an in-place update (running_mean.mul_) keeps the same tensor object.
            values = [(b, b.clone()) for b in entries.values() if b is not None and b.device.type != "meta"]
            snapshot.append((module, entries, values))
    return snapshot


def _restore_buffers(snapshot: _BufferSnapshot) -> None:
    with torch.no_grad():
        for module, entries, values in snapshot:
            if not _same_objects(module._buffers, entries):  # reassigned or added during the run
                module._buffers.clear()
                module._buffers.update(entries)
            for buffer, copy in values:
                if buffer.shape == copy.shape:
                    buffer.copy_(copy)


def _same_objects(now: dict[str, Any], before: dict[str, Any]) -> bool:
    # By identity: == on tensors compares their values.
    return now.keys() == before.keys() and all(now[k] is before[k] for k in before)


def _snapshot_rng() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        state["cuda"] = torch.cuda.get_rng_state_all()
    numpy = sys.modules.get("numpy")  # only when the user's code already imported it
    if numpy is not None:
        state["numpy"] = numpy.random.get_state()
    return state


def _restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])
    if "numpy" in state:
        sys.modules["numpy"].random.set_state(state["numpy"])
