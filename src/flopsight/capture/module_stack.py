"""Which module is running: forward hooks keep a stack of module paths for one run."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.utils.hooks import RemovableHandle

IGNORED = None  # stack entry of a module whose ops are not charged


class ModuleStack:
    """Forward pre/post hooks that push and pop the path of each running module of one model.

    The hooks are global (``register_module_forward_pre_hook``), not per module, and ignore
    modules outside the model: per-module hooks would switch off fast paths that check for
    them (``nn.TransformerEncoderLayer``'s fused kernel) and so change what runs.

    ``top`` is the innermost running module's path ("" for the root), None while an ignored
    module runs, and ``OUTSIDE`` when no module of the model is running. The hooks are installed
    by ``install()`` and removed by ``remove()``; the caller pairs them in try/finally.
    """

    OUTSIDE = "\0outside"

    def __init__(self, model: nn.Module, ignore_types: tuple[type, ...] = ()) -> None:
        self._paths: dict[int, str] = {}
        self._ignored: set[int] = set()
        self._modules: list[nn.Module] = []  # keeps the ids above alive and unique for the run
        for path, module in model.named_modules():
            self._paths[id(module)] = path
            self._modules.append(module)
            if ignore_types and isinstance(module, ignore_types):
                self._ignored.add(id(module))
        self.stack: list[str | None] = []
        self.forward_calls: dict[str, int] = {}
        self._handles: list[RemovableHandle] = []

    @property
    def top(self) -> str | None:
        return self.stack[-1] if self.stack else self.OUTSIDE

    def install(self) -> None:
        self._handles.append(register_module_forward_pre_hook(self._enter))
        self._handles.append(register_module_forward_hook(self._exit, always_call=True))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.stack.clear()

    def _enter(self, module: nn.Module, args: Any) -> None:
        key = id(module)
        if key not in self._paths:
            return
        parent_ignored = bool(self.stack) and self.stack[-1] is IGNORED
        if key in self._ignored or parent_ignored:
            self.stack.append(IGNORED)
            return
        path = self._paths[key]
        self.stack.append(path)
        if torch._C._current_graph_task_id() == -1:  # recomputation in backward is not a call
            self.forward_calls[path] = self.forward_calls.get(path, 0) + 1

    def _exit(self, module: nn.Module, args: Any, output: Any) -> None:
        if id(module) in self._paths and self.stack:
            self.stack.pop()
