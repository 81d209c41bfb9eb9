"""Ctrl-C at any moment, and what the CLI imports: separate processes, as users run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "FLOPSIGHT_DEBUG"}
    env["PYTHONPATH"] = os.pathsep.join([*extra.pop("prepend", "").split(os.pathsep), SRC, env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.update(extra)
    return env


# From the first moments (imports, torch's own import) to the middle of the timed loop.
@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5, 2.5, 4.0])
def test_ctrl_c_at_any_moment_is_one_line_exit_130_and_no_output(delay: float, tmp_path: Path) -> None:
    output = tmp_path / "out.txt"
    # --repeat 10**6: still running whenever the interrupt comes
    command = [sys.executable, "-m", "flopsight.cli", "example", "--seq-len", "8", "--time", "--warmup", "0",
               "--repeat", "1000000", "-o", str(output)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["flopsight: interrupted"], stderr
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one


_CHECK_IMPORTS = """
import sys
from flopsight.cli import main
code = main({argv!r})
heavy = sorted(m for m in ("torch", "transformers", "numpy") if m in sys.modules)
print(code, heavy)
"""


@pytest.mark.parametrize(("argv", "code"), [
    (["--help"], 0),
    (["profile", "--help"], 0),
    (["--version"], 0),
    (["profile", "gpt2", "--batch-size", "0"], 2),
    (["profile", "gpt2", "--mode", "generate", "--backward"], 2),
    (["frobnicate"], 2),
    (["models"], 0),
])
def test_help_and_argument_errors_import_neither_torch_nor_transformers(argv: list[str], code: int) -> None:
    result = subprocess.run([sys.executable, "-c", _CHECK_IMPORTS.format(argv=argv)], capture_output=True,
                            text=True, env=_env(), timeout=120)
    assert result.stdout.strip().splitlines()[-1] == f"{code} []", result.stdout + result.stderr


def test_the_example_on_the_cpu_never_imports_dynamo(tmp_path: Path) -> None:
    # torch._dynamo costs about a second of CPU; only torch's meta kernels (and its wrapper
    # around dispatch modes, which flopsight's modes opt out of) would import it
    check = ("import sys\nfrom flopsight.cli import main\n"
             f"code = main(['example', '--backward', '-o', {str(tmp_path / 'out.txt')!r}])\n"
             "print(code, 'torch._dynamo' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=_env(), timeout=300)
    assert result.stdout.strip().splitlines()[-1] == "0 False", result.stdout + result.stderr


def test_no_numpy_warning_when_numpy_is_missing(tmp_path: Path) -> None:
    """The base install has no NumPy; torch then warns at import. The CLI keeps that off stderr."""
    fake = tmp_path / "numpy"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'numpy\'", name="numpy")\n')
    env = _env(prepend=str(tmp_path))
    bare = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=env, timeout=120)
    assert "Failed to initialize NumPy" in bare.stderr  # the warning this test is about
    result = subprocess.run([sys.executable, "-m", "flopsight.cli", "example", "--seq-len", "8", "--depth", "0"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and "TinyTransformer" in result.stdout
    assert result.stderr == ""
