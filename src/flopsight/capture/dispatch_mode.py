"""The bases of flopsight's dispatch modes: kept out of Dynamo, and one that runs inside another.

Since torch 2.8 or so, ``TorchDispatchMode.__init_subclass__`` wraps every subclass's
``__torch_dispatch__`` in ``torch._disable_dynamo`` (when ``_should_skip_dynamo()`` says so),
so that ``torch.compile`` never traces into a mode's frames. That wrapper imports
``torch._dynamo`` on the first op (about 1.8 s of CPU) and adds two Python calls to every op.
flopsight's modes run eagerly and never under a compiled region's tracer (eager flex_attention
is told not to compile: ``capture.session.eager_flex_attention``), so they opt out. A torch
without the hook never asks, and the method is then unused.
"""

from __future__ import annotations

from typing import Any, Callable

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["EagerDispatchMode", "Kernel", "KernelWrapperMode", "run_kernel"]


class EagerDispatchMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """A TorchDispatchMode whose ``__torch_dispatch__`` is left unwrapped by Dynamo."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


Kernel = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]


def run_kernel(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return func(*args, **kwargs)


class KernelWrapperMode(EagerDispatchMode):  # type: ignore[no-untyped-call]
    """A mode that changes how each op runs, never which ops the model issues.

    Alone, it is an ordinary dispatch mode. Pushed right outside a counting session, the
    session takes it off torch's stack for the run and calls ``run_op`` from inside the
    counting mode, with the counting mode's kernel (the meta output cache): one Python dispatch
    per op instead of two, and the cache sees what the wrapper hands to the kernel.
    """

    def run_op(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], kernel: Kernel) -> Any:
        raise NotImplementedError

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        return self.run_op(func, args, kwargs or {}, run_kernel)
