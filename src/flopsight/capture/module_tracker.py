"""The one module tracker of a run: which module of the model is running, told to every instrument.

The hooks are global (``register_module_forward_pre_hook``), not per module, and ignore modules
outside the model: per-module hooks would switch off fast paths that check for them
(``nn.TransformerEncoderLayer``'s fused kernel) and so change what runs. The forward hook is
``always_call``, so a forward that raises still leaves its scope.

Instruments listen (``subscribe``) instead of installing hooks of their own:

- the counting mode reads ``top``, the innermost running module's path, at every op;
- a listener hears ``module_entered`` / ``module_left`` for every call of a module of the model,
  with ``recompute`` true for forwards re-run inside backward by activation checkpointing;
- a listener with ``wants_backward`` also hears ``backward_entered`` (the gradients of the
  module's outputs are ready) and ``backward_left`` (every gradient it produces, for its inputs
  and parameters, is computed), from multi-grad hooks registered as each forward returns, as
  ``torch.utils.module_tracker`` does.

Everything is installed by ``install()`` and removed by ``remove()``; the caller pairs them in
try/finally.
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

__all__ = ["IGNORED", "ModuleListener", "ModuleTracker"]

IGNORED = None  # stack entry of a module whose ops are not charged

# Modules that leave their fused kernel when a hook is attached to them or a submodule.
_CHECKS_OWN_HOOKS = (nn.TransformerEncoderLayer,)

_current_graph_task_id = torch._C._current_graph_task_id


class ModuleListener:
    """What an instrument hears from the tracker; it overrides the events it needs.

    ``path`` is the module's ``named_modules()`` path ("" for the root). ``kwargs`` is empty
    when torch calls the hook of a forward that raised (it passes none then).
    """

    wants_backward = False  # ask the tracker for backward scopes

    def module_entered(self, path: str, module: nn.Module, args: tuple[Any, ...], recompute: bool) -> None:
        pass

    def module_left(self, path: str, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                    output: Any, recompute: bool) -> None:
        pass

    def backward_entered(self, path: str) -> None:
        pass

    def backward_left(self, path: str) -> None:
        pass


class ModuleTracker:
    """The module stack of one model for one run, and the listeners it tells.

    ``top`` is the innermost running module's path, None while an ignored module (one of
    ``ignore_types``, or inside one) runs, and ``OUTSIDE`` when no module of the model is
    running. ``forward_calls`` counts each module's forward calls, recomputation excluded.

    ``root_only`` tracks the model as a whole and nothing inside it, at the cost of one module's
    hooks: they sit on the root module alone (unless the root is a module that checks its own
    hooks), and its backward leaves when the backward pass ends.
    """

    OUTSIDE = "\0outside"

    def __init__(self, model: nn.Module, *, ignore_types: tuple[type, ...] = (), root_only: bool = False) -> None:
        self.model = model
        self.root_only = root_only
        self.stack: list[str | None] = []
        self.forward_calls: dict[str, int] = {}
        self._paths: dict[int, str] = {}
        self._ignored: set[int] = set()
        self._modules: list[nn.Module] = []  # keeps the ids above alive and unique for the run
        for path, module in [("", model)] if root_only else model.named_modules():
            self._paths[id(module)] = path
            self._modules.append(module)
            if ignore_types and isinstance(module, ignore_types):
                self._ignored.add(id(module))
        self._listeners: list[ModuleListener] = []
        self._backward_listeners: list[ModuleListener] = []
        self._handles: list[RemovableHandle] = []
        self._grad_handles: list[Any] = []
        self._inputs: list[list[torch.Tensor]] = []  # per forward scope, while backward is tracked
        self._params: dict[int, list[torch.Tensor]] = {}

    @property
    def paths(self) -> list[str]:
        """The tracked modules' paths, parents before children."""
        return list(self._paths.values())

    @property
    def top(self) -> str | None:
        return self.stack[-1] if self.stack else self.OUTSIDE

    def subscribe(self, listener: ModuleListener) -> None:
        """Tell ``listener`` of every module scope from now on."""
        self._listeners.append(listener)
        if listener.wants_backward:
            self._backward_listeners.append(listener)
            if not self.root_only and not self._params:
                self._params = {id(m): [p for p in m.parameters() if p.requires_grad] for m in self._modules}

    def install(self) -> None:
        root = self._modules[0]
        if self.root_only and not isinstance(root, _CHECKS_OWN_HOOKS):
            # Hooks on the root alone: global hooks would slow every module call down.
            self._handles.append(root.register_forward_pre_hook(self._enter))
            self._handles.append(root.register_forward_hook(self._exit, with_kwargs=True, always_call=True))
            return
        self._handles.append(register_module_forward_pre_hook(self._enter))
        self._handles.append(register_module_forward_hook(self._exit, with_kwargs=True, always_call=True))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.stack.clear()
        self.drop_backward_hooks()

    def drop_backward_hooks(self) -> None:
        """Remove the autograd hooks of the forwards so far (one iteration's)."""
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles.clear()
        self._inputs.clear()

    def _enter(self, module: nn.Module, args: Any) -> None:
        key = id(module)
        path = self._paths.get(key)
        if path is None:
            return
        recompute = _current_graph_task_id() != -1
        if key in self._ignored or (self.stack and self.stack[-1] is IGNORED):
            self.stack.append(IGNORED)
        else:
            self.stack.append(path)
            if not recompute:
                self.forward_calls[path] = self.forward_calls.get(path, 0) + 1
        if self._backward_listeners and not recompute:
            flat, _ = tree_flatten(args)
            self._inputs.append([a for a in flat if isinstance(a, torch.Tensor) and a.requires_grad])
        for listener in self._listeners:
            listener.module_entered(path, module, args, recompute)

    def _exit(self, module: nn.Module, args: Any, *kwargs_and_output: Any) -> None:
        # (kwargs, output); torch passes (output) alone to a global hook of a forward that raised.
        path = self._paths.get(id(module))
        if path is None or not self.stack:
            return
        self.stack.pop()
        kwargs, output = kwargs_and_output if len(kwargs_and_output) == 2 else ({}, kwargs_and_output[-1])
        recompute = _current_graph_task_id() != -1
        for listener in self._listeners:
            listener.module_left(path, module, args, kwargs or {}, output, recompute)
        if self._backward_listeners and not recompute:
            self._watch_backward(path, module, output)

    def _watch_backward(self, path: str, module: nn.Module, output: Any) -> None:
        inputs = self._inputs.pop() if self._inputs else []
        flat, _ = tree_flatten(output)
        outputs = [t for t in flat if isinstance(t, torch.Tensor) and t.requires_grad]
        if not outputs:
            return
        if self.root_only:
            self._grad_handles.append(register_multi_grad_hook(outputs, self._enter_until_pass_ends(path)))
            return
        self._grad_handles.append(register_multi_grad_hook(outputs, self._backward_event(path, entered=True)))
        produced = inputs + self._params.get(id(module), [])
        if produced:
            self._grad_handles.append(register_multi_grad_hook(produced, self._backward_event(path, entered=False)))

    def _backward_event(self, path: str, *, entered: bool) -> Any:
        listeners = self._backward_listeners

        def hook(grads: Any) -> None:
            for listener in listeners:
                if entered:
                    listener.backward_entered(path)
                else:
                    listener.backward_left(path)

        return hook

    def _enter_until_pass_ends(self, path: str) -> Any:
        """Backward of the root-only model: entered with its output gradients, left with the
        pass (one callback queued at its start, instead of a hook on every parameter)."""
        listeners = self._backward_listeners

        def left() -> None:
            for listener in listeners:
                listener.backward_left(path)

        def entered(grads: Any) -> None:
            for listener in listeners:
                listener.backward_entered(path)
            Variable._execution_engine.queue_callback(left)

        return entered
