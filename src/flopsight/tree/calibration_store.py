"""Where calibrations are kept: one JSON file, one calibration per (GPU name, dtype).

The file is, first found: the ``path`` argument; ``$FLOPSIGHT_CALIBRATION``;
``$XDG_CACHE_HOME/flopsight/calibration.json``; ``~/.cache/flopsight/calibration.json``.
A missing file holds no calibrations. Saving replaces the (GPU, dtype) entry and writes the
whole file atomically, so a reader never sees half of it. Pure: no torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..atomic_write import write_atomically
from ..errors import InputError
from .calibration import CALIBRATION_SCHEMA_VERSION, Calibration

__all__ = ["CALIBRATION_ENV", "calibration_path", "find_calibration", "load_calibrations", "save_calibration"]

CALIBRATION_ENV = "FLOPSIGHT_CALIBRATION"


def calibration_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The calibration file used: ``path``, else ``$FLOPSIGHT_CALIBRATION``, else the user cache's."""
    if path is not None and str(path):
        return Path(path)
    chosen = os.environ.get(CALIBRATION_ENV)
    if chosen:
        return Path(chosen)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "flopsight" / "calibration.json"


def load_calibrations(path: str | os.PathLike[str] | None = None) -> list[Calibration]:
    """Every calibration in the file; [] when there is no file.

    Raises:
        InputError: the file is not a calibration file flopsight wrote.
    """
    where = calibration_path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"cannot read the calibration file {where}: {exc.strerror}; "
                         f"fix its permissions or set {CALIBRATION_ENV} to another file") from None
    try:
        data = json.loads(text)
        if data.get("schema_version") != CALIBRATION_SCHEMA_VERSION:
            raise ValueError(f"schema version {data.get('schema_version')!r}, expected {CALIBRATION_SCHEMA_VERSION}")
        return [Calibration.from_dict(entry) for entry in data["calibrations"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{where} is not a flopsight calibration file ({exc}); delete it, or set "
                         f"{CALIBRATION_ENV} to another file") from None


def find_calibration(gpu: str, dtype: str, path: str | os.PathLike[str] | None = None) -> Calibration | None:
    """The stored calibration for ``gpu`` (the GPU table's name) and ``dtype`` (a peak key), if any."""
    return next((c for c in load_calibrations(path) if (c.gpu, c.dtype) == (gpu, dtype)), None)


def save_calibration(calibration: Calibration, path: str | os.PathLike[str] | None = None) -> Path:
    """Store ``calibration``, replacing the one for its GPU and dtype; returns the file written.

    Example:
        >>> save_calibration(flopsight.calibrate(timed_profile, "h200-sxm").calibration)  # doctest: +SKIP
        PosixPath('/home/me/.cache/flopsight/calibration.json')
    """
    where = calibration_path(path)
    kept = [c for c in load_calibrations(where) if (c.gpu, c.dtype) != (calibration.gpu, calibration.dtype)]
    entries: list[dict[str, Any]] = [c.to_dict() for c in [*kept, calibration]]
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(str(where), json.dumps({"schema_version": CALIBRATION_SCHEMA_VERSION,
                                                 "calibrations": entries}, indent=2) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write the calibration file {where}: {exc.strerror}; "
                         f"set {CALIBRATION_ENV} to a writable file") from None
    return where
