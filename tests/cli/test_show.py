"""``flopsight show PROFILE.json``: a saved profile renders as the run that measured it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flopsight
from flopsight.cli import main
from no_torch import run_without_torch


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def saved_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("show") / "example.json"
    assert main(["example", "--seq-len", "8", "--backward", "--format", "json", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("options", [[], ["--depth", "1"], ["--top", "2", "--depth", "2"]])
@pytest.mark.parametrize("fmt", ["text", "csv", "markdown", "json"])
def test_show_renders_what_the_run_printed(saved_example: Path, fmt: str, options: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # The example's counts are exact and repeatable on the CPU: a second run prints the same.
    code, measured, _ = _run(["example", "--seq-len", "8", "--backward", "--format", fmt, *options], capsys)
    assert code == 0
    code, shown, err = _run(["show", str(saved_example), "--format", fmt, *options], capsys)
    assert code == 0, err
    assert shown == measured


def test_show_of_a_timed_profile_has_its_latencies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "timed.json"
    assert main(["example", "--seq-len", "8", "--time", "--warmup", "0", "--repeat", "2", "--peak-tflops", "2",
                 "--format", "json", "-o", str(path)]) == 0
    code, shown, err = _run(["show", str(path)], capsys)
    assert code == 0, err
    profile = flopsight.Profile.from_dict(json.loads(path.read_text()))
    root = profile.module("")
    assert root.timing is not None and profile.peak_tflops == 2
    timing_section = shown.split("\nTiming\n------\n")[1]
    assert "MFU:" in timing_section and "lm_head" in timing_section
    assert "fwd latency" in shown.split("Timing")[0]  # the tree's latency columns
    code, again, _ = _run(["show", str(path), "--format", "json"], capsys)
    assert code == 0 and again == path.read_text()


def test_show_of_a_saved_generate_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    path = tmp_path / "generate.json"
    run = ["profile", "gpt2", "--mode", "generate", "--new-tokens", "3", "--seq-len", "8"]
    assert main([*run, "--format", "json", "-o", str(path)]) == 0
    for fmt in ("text", "markdown", "json"):
        code, measured, _ = _run([*run, "--format", fmt], capsys)
        assert code == 0
        code, shown, err = _run(["show", str(path), "--format", fmt], capsys)
        assert code == 0, err
        assert shown == measured, fmt
    code, _, err = _run(["show", str(path), "--format", "csv"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "first and last decode steps" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("not json at all", "not JSON"),
        ("[1, 2]", "not a flopsight profile"),
        ('{"schema_version": 1}', "not a flopsight profile"),
        ('{"schema_version": 99, "root": {}}', "schema version 99 is not supported"),
        ('{"mode": "generate", "generation": {}}', "not a flopsight generate run"),
    ],
)
def test_show_refuses_what_is_not_a_profile_in_one_line(tmp_path: Path, content: str | None, message: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    code, out, err = _run(["show", str(path)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_show_of_a_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["show", str(tmp_path)], capsys)
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1


def test_show_writes_output_files_atomically(saved_example: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.md"
    code, out, _ = _run(["show", str(saved_example), "--format", "markdown", "-o", str(target)], capsys)
    assert code == 0 and out == ""
    code, printed, _ = _run(["show", str(saved_example), "--format", "markdown"], capsys)
    assert target.read_text() == printed


def test_show_runs_without_torch(saved_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = run_without_torch("from flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "show", str(saved_example), "--depth", "1")
    assert done.returncode == 0, done.stderr
    code, shown, _ = _run(["show", str(saved_example), "--depth", "1"], capsys)
    assert code == 0 and done.stdout == shown


def test_show_with_gpu_prints_the_roofline_the_run_would_have(saved_example: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("text", "json"):
        code, measured, _ = _run(["example", "--seq-len", "8", "--backward", "--gpu", "h100-sxm", "--format", fmt],
                                 capsys)
        assert code == 0
        code, shown, err = _run(["show", str(saved_example), "--gpu", "h100-sxm", "--format", fmt], capsys)
        assert code == 0, err
        assert shown == measured and "H100 SXM" in shown


def test_show_with_gpu_runs_without_torch(saved_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = run_without_torch("from flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "show", str(saved_example), "--gpu", "a100-80gb", "--depth", "1")
    assert done.returncode == 0, done.stderr
    assert "Roofline on A100 80GB" in done.stdout and "best MFU:" in done.stdout
    code, shown, _ = _run(["show", str(saved_example), "--gpu", "a100-80gb", "--depth", "1"], capsys)
    assert code == 0 and done.stdout == shown


def test_show_with_an_unknown_gpu_or_on_a_generate_run_exits_2(saved_example: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["show", str(saved_example), "--gpu", "nosuch"], capsys)
    assert code == 2 and "unknown GPU 'nosuch'" in err
    pytest.importorskip("transformers")
    path = tmp_path / "generate.json"
    assert main(["profile", "gpt2", "--mode", "generate", "--new-tokens", "2", "--seq-len", "8",
                 "--format", "json", "-o", str(path)]) == 0
    code, _, err = _run(["show", str(path), "--gpu", "h100-sxm"], capsys)
    assert code == 2 and "--gpu" in err and len(err.strip().splitlines()) == 1
