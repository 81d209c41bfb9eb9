"""The Profile that ``print()`` shows as the text report.

The tree's ``Profile`` is plain data and knows nothing of reports, so imports point one way;
this subclass adds ``__str__``, ``to_html`` and ``to_chrome_trace``. ``flopsight.Profile`` is this class, and every Profile the
library returns (``flopsight.profile``, ``FlopsProfiler``, ``track``, ``Profile.from_dict``
called on it) is one.
"""

from __future__ import annotations

from typing import Any

from ..atomic_write import write_atomically
from ..tree.profile import Profile as ProfileData
from .chrome_trace import chrome_trace
from .html import render_html
from .text import render_text

__all__ = ["Profile"]


class Profile(ProfileData):
    __slots__ = ()

    def __str__(self) -> str:
        return render_text(self)

    def to_html(self, path: str | None = None, *, top: int | None = None) -> str:
        """The HTML report (``flopsight ... --format html``): one file that opens offline.

        Args:
            path: also write the page there, atomically (never a half-written file).
            top: module types listed per depth in the aggregated view; None lists 3.

        Returns:
            The page.

        Example:
            >>> p = flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))
            >>> p.to_html("linear.html").startswith("<!DOCTYPE html>")
            True
        """
        page = render_html(self, top=top)
        if path is not None:
            write_atomically(path, page)
        return page

    def to_chrome_trace(self) -> dict[str, Any]:
        """The timing as a Chrome / Perfetto trace (``flopsight.report.chrome_trace``): each timed
        module a slice nested in its parent's, forward and backward on two tracks, laid out from
        the per-module medians (the roofline's predicted seconds when untimed). ``json.dump`` it
        and open it in ui.perfetto.dev.

        Raises:
            InputError: the profile carries neither timing nor a roofline.
        """
        return chrome_trace(self)
