"""JSON text that every reader accepts.

Python's ``json`` writes a non-finite float as the bare token ``NaN``, ``Infinity`` or
``-Infinity``, which JSON does not have: ``jq``, browsers and strict parsers refuse the whole
file. flopsight's JSON reports write such a value (a latency no clock measured, a ratio over
zero) as ``null`` instead, the figure's "not known".
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["json_text", "without_non_finite"]


def without_non_finite(data: Any) -> Any:
    """``data`` with every NaN or infinite float, at any depth of dicts, lists and tuples, as None.

    Example:
        >>> without_non_finite({"median": float("nan"), "samples": [1.0, float("inf")]})
        {'median': None, 'samples': [1.0, None]}
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: without_non_finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [without_non_finite(value) for value in data]
    return data


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON text and a final newline; non-finite floats are written as null."""
    return json.dumps(without_non_finite(data), indent=indent, allow_nan=False) + "\n"
