"""Ctrl-C at any moment of a run: one line, exit code 130, no output file.

Python's default SIGINT handler raises KeyboardInterrupt wherever the main thread is, and a
library may catch it (parts of ``import torch`` do) and carry on. The handler installed here
also records the interrupt, so ``checkpoint()`` still stops the run at the next safe point.

A KeyboardInterrupt raised inside Python code that C++ runs (pybind11's ``exec`` during
``import torch``) also marks the interpreter, which then ends by SIGINT (exit -2) whatever
``sys.exit`` says. So ``deferred()`` only records an interrupt during such an import, and
``exit_now`` ends an interrupted console run with 130 directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType, TracebackType
from typing import Any, Iterator


class Interrupts:
    """SIGINT handling for one CLI run, installed on enter and restored on exit."""

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None
        self._installed = False
        self._deferring = False

    def __enter__(self) -> Interrupts:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        except ValueError:  # not the main thread: signals go elsewhere, leave them alone
            pass
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        if not self._deferring:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Record an interrupt without raising it in the block; raise it after."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        self.checkpoint()

    def checkpoint(self) -> None:
        """Raise KeyboardInterrupt if an interrupt came in, even one that was swallowed."""
        if self.received:
            raise KeyboardInterrupt

    def ignore_more(self) -> None:
        """While the interruption is reported: a second Ctrl-C must not become a traceback."""
        if self._installed:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def exit_now(code: int) -> None:
    """End the process with ``code`` at once (streams flushed): after an interrupt the
    interpreter's own exit could turn any code into a death by SIGINT (see the module doc)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
