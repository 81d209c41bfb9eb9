"""The CLI as users run it: a separate process, its exit code, stdout and stderr.

Each format and each error path once. The output is piped, so no progress may appear on
stderr; every error is exactly one line there, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import flopsight


def flopsight_cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FLOPSIGHT_DEBUG"}
    return subprocess.run([sys.executable, "-m", "flopsight.cli", *argv], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env)


def assert_one_error_line(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flopsight: ") and needle in lines[0], result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("flopsight")
    assert script.exists(), "pip install -e . declares flopsight = flopsight.cli:main"


def test_no_arguments_prints_help_and_exits_zero() -> None:
    result = flopsight_cli()
    assert result.returncode == 0 and "usage: flopsight" in result.stdout and result.stderr == ""


@pytest.mark.parametrize("fmt", ["text", "json", "csv", "markdown"])
def test_example_in_each_format(fmt: str) -> None:
    result = flopsight_cli("example", "--format", fmt, "--seq-len", "32")
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    if fmt == "text":
        assert "TinyTransformer" in out and "Forward FLOPs" in out
    elif fmt == "json":
        assert flopsight.Profile.from_dict(json.loads(out)).params == 6_967_296
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[0]["type"] == "TinyTransformer" and int(rows[0]["params"]) == 6_967_296
    else:
        assert out.startswith("# flopsight profile: example") and "## Depth 0" in out


def test_profile_a_bundled_model_to_a_file(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    result = flopsight_cli("profile", "gpt2", "--seq-len", "32", "--format", "json", "-o", "gpt2.json", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    data = json.loads((tmp_path / "gpt2.json").read_text())
    assert data["summary"]["params"] == 124_439_808
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt2.json"]


def test_unknown_model_suggests_close_names() -> None:
    assert_one_error_line(flopsight_cli("profile", "mistral7b"), "did you mean mistral-7b")


def test_malformed_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{not json")
    assert_one_error_line(flopsight_cli("profile", str(config)), "not valid JSON")


def test_bad_arguments() -> None:
    assert_one_error_line(flopsight_cli("profile", "gpt2", "--batch-size", "-1"), "--batch-size")
    assert_one_error_line(flopsight_cli("profile", "gpt2", "--device", "tpu"), "--device")


def test_model_that_cannot_run_on_the_device() -> None:
    pytest.importorskip("transformers")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert_one_error_line(flopsight_cli("profile", "gpt2", "--device", "cuda"), "CUDA is not available")
