"""A Profile as JSON: ``Profile.to_dict()``, which ``Profile.from_dict`` reads back.

A figure that is not a finite number (NaN, infinity) is written as null (``json_text.py``):
Python would write a bare ``NaN``, which is not JSON.

Its metadata also says where the model came from and what the inputs were; a rank of a
distributed run also writes its rank, mesh, process groups and each module's collectives.
A whole job's JSON is ``render_job_json`` (``report/job.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .json_text import json_text

if TYPE_CHECKING:
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = ["render_profile_json"]


def render_profile_json(profile: Profile, options: RenderOptions) -> str:
    return json_text(profile.to_dict())
