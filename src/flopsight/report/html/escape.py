"""JSON that is safe inside ``<script type="application/json">``: no character can end the block."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["script_json"]

# "<" and ">" stop "</script>" and "<!--"; "&" keeps the text free of entities; U+2028/2029 are
# line ends to older JavaScript parsers. Each becomes its \u escape, which JSON reads back as is.
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """``data`` as compact JSON with the characters that could close a script block escaped.

    Example: ``{"name": "</script>"}`` becomes ``{"name":"\\u003c/script\\u003e"}``.
    """
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return "".join(_ESCAPES.get(char, char) for char in text)
