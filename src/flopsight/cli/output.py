"""Where the CLI's output goes: stdout or a file written atomically; progress on a terminal."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

from ..atomic_write import write_atomically
from ..errors import InputError

__all__ = ["Progress", "check_writable", "write_atomically"]


def check_writable(path: str, option: str = "-o") -> None:
    """Fail early, before any work, if ``path`` (given to ``option``) cannot be written (no such
    folder, a folder)."""
    target = Path(os.path.realpath(path))  # a symlink is written through, into its target's folder
    if target.is_dir():
        raise InputError(f"{option} {path}: is a folder, give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{option} {path}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {path}: folder {str(parent)!r} is not writable")


class Progress:
    """Status lines for long steps, on stderr when it is a terminal; silent when piped."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self._stream, "isatty", lambda: False)())
        self._start = time.perf_counter()
        self._shown = False

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self._start
        self._stream.write(f"\r\x1b[K{message} ({elapsed:.1f}s)")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self.enabled and self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False
