"""One self-contained HTML document: the template with its style, script and data inlined, and
a Content-Security-Policy that lets the page make no request at all."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from functools import cache
from importlib import resources
from typing import Any

from .escape import script_json

__all__ = ["render_page"]

_SLOT = re.compile(r"\{\{(\w+)\}\}")


def render_page(view: dict[str, Any], *, template: str = "template.html", script_name: str = "report.js") -> str:
    """The page for ``view`` (``profile_view``; another page's view with its own ``template`` and
    ``script_name``, as the diff's): every byte it needs is in the file."""
    style, script = _asset("report.css"), _asset(script_name)
    # Inline code runs only if its hash is listed; everything else, any fetch included, is refused.
    csp = (f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    values = {"csp": csp, "title": html.escape(str(view["title"])), "style": style, "script": script,
              "data": script_json(view)}
    # One pass over the template, so a value is never searched for slots itself.
    return _SLOT.sub(lambda match: values[match.group(1)], _asset(template))


@cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
