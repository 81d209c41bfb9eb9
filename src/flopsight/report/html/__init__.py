"""The HTML report: one self-contained file (inline script and style, the figures as JSON, no
request of any kind) with a zoomable treemap of the module tree, the sortable module table and
the text report's sections. Pure functions of a Profile; no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .page import render_page
from .sections import Section, text_section
from .view import profile_view

if TYPE_CHECKING:
    from ...tree import Profile
    from ..formats import RenderOptions

__all__ = ["render_html", "render_profile_html"]


def render_html(profile: Profile, *, top: int | None = None, sections: list[tuple[str, str]] | None = None,
                blocks: list[Section] | None = None) -> str:
    """The profile as one HTML document.

    Args:
        profile: a measured Profile or one read back with ``Profile.from_dict``.
        top: module types listed per depth in the aggregated view; None lists 3.
        sections: (title, text) sections shown before the report's own (a generate run's steps).
        blocks: structured sections (``html.sections``) shown before those (a plan's job).

    Returns:
        The page, which opens in any browser with no network: the treemap (sized by FLOPs,
        params, and latency, activations or predicted time when the profile has them), the
        module table, the run's facts, the uncounted ops and the text report's sections as tables
        (with the memory timeline drawn when the profile has memory).
    """
    extra = list(blocks or []) + [text_section(title, text) for title, text in sections or [] if text]
    return render_page(profile_view(profile, top=top, extra=extra))


def render_profile_html(profile: Profile, options: RenderOptions) -> str:
    return render_html(profile, top=options.top)
