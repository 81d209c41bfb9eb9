"""``flopsight diff A.json B.json``: the formats, -o, one-line errors with exit 2, and no torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from no_torch import run_without_torch
from torch import nn

import flopsight
from flopsight.cli import main

IN, N = 4, 3


def _save(path: Path, width: int) -> Path:
    model = nn.Sequential(nn.Linear(IN, width), nn.ReLU(), nn.Linear(width, 2))
    path.write_text(json.dumps(flopsight.profile(model, input_shape=(N, IN)).to_dict()))
    return path


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[str, str]:
    return str(_save(tmp_path / "a.json", 8)), str(_save(tmp_path / "b.json", 16))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_each_format_prints_the_diff_of_the_two_files(saved: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    a, b = saved
    code, out, err = _run(["diff", a, b], capsys)
    assert code == 0 and err == "" and out == str(flopsight.diff(a, b))
    code, out, _ = _run(["diff", a, b, "--format", "json", "--top", "1", "--sort", "params"], capsys)
    data = json.loads(out)
    # fc 0 gains (IN + 1) x 8 = 40 params, the most of any module
    assert code == 0 and data["sort"] == "params" and [m["path_a"] for m in data["modules"]] == ["0"]
    assert data["modules"][0]["changes"]["params"]["delta"] == (IN + 1) * 8
    code, out, _ = _run(["diff", a, b, "--format", "markdown"], capsys)
    assert code == 0 and out.startswith("# flopsight diff:")
    code, out, _ = _run(["diff", a, b, "--format", "html"], capsys)
    assert code == 0 and out.startswith("<!DOCTYPE html>")


def test_output_file_holds_what_stdout_would(saved: tuple[str, str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "diff.md"
    code, out, _ = _run(["diff", *saved, "--format", "markdown", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    _, printed, _ = _run(["diff", *saved, "--format", "markdown"], capsys)
    assert target.read_text() == printed


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("not json", "not JSON"),
    ("[1, 2]", "not a flopsight profile (a JSON list"),
    ('{"root": 3}', "schema version None is not supported"),
    ('{"schema_version": 1, "root": 3}', "not a flopsight profile"),
    ('{"mode": "generate", "prefill": {}}', "a generate run"),
    ('{"mode": "simulate", "rank_profile": {}}', "a simulated plan"),
])
def test_bad_input_is_one_line_and_exit_2(saved: tuple[str, str], tmp_path: Path, content: str | None, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    code, out, err = _run(["diff", saved[0], str(bad)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("flopsight: InputError: ") and message in err, err


@pytest.mark.parametrize("extra, message", [
    (["--sort", "speed"], "InputError: --sort speed: not a figure; use one of params, forward_macs,"),
    (["--sort", "backward_flops"], "InputError: --sort backward_flops: not a figure both runs have; use one of params,"),
    (["--top", "0"], "positive integer"),
    (["-o", "/no/such/folder/x.txt"], "does not exist"),
])
def test_bad_options_exit_2(saved: tuple[str, str], extra: list[str], message: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["diff", *saved, *extra], capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_diff_runs_without_torch(saved: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    done = run_without_torch("import sys\nfrom flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "diff", *saved, "--top", "2")
    assert done.returncode == 0, done.stderr
    code, shown, _ = _run(["diff", *saved, "--top", "2"], capsys)
    assert code == 0 and done.stdout == shown
