"""Run Python code in a fresh interpreter where torch (and numpy, transformers) cannot be imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import flopsight

_BLOCKER = """
import importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "numpy", "transformers"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
"""


def run_without_torch(code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -c code argv...`` with the torch import blocked and only flopsight's sources on
    the path."""
    src = Path(flopsight.__file__).parent.parent
    return subprocess.run([sys.executable, "-c", _BLOCKER + code, *argv], capture_output=True, text=True,
                          env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", **_calibration_env()}, timeout=120)


def _calibration_env() -> dict[str, str]:
    """The test's own calibration file (conftest.py), so the child never reads the user's cache."""
    path = os.environ.get("FLOPSIGHT_CALIBRATION")
    return {} if path is None else {"FLOPSIGHT_CALIBRATION": path}
