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
