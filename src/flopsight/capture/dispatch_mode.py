"""The base of flopsight's dispatch modes: a TorchDispatchMode that Dynamo is not asked about.

Since torch 2.8 or so, ``TorchDispatchMode.__init_subclass__`` wraps every subclass's
``__torch_dispatch__`` in ``torch._disable_dynamo`` (when ``_should_skip_dynamo()`` says so),
so that ``torch.compile`` never traces into a mode's frames. That wrapper imports
``torch._dynamo`` on the first op (about 1.8 s of CPU) and adds two Python calls to every op.
flopsight's modes run eagerly and never under a compiled region's tracer (eager flex_attention
is told not to compile: ``capture.session.eager_flex_attention``), so they opt out. A torch
without the hook never asks, and the method is then unused.
"""

from __future__ import annotations

from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["EagerDispatchMode"]


class EagerDispatchMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """A TorchDispatchMode whose ``__torch_dispatch__`` is left unwrapped by Dynamo."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False
