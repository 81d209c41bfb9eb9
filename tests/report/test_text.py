"""report/text.py: the full report against golden files, and JSON round trips."""

from __future__ import annotations

import json
from typing import Callable

import pytest

import flopsight
from flopsight.report.text import render_text

Golden = Callable[[str, str], None]


def test_forward_report_matches_golden(tiny_profile: flopsight.Profile, golden: Golden) -> None:
    golden("tiny_forward.txt", render_text(tiny_profile))


def test_backward_report_with_top_k_matches_golden(tiny_backward_profile: flopsight.Profile, golden: Golden) -> None:
    golden("tiny_backward_top3.txt", render_text(tiny_backward_profile, top=3))


def test_depth_limited_report_with_fixed_units_matches_golden(tiny_profile: flopsight.Profile, golden: Golden) -> None:
    golden("tiny_depth2_kilo.txt", render_text(tiny_profile, depth=2, top=2, unit="K", param_unit="", precision=1))


def test_shared_module_report_matches_golden(towers_profile: flopsight.Profile, golden: Golden) -> None:
    golden("towers_backward.txt", render_text(towers_profile))


def test_str_of_a_profile_is_the_text_report(tiny_profile: flopsight.Profile) -> None:
    assert str(tiny_profile) == render_text(tiny_profile)


@pytest.mark.parametrize("profile_name", ["tiny_profile", "tiny_backward_profile", "towers_profile"])
@pytest.mark.parametrize("options", [{}, {"top": 3}, {"depth": 1, "unit": "", "param_unit": ""}, {"phase": "total"}])
def test_a_profile_read_back_from_json_renders_byte_identically(
    profile_name: str, options: dict[str, object], request: pytest.FixtureRequest
) -> None:
    measured: flopsight.Profile = request.getfixturevalue(profile_name)
    # Through real JSON text, as a saved profile would travel.
    loaded = flopsight.Profile.from_dict(json.loads(json.dumps(measured.to_dict())))
    assert render_text(loaded, **options) == render_text(measured, **options)  # type: ignore[arg-type]


def test_report_is_deterministic(tiny_backward_profile: flopsight.Profile) -> None:
    assert render_text(tiny_backward_profile, top=2) == render_text(tiny_backward_profile, top=2)


def test_top_k_section_follows_the_depth_limit(tiny_profile: flopsight.Profile) -> None:
    text = render_text(tiny_profile, depth=1, top=1)
    assert "depth 1:" in text and "depth 2:" not in text
    assert "Aggregated per depth" not in render_text(tiny_profile)


@pytest.mark.parametrize("width", [60, 80, 100])
def test_a_width_fits_every_line_of_the_report(tiny_backward_profile: flopsight.Profile, width: int) -> None:
    wide = render_text(tiny_backward_profile, top=3)
    assert max(len(line) for line in wide.splitlines()) > 100  # the calflops tree is wider
    text = render_text(tiny_backward_profile, top=3, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    # Wrapping moves words, it drops none.
    assert text.split() != wide.split() and set(wide.split()) >= {"Uncounted", "depth", "summed):"}
    for word in ("Conventions:", "summed):", "LayerNorm:", "652.54"):
        assert word in text.split(), word


def test_no_width_is_the_calflops_layout(tiny_profile: flopsight.Profile) -> None:
    assert render_text(tiny_profile, width=None) == render_text(tiny_profile) == str(tiny_profile)
