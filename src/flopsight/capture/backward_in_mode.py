"""A backward asked of a torch function mode runs with that mode still on.

``torch.autograd.grad``, ``torch.autograd.backward`` and ``Tensor.backward`` are overridable:
with a function mode pushed, the call goes to the mode, which is popped while it handles the
call, so the whole backward would run without it, and with it the forward that activation
checkpointing recomputes there (a meta redirect applied in the forward but not in the
recompute makes ``torch.utils.checkpoint`` raise: the recomputed tensors differ). These calls
are run here as ``torch.autograd`` runs them (default gradients of ones from ``_make_grads``,
``retain_graph`` defaulting to ``create_graph``, then the engine) with the mode pushed back. The
cases this does not cover (batched gradients, ``materialize_grads``, dict inputs, gradient
edges, a torch without these helpers) run as before.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch
from torch.overrides import TorchFunctionMode, is_tensor_like

__all__ = ["BACKWARD_FUNCTIONS", "backward_in_mode"]

BACKWARD_FUNCTIONS = (torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward)

_make_grads = getattr(torch.autograd, "_make_grads", None)
_to_tuple = getattr(torch.autograd, "_tensor_or_tensors_to_tuple", None)
_engine_run_backward = getattr(torch.autograd.graph, "_engine_run_backward", None)
_SIGNATURES = {func: inspect.signature(func) for func in BACKWARD_FUNCTIONS}


def backward_in_mode(mode: TorchFunctionMode, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``func(*args, **kwargs)`` (one of ``BACKWARD_FUNCTIONS``) with ``mode`` pushed for the
    backward, where the call is a plain one; otherwise as the caller would have run it."""
    run = _engine_call(func, args, kwargs)
    if run is None:
        return func(*args, **kwargs)
    with mode:
        return run()


def _engine_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[], Any] | None:
    if _make_grads is None or _to_tuple is None or _engine_run_backward is None:
        return None
    try:
        bound = _SIGNATURES[func].bind(*args, **kwargs)
    except TypeError:
        return None  # let torch say what is wrong with the call
    bound.apply_defaults()
    a = bound.arguments
    if func is torch.autograd.grad:
        if a.get("is_grads_batched") or a.get("materialize_grads") or not a.get("only_inputs", True):
            return None
        outputs, inputs, given = _tensors(a["outputs"]), _tensors(a["inputs"]), a["grad_outputs"]
        allow_unused = bool(a["allow_unused"])
    else:
        if func is torch.Tensor.backward:
            outputs, given = _tensors(a["self"]), a["gradient"]
        elif a.get("grad_variables") is not None:
            return None
        else:
            outputs, given = _tensors(a["tensors"]), a["grad_tensors"]
        inputs = () if a["inputs"] is None else _tensors(a["inputs"])
    if outputs is None or inputs is None or (func is torch.autograd.grad and not inputs):
        return None
    create_graph = bool(a["create_graph"])
    retain_graph = create_graph if a["retain_graph"] is None else a["retain_graph"]
    gradients = _make_grads(outputs, _to_tuple(given, len(outputs)), is_grads_batched=False)
    if func is torch.autograd.grad:
        return lambda: _engine_run_backward(outputs, gradients, retain_graph, create_graph, inputs, allow_unused,
                                            accumulate_grad=False)
    return lambda: _engine_run_backward(outputs, gradients, retain_graph, create_graph, inputs,
                                        allow_unreachable=True, accumulate_grad=True)


def _tensors(value: Any) -> tuple[torch.Tensor, ...] | None:
    """A tensor or a sequence of tensors as a tuple; None for anything else (a dict, an edge)."""
    if _is_tensor(value):
        return (value,)
    if isinstance(value, (list, tuple)) and all(_is_tensor(item) for item in value):
        return tuple(value)
    return None


def _is_tensor(value: Any) -> bool:
    return bool(is_tensor_like(value))  # type: ignore[no-untyped-call]
