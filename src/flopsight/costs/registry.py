"""The registry of per-op cost formulas: one decorator in, one lookup out.

A formula is called as ``formula(*op_args, out=op_output, **op_kwargs)`` with the real (or
meta) tensors the op saw, and returns an OpCost. It must not keep state or do I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Union

import torch

from ..errors import RegistrationError
from .base import OpCost

Formula = Callable[..., OpCost]


@dataclass(frozen=True)
class MissingOp:
    """An aten op this torch build does not have. Registering it does nothing: it cannot run."""

    name: str


class _AtenOps:
    """``torch.ops.aten`` for the formula files: an op missing from this torch version (older
    releases lack ``_safe_softmax``, ``_grouped_mm``...) comes back as a MissingOp instead of
    raising, so one set of formulas serves every supported torch."""

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(torch.ops.aten, name)
        except (AttributeError, RuntimeError):
            return MissingOp(name)


aten = _AtenOps()


def _present(ops: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(op for op in ops if not isinstance(op, MissingOp))


class Communication(Enum):
    """What ``resolve`` returns for an op that moves data between ranks (a collective or its wait):
    0 FLOPs, recorded by call count apart from the uncounted ops. An enum so that ``is`` narrows."""

    COMMUNICATION = "communication"


COMMUNICATION = Communication.COMMUNICATION
Resolved = Union[Formula, None, bool, Communication]


class CostRegistry:
    """Maps aten ops (packets, overloads or higher-order ops) to formulas, plus the free ops.

    Ops of namespaces that exist only once a library is imported (``fsdp`` is defined in Python
    by fully_shard, ``torch_attn`` by torch.nn.attention.varlen) are keyed by their packet's
    name, "namespace.op", and matched when they first run, so registering them neither
    imports nor needs their library.
    """

    def __init__(self) -> None:
        self._formulas: dict[Any, Formula] = {}
        self._free: set[Any] = set()
        self._communication: set[str] = set()
        # Resolved per OpOverload on first sight; the per-op hot path is one dict lookup.
        self._resolved: dict[Any, Resolved] = {}

    def register(self, ops: tuple[Any, ...], formula: Formula) -> None:
        ops = _present(ops)
        for op in ops:
            _check_op(op)
            if op in self._formulas or op in self._free:
                raise RegistrationError(
                    f"{op} already has a cost formula; call unregister_cost({op}) first to replace it"
                )
        for op in ops:
            self._formulas[op] = formula
        self._resolved.clear()

    def mark_free(self, ops: tuple[Any, ...]) -> None:
        ops = _present(ops)
        for op in ops:
            _check_op(op)
            if op in self._formulas or op in self._free:
                raise RegistrationError(f"{op} is already registered")
            self._free.add(op)
        self._resolved.clear()

    def mark_communication(self, entries: tuple[str, ...]) -> None:
        """Communication ops: whole namespaces (``c10d``) or single ops ("namespace.op")."""
        for entry in entries:
            if entry in self._communication:
                raise RegistrationError(f"{entry} is already registered")
        self._communication.update(entries)
        self._resolved.clear()

    def unregister(self, op: Any) -> None:
        if op not in self._formulas and op not in self._free:
            raise RegistrationError(f"{op} has no registered cost formula")
        self._formulas.pop(op, None)
        self._free.discard(op)
        self._resolved.clear()

    def resolve(self, func: Any) -> Resolved:
        """The formula for ``func``; True if it is free; COMMUNICATION if it moves data between
        ranks; None if nothing is known about it."""
        try:
            return self._resolved[func]
        except KeyError:
            pass
        entry = self._find(func)
        self._resolved[func] = entry
        return entry

    def _find(self, func: Any) -> Resolved:
        packet = getattr(func, "_overloadpacket", None)
        name = None if packet is None else str(packet)
        for key in (func, packet, name):
            if key is None:
                continue
            if key in self._formulas:
                return self._formulas[key]
            if key in self._free:
                return True
        if name is None:
            return None
        if name in self._communication or name.split(".", 1)[0] in self._communication:
            return COMMUNICATION
        return None

    def known_ops(self) -> list[str]:
        """Names of every op with a formula, sorted."""
        return sorted(str(op) for op in self._formulas)

    def free_ops(self) -> list[str]:
        return sorted(str(op) for op in self._free)

    def communication_ops(self) -> list[str]:
        """Namespaces and ops registered as communication, sorted."""
        return sorted(self._communication)


def _check_op(op: Any) -> None:
    if isinstance(op, str) and re.fullmatch(r"\w+\.\w+", op):
        return  # "namespace.op": an op of a library that may not be loaded yet
    if not isinstance(
        op, (torch._ops.OpOverloadPacket, torch._ops.OpOverload, torch._ops.HigherOrderOperator)
    ):
        raise RegistrationError(
            f"cannot register a cost for {op!r}: pass an op such as torch.ops.aten.mm, "
            "torch.ops.mylib.my_op.default or the name \"mylib.my_op\""
        )


REGISTRY = CostRegistry()


def register_cost(*ops: Any) -> Callable[[Formula], Formula]:
    """Register a cost formula for one or more ops.

    Args:
        *ops: ops such as ``torch.ops.aten.mm`` (all overloads), ``torch.ops.aten.add.Tensor``
            (one overload) or a custom op ``torch.ops.mylib.attn``; or the name "mylib.attn"
            (all overloads) of an op whose library may not be loaded yet.

    Returns:
        A decorator that registers the formula and returns it unchanged. The formula is called
        with the op's own arguments plus ``out=`` (the op's result) and returns an OpCost.

    Example:
        >>> import torch
        >>> from flopsight import OpCost, register_cost, unregister_cost
        >>> @register_cost(torch.ops.aten.cholesky)
        ... def cholesky_cost(a, upper=False, *, out):
        ...     n = a.shape[-1]
        ...     return OpCost(flops=n ** 3 // 3)
        >>> unregister_cost(torch.ops.aten.cholesky)
    """
    if not ops:
        raise RegistrationError("register_cost() needs at least one op")

    def decorate(formula: Formula) -> Formula:
        REGISTRY.register(ops, formula)
        return formula

    return decorate


def unregister_cost(op: Any) -> None:
    """Remove the formula (or free marking) of ``op``, as registered."""
    REGISTRY.unregister(op)


def mark_free(*ops: Any) -> None:
    """Declare ops that only view, copy, move or create data: they cost 0 FLOPs."""
    REGISTRY.mark_free(ops)
