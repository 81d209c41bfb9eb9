"""Per-module latency of one iteration, from global forward hooks and autograd hooks.

Forward: a global forward pre-hook takes a mark as a module of the model starts and the global
forward hook (``always_call=True``) one as it ends, so a forward that raises still pops.
Backward: as ``torch.utils.module_tracker`` does, a multi-grad hook on the module's outputs
marks the start of its backward (the gradients of its outputs are ready), and a multi-grad hook
on its inputs and parameters marks the end (every gradient it produces is computed). Hooks are
global and filter the model's modules by id, so per-module hooks never switch off fused fast
paths. Everything is installed by ``install()`` and removed by ``remove()``, which the caller
pairs in try/finally.

``root_only`` times the model as a whole and nothing inside it: its hooks sit on the root
module alone (unless the root is a module that checks its own hooks), and its backward ends
when the backward pass does, so the figures carry almost no hook overhead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.autograd import Variable
from torch.autograd.graph import register_multi_grad_hook
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils._pytree import tree_flatten
from torch.utils.hooks import RemovableHandle

from .clock import Clock


# Modules that leave their fused kernel when a hook is attached to them or a submodule.
_CHECKS_OWN_HOOKS = (nn.TransformerEncoderLayer,)


class ModuleTimer:
    """Marks taken in one iteration; ``collect()`` turns them into seconds per module."""

    def __init__(self, model: nn.Module, clock: Clock, *, backward: bool, root_only: bool = False) -> None:
        self.clock = clock
        self.backward = backward
        self.order: list[str] = []
        self._paths: dict[int, str] = {}
        self._params: dict[int, list[torch.Tensor]] = {}
        self._modules: list[nn.Module] = []  # keeps the ids above alive and unique
        # root_only: the model's own forward and backward, at the cost of one module's hooks.
        # Its backward ends with the backward pass: one callback queued at its start, instead
        # of a hook on every parameter's gradient, which costs time on a model of many.
        self._root_only = root_only
        for path, module in [("", model)] if root_only else model.named_modules():
            self._paths[id(module)] = path
            self._modules.append(module)
            self.order.append(path)
            if backward and not root_only:
                self._params[id(module)] = [p for p in module.parameters() if p.requires_grad]
        self._handles: list[RemovableHandle] = []
        self._grad_handles: list[Any] = []
        self._stack: list[tuple[str, Any]] = []
        self._inputs: list[list[torch.Tensor]] = []
        self.forward_marks: list[tuple[str, Any, Any]] = []
        self.backward_starts: dict[str, list[Any]] = {}
        self.backward_ends: dict[str, list[Any]] = {}

    def install(self) -> None:
        root = self._modules[0]
        if self._root_only and not isinstance(root, _CHECKS_OWN_HOOKS):
            # Hooks on the root alone: global hooks would slow every module call down.
            self._handles.append(root.register_forward_pre_hook(self._enter))
            self._handles.append(root.register_forward_hook(self._exit, always_call=True))
            return
        self._handles.append(register_module_forward_pre_hook(self._enter))
        self._handles.append(register_module_forward_hook(self._exit, always_call=True))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.reset()

    def reset(self) -> None:
        """Forget the marks of the last iteration and drop its autograd hooks."""
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles.clear()
        self._stack.clear()
        self._inputs.clear()
        self.forward_marks.clear()
        self.backward_starts.clear()
        self.backward_ends.clear()

    def collect(self) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
        """Forward seconds, forward calls and backward seconds per module path, this iteration.

        Call after ``clock.sync()``. Several calls of one module are summed.
        """
        clock = self.clock
        forward: dict[str, float] = {}
        calls: dict[str, int] = {}
        for path, start, end in self.forward_marks:
            forward[path] = forward.get(path, 0.0) + clock.elapsed(start, end)
            calls[path] = calls.get(path, 0) + 1
        backward: dict[str, float] = {}
        for path, starts in self.backward_starts.items():
            ends = self.backward_ends.get(path)
            if not ends:
                continue
            # One backward per iteration: from the first output gradient to the last produced.
            first = starts[0] if not clock.cuda else min(starts, key=lambda m: starts[0].elapsed_time(m))
            backward[path] = max(0.0, clock.elapsed(first, clock.latest(first, ends)))
        return forward, calls, backward

    def _enter(self, module: nn.Module, args: Any) -> None:
        path = self._paths.get(id(module))
        if path is None or _in_backward():  # recomputation under checkpointing is not a forward
            return
        if self.backward:
            flat, _ = tree_flatten(args)
            self._inputs.append([a for a in flat if isinstance(a, torch.Tensor) and a.requires_grad])
        self._stack.append((path, self.clock.mark()))

    def _exit(self, module: nn.Module, args: Any, output: Any) -> None:
        path = self._paths.get(id(module))
        if path is None or _in_backward() or not self._stack:
            return
        end = self.clock.mark()
        entered, start = self._stack.pop()
        self.forward_marks.append((entered, start, end))
        if not self.backward:
            return
        inputs = self._inputs.pop() if self._inputs else []
        flat, _ = tree_flatten(output)
        outputs = [t for t in flat if isinstance(t, torch.Tensor) and t.requires_grad]
        if not outputs:
            return
        if self._root_only:
            self._grad_handles.append(register_multi_grad_hook(outputs, self._start_until_pass_ends(entered)))
            return
        self._grad_handles.append(register_multi_grad_hook(outputs, self._marker(self.backward_starts, entered)))
        produced = inputs + self._params.get(id(module), [])
        if produced:
            self._grad_handles.append(register_multi_grad_hook(produced, self._marker(self.backward_ends, entered)))

    def _marker(self, marks: dict[str, list[Any]], path: str) -> Any:
        def hook(grads: Any) -> None:
            marks.setdefault(path, []).append(self.clock.mark())

        return hook

    def _start_until_pass_ends(self, path: str) -> Any:
        def end() -> None:
            self.backward_ends.setdefault(path, []).append(self.clock.mark())

        def start(grads: Any) -> None:
            self.backward_starts.setdefault(path, []).append(self.clock.mark())
            Variable._execution_engine.queue_callback(end)

        return start


def _in_backward() -> bool:
    return bool(torch._C._current_graph_task_id() != -1)
