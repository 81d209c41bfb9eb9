"""``import flopsight`` is light, and its public names and subpackages are reachable from it."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import sys
import flopsight
light = 'torch' not in sys.modules
reachable = [callable(flopsight.report.render_timing), callable(flopsight.hf.profile_model),
             callable(flopsight.profile),
             issubclass(flopsight.UncountedOpsWarning, UserWarning)]
print(light, all(reachable), sorted(set(flopsight.__all__) - set(dir(flopsight))))
"""


def test_import_is_light_and_every_name_is_reachable() -> None:
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "True", "[]"], result.stdout + result.stderr


def test_every_dependency_stops_below_the_next_major_of_the_tested_release() -> None:
    import re
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    for requirement in requirements:
        bounds = re.fullmatch(r"([A-Za-z0-9_.-]+)>=(\d+)(?:\.(\d+))?,<(\d+)", requirement)
        assert bounds is not None, f"{requirement}: give NAME>=FLOOR,<NEXT_MAJOR"
        name, floor, ceiling = bounds[1], (int(bounds[2]), int(bounds[3] or 0)), int(bounds[4])
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # an extra this environment did not install
        major, minor = (int(n) for n in re.findall(r"\d+", installed)[:2])
        # the ceiling is the major after the one the tests run on: tomorrow's major is never pulled
        assert ceiling == major + 1, f"{requirement}: the tests run on {installed}"
        assert (major, minor) >= floor, f"{requirement}: {installed} is below the floor"
