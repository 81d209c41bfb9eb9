"""Placeholder until the text renderer lands."""

from __future__ import annotations

from typing import Any


def render_text(profile: Any) -> str:
    return f"params={profile.params} forward_flops={profile.forward.flops}"
