"""Where the CLI's output goes: stdout or a file written atomically; progress on a terminal."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from ..errors import InputError


def check_writable(path: str) -> None:
    """Fail early, before any work, if ``path`` cannot be written (no such folder, a folder)."""
    target = Path(os.path.realpath(path))  # a symlink is written through, into its target's folder
    if target.is_dir():
        raise InputError(f"-o {path}: is a folder, give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"-o {path}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"-o {path}: folder {str(parent)!r} is not writable")


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` as a plain write would, but through a temporary file in the
    target's folder and ``os.replace``.

    As ``open(path, "w")`` does, a symlink is followed (its target is written, the link stays)
    and a new file gets mode 0o666 less the umask; an existing file keeps its mode. Readers see
    the old file or the whole new one, never a part; on error the temporary file is removed and
    ``path`` is untouched.
    """
    target = Path(os.path.realpath(path))
    mode = _mode_for(target)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0o600 whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _mode_for(target: Path) -> int:
    """The permission bits ``open(target, "w")`` would leave: the existing file's, else 0o666
    less the umask (read by setting it back at once: ``os.umask`` only returns it by setting)."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


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
