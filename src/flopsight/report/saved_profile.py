"""Read one forward (and backward) profile saved with ``--format json``, with one-line errors. No torch."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import InputError
from .printable import Profile

__all__ = ["load_profile", "profile_from_dict", "read_json_object"]

# What a saved file other than one profile holds, by its "mode", and what to give instead.
_OTHER_RUNS = {
    "generate": "a generate run (prefill and decode steps), not one profile",
    "simulate": "a simulated plan (a rank's profile and the job), not one profile",
}


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """The Profile saved in ``path`` by ``flopsight profile|example --format json`` (or ``to_dict``).

    Raises:
        InputError: no such file, not JSON, not a flopsight profile, or a generate run or
            simulated plan (which hold several profiles).
    """
    name = os.fspath(path)
    data = read_json_object(name)
    other = _OTHER_RUNS.get(str(data.get("mode")))
    if other is not None:
        raise InputError(f"{name}: {other}; give a profile saved from a forward run with --format json")
    return profile_from_dict(name, data)


def read_json_object(path: str) -> dict[str, Any]:
    """The JSON object saved in ``path``; a missing file, a folder or anything else refused in one line."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, give a profile saved with --format json") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not JSON ({exc}); give a profile saved with --format json") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a flopsight profile (a JSON {type(data).__name__}, not an object)")
    return data


def profile_from_dict(path: str, data: dict[str, Any]) -> Profile:
    """``Profile.from_dict(data)``, its errors naming ``path``."""
    try:
        return Profile.from_dict(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: not a flopsight profile ({type(exc).__name__}: {exc}); "
                         "give a file written by flopsight with --format json") from None
