"""Splitting a composite op that reaches the counting mode whole, as the device would run it.

A CompositeImplicitAutograd op (``linear``, ``layer_norm``, ``scaled_dot_product_attention``)
is split by autograd before any dispatch mode sees it, in grad mode and under ``no_grad``. Under
``inference_mode`` autograd steps aside and the op reaches the mode whole; the device would then
run the same C++ decomposition, so the mode runs it too, under itself, and every grad mode prices
the same ops. A tensor subclass (nested tensors, DTensor) runs its own kernel for such an op,
which the decomposition may not support: those calls are priced whole, by a formula.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import torch

_COMPOSITE = torch._C.DispatchKey.CompositeImplicitAutograd
_AD_INPLACE_OR_VIEW = torch._C.DispatchKey.ADInplaceOrView
_BACKEND_KEYS = {"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "mps": "MPS", "xpu": "XPU", "hpu": "HPU"}
_PLAIN = (torch.Tensor, torch.nn.Parameter)
_has_kernel = torch._C._dispatch_has_kernel_for_dispatch_key
_is_excluded = torch._C._dispatch_tls_is_dispatch_key_excluded
_set_excluded = torch._C._dispatch_tls_set_dispatch_key_excluded


@dataclass(frozen=True, slots=True)
class CompositeSplit:
    """How one op splits: on which devices it runs as its decomposition (those without a kernel
    of their own: silu_backward has CPU and Meta kernels, linear none), and whether it is a view
    op with an ADInplaceOrView kernel of its own (chunk)."""

    devices: frozenset[str]
    is_view: bool

    def applies(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        return bool(self.devices) and _device_type(args) in self.devices and not _has_subclass(args, kwargs)

    def run(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The op's C++ decomposition, the one autograd runs (``func.decompose`` prefers Python
        decompositions, some of which take other paths: matmul). Call under the mode."""
        with _views_tracked(not self.is_view):
            return func._op_dk(_COMPOSITE, *args, **kwargs)


NOT_COMPOSITE = CompositeSplit(frozenset(), False)


def composite_split(func: Any) -> CompositeSplit:
    """What the dispatcher's tables say about ``func``; asked once per op."""
    if not isinstance(func, torch._ops.OpOverload):
        return NOT_COMPOSITE
    name = func.name()  # type: ignore[no-untyped-call]
    try:
        if not _has_kernel(name, _COMPOSITE) or _has_kernel(name, "CompositeExplicitAutograd"):
            return NOT_COMPOSITE
        devices = frozenset(device for device, key in _BACKEND_KEYS.items() if not _has_kernel(name, key))
        return CompositeSplit(devices, bool(_has_kernel(name, "ADInplaceOrView")))
    except RuntimeError:  # ops outside the dispatcher's tables (aten.sym_size.int)
        return NOT_COMPOSITE


@contextlib.contextmanager
def _views_tracked(track: bool) -> Iterator[None]:
    """Let the ops a composite kernel calls pass ADInplaceOrView again, as they do without a mode.

    The Python key calls ``__torch_dispatch__`` with every key above it excluded, ADInplaceOrView
    too, which inference_mode leaves on for normal tensors. Without it a view of a parameter
    (``weight.t()`` in ``linear``) loses its ``requires_grad``, and ATen's matmul, which folds a
    3-d input onto ``mm`` when the 2-d operand requires grad (``should_fold``), runs ``bmm`` on a
    non-contiguous input instead of the ``mm`` torch runs without a mode. Not for a composite op
    that is a view itself (``chunk``): its own ADInplaceOrView kernel, above the Python key, makes
    its outputs views, and views made again inside would be made twice.
    """
    if not track:
        yield
        return
    excluded = _is_excluded(_AD_INPLACE_OR_VIEW)
    _set_excluded(_AD_INPLACE_OR_VIEW, False)
    try:
        yield
    finally:
        _set_excluded(_AD_INPLACE_OR_VIEW, excluded)


def _device_type(args: tuple[Any, ...] | list[Any]) -> str | None:
    """The device type of the first tensor argument, also inside a list (einsum, cat)."""
    for value in args:
        if isinstance(value, torch.Tensor):
            return value.device.type
        if isinstance(value, (list, tuple)) and (inner := _device_type(value)) is not None:
            return inner
    return None


def _has_subclass(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A tensor subclass, or a nested tensor (strided nested tensors are plain Tensors in C++)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor) and (type(value) not in _PLAIN or value.is_nested):
            return True
        if isinstance(value, (list, tuple)) and _has_subclass(tuple(value), {}):
            return True
    return False
