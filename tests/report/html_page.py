"""Reading an HTML report back in tests: its embedded figures and its policy."""

from __future__ import annotations

import json
import re
from typing import Any

_DATA = re.compile(r'<script type="application/json" id="flopsight-data">(.*?)</script>', re.S)
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


def embedded_view(page: str) -> dict[str, Any]:
    """The JSON the page draws from, parsed as a browser's JSON.parse would."""
    blocks = _DATA.findall(page)
    assert len(blocks) == 1, f"{len(blocks)} data blocks"
    view: dict[str, Any] = json.loads(blocks[0])
    return view


def content_security_policy(page: str) -> dict[str, str]:
    """{directive: its sources} of the page's CSP meta tag."""
    found = _CSP.findall(page)
    assert len(found) == 1, f"{len(found)} CSP meta tags"
    pairs = (part.strip().split(" ", 1) for part in found[0].split(";") if part.strip())
    return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
