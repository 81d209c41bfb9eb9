"""The dispatch mode that prices every aten op and charges it to a (module, phase)."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..costs import REGISTRY
from ..costs.registry import Communication
from ..records import CaptureResult, OpCost, OpTotals, Phase
from .composite_split import CompositeSplit, composite_split
from .memory import MemoryRecorder
from .module_tracker import ModuleTracker

_current_graph_task_id = torch._C._current_graph_task_id
_current_autograd_node = torch._C._current_autograd_node
_peek_sequence_nr = torch._C._autograd._get_sequence_nr


class CountingMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Prices each op once and charges it to the innermost module.

    Forward ops go to the innermost running module (the tracker's ``top``). Backward ops go to
    the module whose forward created the autograd node now running: with ``label_nodes`` on,
    every forward op labels the node it just created (sequence number = counter - 1) with the
    running module's path. Forward ops re-run inside backward (activation checkpointing) go to
    the tracker's ``top`` as RECOMPUTE.
    """

    # Higher-order ops (flex_attention) come here whole; one with a formula is priced as one op,
    # one without runs with the mode popped and is reported as uncounted.
    supports_higher_order_operators = True

    def __init__(self, tracker: ModuleTracker, result: CaptureResult, *, label_nodes: bool,
                 memory: MemoryRecorder | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._tracker = tracker
        self._memory = memory
        self._result = result
        self._label_nodes = label_nodes
        self._node_paths: dict[int, str | None] = {}
        self._resolve = REGISTRY.resolve
        self._names: dict[Any, str] = {}  # str(OpOverload) costs 2 us; named once per op
        self._splits: dict[Any, CompositeSplit] = {}  # asked of the dispatcher once per op

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        split = self._splits.get(func)
        if split is None:
            split = self._splits[func] = composite_split(func)
        if split.devices and split.applies(args, kwargs):
            with self:  # the parts run under the mode, each priced by its own formula
                return split.run(func, args, kwargs)
        formula = self._resolve(func)
        out = func(*args, **kwargs)
        path, phase = self._where()
        if self._memory is not None:  # every op's outputs, priced or not, inside the model or not
            self._memory.op_ran(out, None if path is ModuleTracker.OUTSIDE else path, phase)
        if self._label_nodes and phase is not Phase.BACKWARD:
            self._node_paths.setdefault(_peek_sequence_nr() - 1, path)
        if path is None or path is ModuleTracker.OUTSIDE:
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
        top = self._tracker.top
        if _current_graph_task_id() == -1:
            return top, Phase.FORWARD
        if top is not ModuleTracker.OUTSIDE:
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
