"""Shared test options: ``pytest --overwrite`` rewrites golden files (as torchinfo's tests do);
every test reads and writes calibrations in its own temporary file, never the user's cache."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture(autouse=True)
def calibration_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh calibration file per test (``$FLOPSIGHT_CALIBRATION``): no test sees a stale
    calibration, nor writes into ``~/.cache/flopsight``."""
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("FLOPSIGHT_CALIBRATION", str(path))
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--overwrite",
        action="store_true",
        default=False,
        help="rewrite golden files with the current output instead of comparing against them",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: compare ``text`` with ``golden/<name>`` beside the test file.

    With ``--overwrite`` the file is written instead; read the diff before checking it in.
    """

    def check(name: str, text: str) -> None:
        path = Path(request.path).parent / "golden" / name
        if request.config.getoption("--overwrite"):
            path.parent.mkdir(parents=True, exist_ok=True)
            # newline="" keeps "\n" on every platform, so the files compare byte for byte.
            with path.open("w", encoding="utf-8", newline="") as file:
                file.write(text)
            return
        if not path.exists():
            pytest.fail(f"no golden file {path}; run pytest with --overwrite to create it")
        with path.open(encoding="utf-8", newline="") as file:
            expected = file.read()
        assert text == expected, f"output differs from {path}; run pytest --overwrite to update it"

    return check
