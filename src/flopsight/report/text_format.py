"""A Profile in the CLI's text format: the model/inputs header above the text report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .header import render_header
from .text import render_text
from .timing import render_timing

if TYPE_CHECKING:
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = ["render_profile_text"]


def render_profile_text(profile: Profile, options: RenderOptions) -> str:
    """The header, the text report, and for a timed profile its timing section (latency, FLOPS,
    MFU per module), so a saved timed profile renders as the run that measured it."""
    body = render_text(profile, depth=options.depth, top=options.top, width=options.width)
    text = render_header(profile, options.width) + body
    if profile.run_timing is not None:
        text += "\nTiming\n------\n" + render_timing(profile, achieved=profile.achieved(), depth=options.depth) + "\n"
    return text
