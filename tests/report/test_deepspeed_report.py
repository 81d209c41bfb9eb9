"""report/deepspeed.py: DeepSpeed's module_depth and top_modules, and the layout they pick."""

from __future__ import annotations

import pytest

import flopsight
from flopsight.report import render_summary, render_text, render_top
from flopsight.report.deepspeed import depth_and_top, render_report


@pytest.mark.parametrize(("module_depth", "top_modules", "expected"), [
    (-1, -1, (None, "all")),
    (-1, 0, (None, None)),
    (None, 1, (None, 1)),
    (0, 3, (0, 3)),
    (2, 1, (2, 1)),
])
def test_minus_one_is_all_and_zero_top_modules_is_none(module_depth: int | None, top_modules: int,
                                                       expected: tuple[int | None, object]) -> None:
    assert depth_and_top(module_depth, top_modules) == expected


@pytest.mark.parametrize(("module_depth", "top_modules", "message"), [
    (-2, 1, "module_depth"), (1.5, 1, "module_depth"), (True, 1, "module_depth"),
    (0, -2, "top_modules"), (0, True, "top_modules"), (0, 1.0, "top_modules"),
])
def test_bad_depth_or_top_is_one_input_error(module_depth: object, top_modules: object, message: str) -> None:
    with pytest.raises(flopsight.InputError, match=message):
        depth_and_top(module_depth, top_modules)  # type: ignore[arg-type]


def test_detailed_is_the_text_report_and_otherwise_summary_and_top_k(tiny_profile: flopsight.Profile) -> None:
    assert render_report(tiny_profile, module_depth=1, top_modules=2) == render_text(tiny_profile, depth=1, top=2)
    brief = render_report(tiny_profile, module_depth=1, top_modules=2, detailed=False)
    assert brief == render_summary(tiny_profile) + "\n\n" + render_top(tiny_profile, k=2, depths=range(2)) + "\n"
    assert render_report(tiny_profile, top_modules=0, detailed=False) == render_summary(tiny_profile) + "\n"
