"""The dispatch mode that prices every aten op and charges it to a (module, phase)."""

from __future__ import annotations

import sys
from typing import Any

import torch

from ..costs import REGISTRY
from ..costs.registry import Communication
from ..records import CaptureResult, OpCost, OpTotals, Phase
from .collectives import CollectiveRecorder
from .composite_split import CompositeSplit, composite_split
from .dispatch_mode import EagerDispatchMode, Kernel, KernelWrapperMode, run_kernel
from .fusion import FusionRecorder
from .memory import MemoryRecorder
from .meta_cache import MetaOutputCache
from .module_tracker import ModuleTracker

_current_graph_task_id = torch._C._current_graph_task_id
_current_autograd_node = torch._C._current_autograd_node
_peek_sequence_nr = torch._C._autograd._get_sequence_nr
_active_fake_mode = torch._C._get_dispatch_mode
_FAKE = torch._C._TorchDispatchModeKey.FAKE


class CountingMode(EagerDispatchMode):
    """Prices each op once and charges it to the innermost module.

    Forward ops go to the innermost running module (the tracker's ``top``). Backward ops go to
    the module whose forward created the autograd node now running: with ``label_nodes`` on,
    every forward op labels the node it just created (sequence number = counter - 1) with the
    running module's path. Forward ops re-run inside backward (activation checkpointing) go to
    the tracker's ``top`` as RECOMPUTE.

    DTensor ops are handed back to DTensor (``NotImplemented``, as MemTracker does): DTensor
    redistributes, runs the op on its local shards and those local ops come back here, so a
    rank is charged its own computation, never the global logical shape. The ops DTensor runs
    on fake tensors to propagate shardings (``_propagate_tensor_meta``, under a fake mode it
    enters for that) are not the run's and are not counted. Collectives go to ``collectives``.
    """

    # Higher-order ops (flex_attention) come here whole; one with a formula is priced as one op,
    # one without runs with the mode popped and is reported as uncounted.
    supports_higher_order_operators = True

    def __init__(self, tracker: ModuleTracker, result: CaptureResult, *, label_nodes: bool,
                 memory: MemoryRecorder | None = None, meta_cache: bool = True) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._tracker = tracker
        self._memory = memory
        self._result = result
        self._label_nodes = label_nodes
        self._node_paths: dict[int, str | None] = {}
        self._resolve = REGISTRY.resolve
        self._names: dict[Any, str] = {}  # str(OpOverload) costs 2 us; named once per op
        self._splits: dict[Any, CompositeSplit] = {}  # asked of the dispatcher once per op
        self.collectives = CollectiveRecorder(result.collectives, result.process_groups)
        self.fusion = FusionRecorder()
        self._defers: dict[Any, bool] = {}  # per tuple of subclass types: is a DTensor among them
        self._dtensor_seen = False
        self._fake_mode: Any = None  # the fake mode the run itself is under, and how deep
        self._fake_depth = 0
        # On meta, repeated ops (every layer's) make their outputs from cached metadata.
        self.meta_cache = MetaOutputCache() if meta_cache else None
        self._kernel: Kernel = self.meta_cache.run if self.meta_cache is not None else run_kernel
        self._run: Kernel = self._kernel

    def use_meta_cache(self, on: bool) -> None:
        """Run ops through the meta output cache, or straight to their kernel: off the meta
        device every op would bypass it, after checks that cost a few microseconds an op."""
        self._kernel = self.meta_cache.run if on and self.meta_cache is not None else run_kernel
        self._run = self._kernel

    def run_ops_through(self, wrapper: KernelWrapperMode | None) -> None:
        """Run each op through ``wrapper.run_op`` (with this mode's kernel), or, None, directly."""
        kernel = self._kernel
        self._run = kernel if wrapper is None else lambda func, args, kwargs: wrapper.run_op(func, args, kwargs, kernel)

    def note_fake_mode(self) -> None:
        """Remember the fake mode (if any) the run is under, so that ops under another fake
        mode, or under the same one entered again, are known for DTensor's propagation."""
        self._fake_mode = _active_fake_mode(_FAKE)
        self._fake_depth = len(getattr(self._fake_mode, "enter_stack", ()))

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if types:
            defer = self._defers.get(types)
            if defer is None:
                defer = self._defers[types] = _has_dtensor(types)
            if defer:
                self._dtensor_seen = True
                return NotImplemented
        if self._dtensor_seen and self._propagating_shardings():
            return self._run(func, args, kwargs)
        split = self._splits.get(func)
        if split is None:
            split = self._splits[func] = composite_split(func)
        if split.devices and split.applies(args, kwargs):
            with self:  # the parts run under the mode, each priced by its own formula
                return split.run(func, args, kwargs)
        formula = self._resolve(func)
        out = self._run(func, args, kwargs)
        path, phase = self._where()
        if self._memory is not None:  # every op's outputs, priced or not, inside the model or not
            self._memory.op_ran(out, None if path is ModuleTracker.OUTSIDE else path, phase)
        if self._label_nodes and phase is not Phase.BACKWARD:
            self._node_paths.setdefault(_peek_sequence_nr() - 1, path)
        if formula is Communication.COMMUNICATION:  # 0 FLOPs, but what it moved is reported apart
            self._count(self._result.communication, func)
            # A collective no module issued (DDP's bucket all-reduce from a gradient hook, FSDP2's
            # final reduce-scatter, a pipeline schedule's sends between stages) is the root's.
            issuer = "" if path is None or path is ModuleTracker.OUTSIDE else path
            self.collectives.record(func, args, kwargs, out, issuer, phase)
            self.fusion.op_ran(func, args, out)
            return out
        if path is None or path is ModuleTracker.OUTSIDE:
            self.fusion.op_ran(func, args, out)  # not the model's: what it reads is materialized
            return out
        if formula is None or isinstance(formula, bool):  # not priced: uncounted, or known free
            self.fusion.op_ran(func, args, out, phase)
            if formula is None:
                self._count(self._result.uncounted, func)
            return out
        if "out" in kwargs:  # an out= overload: the op's result is that same tensor
            kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        cost = formula(*args, out=out, **kwargs)
        totals = self._charge(path, phase, func, cost)
        self.fusion.op_ran(func, args, out, phase, totals, cost)
        if cost.upper_bound:
            self._count(self._result.bounded, func)
        return out

    def _propagating_shardings(self) -> bool:
        fake = _active_fake_mode(_FAKE)
        if fake is None:
            return False
        return fake is not self._fake_mode or len(fake.enter_stack) > self._fake_depth

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

    def _charge(self, path: str, phase: Phase, func: Any, cost: OpCost) -> OpTotals:
        per_op = self._result.charges.setdefault((path, phase), {})
        name = self._name(func)
        totals = per_op.get(name)
        if totals is None:
            totals = per_op[name] = OpTotals()
        totals.add(cost)
        return totals

    def _count(self, calls: dict[str, int], func: Any) -> None:
        name = self._name(func)
        calls[name] = calls.get(name, 0) + 1

    def _name(self, func: Any) -> str:
        name = self._names.get(func)
        if name is None:
            name = self._names[func] = str(func)
        return name


def _has_dtensor(types: Any) -> bool:
    tensor_module = sys.modules.get("torch.distributed.tensor")  # none made unless it is imported
    return tensor_module is not None and any(issubclass(t, tensor_module.DTensor) for t in types)
