"""The Profile that ``print()`` shows as the text report.

The tree's ``Profile`` is plain data and knows nothing of reports, so imports point one way;
this subclass adds ``__str__``. ``flopsight.Profile`` is this class, and every Profile the
library returns (``flopsight.profile``, ``FlopsProfiler``, ``track``, ``Profile.from_dict``
called on it) is one.
"""

from __future__ import annotations

from ..tree.profile import Profile as ProfileData
from .text import render_text

__all__ = ["Profile"]


class Profile(ProfileData):
    __slots__ = ()

    def __str__(self) -> str:
        return render_text(self)
