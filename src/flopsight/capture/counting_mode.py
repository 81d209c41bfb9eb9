"""The dispatch mode that prices every aten op and charges it to a (module, phase)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..costs import REGISTRY, OpCost
from ..costs.registry import Communication
from .module_stack import ModuleStack
from .records import CaptureResult, OpTotals, Phase

_current_graph_task_id = torch._C._current_graph_task_id
_current_autograd_node = torch._C._current_autograd_node
_peek_sequence_nr = torch._C._autograd._get_sequence_nr


class CountingMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Prices each op once and charges it to the innermost module.

    Forward ops go to the top of the module stack. Backward ops go to the module whose forward
    created the autograd node now running: with ``label_nodes`` on, every forward op labels the
    node it just created (sequence number = counter - 1) with the running module's path.
    Forward ops re-run inside backward (activation checkpointing) go to the stack as RECOMPUTE.
    """

    # Higher-order ops (flex_attention) come here whole; one with a formula is priced as one op,
    # one without runs with the mode popped and is reported as uncounted.
    supports_higher_order_operators = True

    def __init__(self, stack: ModuleStack, result: CaptureResult, *, label_nodes: bool) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._stack = stack
        self._result = result
        self._label_nodes = label_nodes
        self._node_paths: dict[int, str | None] = {}
        self._resolve = REGISTRY.resolve
        self._names: dict[Any, str] = {}  # str(OpOverload) costs 2 us; named once per op
        self._composite: dict[Any, frozenset[str]] = {}
        self._view_ops: set[Any] = set()  # composite view ops (chunk): their own kernel tracks views

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        composite = self._composite.get(func)
        if composite is None:
            composite = self._composite[func] = _composite_only_on(func)
            if composite and _has_view_kernel(func):
                self._view_ops.add(func)
        if composite and _backend(args) in composite and not _has_subclass(args, kwargs):
            # A composite op reaches the mode whole only where autograd did not split it first
            # (inference_mode): split it as the device would, so that every grad mode prices
            # the same ops. A tensor subclass (nested, DTensor) runs its own kernel for the op
            # instead, which the decomposition may not support: it is priced whole, below.
            # The C++ kernel autograd runs, not a Python decomposition (``func.decompose``
            # prefers those, and some take other paths: matmul).
            with self, _views_tracked(func not in self._view_ops):
                return func._op_dk(_COMPOSITE, *args, **kwargs)
        formula = self._resolve(func)
        out = func(*args, **kwargs)
        path, phase = self._where()
        if self._label_nodes and phase is not Phase.BACKWARD:
            self._node_paths.setdefault(_peek_sequence_nr() - 1, path)
        if path is None or path is ModuleStack.OUTSIDE:
            return out
        if isinstance(formula, bool):  # known free
            return out
        if formula is None:
            self._count(self._result.uncounted, func)
            return out
        if formula is Communication.COMMUNICATION:  # 0 FLOPs, but what it moved is reported apart
            self._count(self._result.communication, func)
            return out
        if "out" in kwargs:  # an out= overload: the op's result is that same tensor
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        cost = formula(*args, out=out, **kwargs)
        self._charge(path, phase, func, cost)
        if cost.upper_bound:
            self._count(self._result.bounded, func)
        return out

    def _where(self) -> tuple[str | None, Phase]:
        top = self._stack.top
        if _current_graph_task_id() == -1:
            return top, Phase.FORWARD
        if top is not ModuleStack.OUTSIDE:
            return top, Phase.RECOMPUTE
        node = _current_autograd_node()
        if node is None:
            return None, Phase.BACKWARD
        return self._node_paths.get(node._sequence_nr()), Phase.BACKWARD

    def _charge(self, path: str, phase: Phase, func: Any, cost: OpCost) -> None:
        per_op = self._result.charges.setdefault((path, phase), {})
        name = self._name(func)
        totals = per_op.get(name)
        if totals is None:
            totals = per_op[name] = OpTotals()
        totals.add(cost)

    def _count(self, calls: dict[str, int], func: Any) -> None:
        name = self._name(func)
        calls[name] = calls.get(name, 0) + 1

    def _name(self, func: Any) -> str:
        name = self._names.get(func)
        if name is None:
            name = self._names[func] = str(func)
        return name


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


def _has_view_kernel(func: Any) -> bool:
    try:
        return bool(torch._C._dispatch_has_kernel_for_dispatch_key(func.name(), "ADInplaceOrView"))
    except RuntimeError:
        return False


def _composite_only_on(func: Any) -> frozenset[str]:
    """The devices on which ``func`` runs as its CompositeImplicitAutograd decomposition: those
    without a kernel of their own for it (silu_backward has CPU and Meta kernels, linear none)."""
    if not isinstance(func, torch._ops.OpOverload):
        return frozenset()
    has = torch._C._dispatch_has_kernel_for_dispatch_key
    name = func.name()  # type: ignore[no-untyped-call]
    try:
        if not has(name, _COMPOSITE) or has(name, "CompositeExplicitAutograd"):
            return frozenset()
        return frozenset(device for device, key in _BACKEND_KEYS.items() if not has(name, key))
    except RuntimeError:  # ops outside the dispatcher's tables (aten.sym_size.int)
        return frozenset()


def _backend(args: tuple[Any, ...] | list[Any]) -> str | None:
    """The device type of the first tensor argument, also inside a list (einsum, cat)."""
    for value in args:
        if isinstance(value, torch.Tensor):
            return value.device.type
        if isinstance(value, (list, tuple)) and (inner := _backend(value)) is not None:
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


_PLAIN = (torch.Tensor, torch.nn.Parameter)
_COMPOSITE = torch._C.DispatchKey.CompositeImplicitAutograd
_AD_INPLACE_OR_VIEW = torch._C.DispatchKey.ADInplaceOrView
_is_excluded = torch._C._dispatch_tls_is_dispatch_key_excluded
_set_excluded = torch._C._dispatch_tls_set_dispatch_key_excluded
_BACKEND_KEYS = {"cpu": "CPU", "cuda": "CUDA", "meta": "Meta", "mps": "MPS", "xpu": "XPU", "hpu": "HPU"}
