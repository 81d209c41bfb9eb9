"""A Profile in the CLI's text format: the model/inputs header above the text report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .header import render_header
from .text import render_text

if TYPE_CHECKING:  # types only: tree pulls torch in at runtime
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = ["render_profile_text"]


def render_profile_text(profile: Profile, options: RenderOptions) -> str:
    body = render_text(profile, depth=options.depth, top=options.top, width=options.width)
    return render_header(profile, options.width) + body
