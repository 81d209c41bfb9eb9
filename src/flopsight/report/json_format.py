"""A Profile as JSON: ``Profile.to_dict()``, which ``Profile.from_dict`` reads back.

Its metadata also says where the model came from and what the inputs were; a rank of a
distributed run also writes its rank, mesh, process groups and each module's collectives.
A whole job's JSON is ``render_job_json`` (``report/job.py``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tree import Profile
    from .formats import RenderOptions

__all__ = ["render_profile_json"]


def render_profile_json(profile: Profile, options: RenderOptions) -> str:
    return json.dumps(profile.to_dict(), indent=2) + "\n"
