"""Writing a file as ``open(path, "w")`` would, but atomically: never a half-written file.

Shared by the command line's ``-o`` and the calflops/DeepSpeed ``output_file`` (``write_report``,
which prints instead when there is no file); no torch.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically", "write_bytes_atomically", "write_report"]


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` as a plain write would, but through a temporary file in the
    target's folder and ``os.replace``.

    As ``open(path, "w")`` does, a symlink is followed (its target is written, the link stays)
    and a new file gets mode 0o666 less the umask; an existing file keeps its mode. Readers see
    the old file or the whole new one, never a part; on error the temporary file is removed and
    ``path`` is untouched.
    """
    write_bytes_atomically(path, text.encode("utf-8"))  # as open(path, "w", encoding="utf-8", newline="")


def write_bytes_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` as ``open(path, "wb")`` would, atomically as ``write_atomically``."""
    target = Path(os.path.realpath(path))
    mode = _mode_for(target)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0o600 whatever the umask
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_report(text: str, output_file: str | None = None) -> None:
    """Print ``text``, or write it to ``output_file``. Only the DeepSpeed- and calflops-shaped
    entry points print: their users expect the report on stdout."""
    if output_file is None:
        print(text, end="")
        return
    write_atomically(output_file, text)


def _mode_for(target: Path) -> int:
    """The permission bits ``open(target, "w")`` would leave: the existing file's, else 0o666
    less the umask (read by setting it back at once: ``os.umask`` only returns it by setting)."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
