"""Read one forward (and backward) profile saved with ``--format json``, with one-line errors. No torch."""

from __future__ import annotations

import json
import os

from ..errors import InputError
from .printable import Profile

__all__ = ["load_profile"]

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
    try:
        with open(name, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, give a profile saved with --format json") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{name}: not JSON ({exc}); give a profile saved with --format json") from None
    if not isinstance(data, dict):
        raise InputError(f"{name}: not a flopsight profile (a JSON {type(data).__name__}, not an object)")
    other = _OTHER_RUNS.get(str(data.get("mode")))
    if other is not None:
        raise InputError(f"{name}: {other}; give a profile saved from a forward run with --format json")
    try:
        return Profile.from_dict(data)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{name}: not a flopsight profile ({type(exc).__name__}: {exc}); "
                         "give a file written by flopsight with --format json") from None
