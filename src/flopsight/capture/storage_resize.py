"""Tell the memory instrument when a storage is resized in place (FSDP2's free and re-alloc).

FSDP2 frees an unsharded parameter after its module's forward with
``untyped_storage().resize_(0)`` and allocates it again with ``resize_(n)`` before the
all-gather copies into it. A storage method, not an aten op: no dispatch mode sees it, and the
storage object lives on, so no weak reference fires either. The narrow way is the one PyTorch's
MemTracker takes (``_track_resize`` / ``_restore_resize``): wrap ``UntypedStorage.resize_`` while
the session is open, and put the original back when it closes, also when the run raises.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch

__all__ = ["storage_resizes_reported"]


@contextlib.contextmanager
def storage_resizes_reported(report: Callable[[torch.UntypedStorage], None]) -> Iterator[None]:
    """While the body runs, ``report(storage)`` after every ``UntypedStorage.resize_``."""
    original = torch.UntypedStorage.resize_

    def resize_(storage: torch.UntypedStorage, size: int) -> Any:
        result = original(storage, size)
        report(storage)
        return result

    torch.UntypedStorage.resize_ = resize_  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        torch.UntypedStorage.resize_ = original  # type: ignore[method-assign]
