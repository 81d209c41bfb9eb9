"""``--memory`` and ``--memory-snapshot`` on ``flopsight example | profile | show``, in-process."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

import flopsight
from flopsight.cli import main
from flopsight.examples import TinyTransformer
from flopsight.report.memory_snapshot import memory_snapshot, memory_snapshot_pickle
from no_torch import run_without_torch

EXAMPLE = ["example", "--seq-len", "8", "--backward", "--memory"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example's memory profile saved as JSON, and the snapshot the same run wrote."""
    folder = tmp_path_factory.mktemp("memory")
    profile, snapshot = folder / "example.json", folder / "example.pickle"
    assert main([*EXAMPLE, "--format", "json", "-o", str(profile), "--memory-snapshot", str(snapshot)]) == 0
    return profile, snapshot


def test_text_has_the_memory_section_and_the_activation_column(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run([*EXAMPLE, "--top", "1", "--depth", "1"], capsys)
    assert code == 0, err
    memory = out.split("\nMemory\n------\n")[1].split("\n\n")[0]
    assert memory.startswith("Target:           cpu") and "Peak:" in memory and "Activations:" in memory
    assert "= 100% activations" in out  # the tree's column, at the root
    assert "    activations - TinyTransformer: " in out  # the top-k row


def test_json_has_the_memory_and_its_timeline(saved: tuple[Path, Path]) -> None:
    data = json.loads(saved[0].read_text())
    memory = data["memory"]
    assert memory["target"] == "cpu" and memory["peak_bytes"] > memory["parameter_bytes"] > 0
    timeline = memory["timeline"]
    totals = [sum(values) for values in zip(*(v for k, v in timeline.items() if k not in ("paths", "phases")))]
    assert max(totals) == memory["peak_bytes"] and len(timeline["paths"]) == len(totals)
    assert data["root"]["memory"]["activation_bytes"] == memory["activation_bytes"]


@pytest.mark.parametrize("options", [[], ["--top", "2", "--depth", "2"]])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_show_renders_what_the_run_printed(saved: tuple[Path, Path], fmt: str, options: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, measured, _ = _run([*EXAMPLE, "--format", fmt, *options], capsys)
    assert code == 0
    code, shown, err = _run(["show", str(saved[0]), "--format", fmt, *options], capsys)
    assert code == 0, err
    assert shown == measured


def test_the_snapshot_file_is_the_runs_and_show_writes_it_again(saved: tuple[Path, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    profile = flopsight.Profile.from_dict(json.loads(saved[0].read_text()))
    written = saved[1].read_bytes()
    assert written == memory_snapshot_pickle(profile)
    assert pickle.loads(written) == memory_snapshot(profile)
    again = tmp_path / "again.pickle"
    code, out, err = _run(["show", str(saved[0]), "--memory-snapshot", str(again)], capsys)
    assert code == 0 and "Memory\n------" in out, err
    assert again.read_bytes() == written


def test_show_writes_a_snapshot_without_torch(saved: tuple[Path, Path], tmp_path: Path) -> None:
    target = tmp_path / "no-torch.pickle"
    done = run_without_torch("from flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "show", str(saved[0]), "--memory-snapshot", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == saved[1].read_bytes()


@pytest.mark.parametrize(("argv", "needle"), [
    (["example", "--memory-snapshot", "out.pickle"], "--memory-snapshot needs --memory"),
    (["example", "--memory", "--memory-snapshot", "/no/such/folder/out.pickle"], "does not exist"),
    (["profile", "gpt2", "--mode", "generate", "--memory"], "--memory applies to --mode forward"),
])
def test_bad_memory_options_are_one_line_and_exit_2(argv: list[str], needle: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and err.startswith("flopsight: InputError: "), err
    assert list(tmp_path.iterdir()) == []


def test_show_of_a_profile_without_memory_refuses_a_snapshot(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.json"
    assert main(["example", "--seq-len", "8", "--format", "json", "-o", str(path)]) == 0
    code, out, err = _run(["show", str(path), "--memory-snapshot", str(tmp_path / "out.pickle")], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "holds no memory" in err
    assert not (tmp_path / "out.pickle").exists()


def test_profile_with_memory_on_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    snapshot = tmp_path / "gpt2.pickle"
    code, out, err = _run(["profile", "gpt2", "--seq-len", "16", "--backward", "--memory", "--depth", "1",
                           "--memory-snapshot", str(snapshot)], capsys)
    assert code == 0, err
    target = next(line for line in out.splitlines() if line.startswith("Target:"))
    assert target.split(":", 1)[1].strip().startswith("cuda (simulated on meta)") and "activations" in out.split("Per module")[1]
    assert pickle.loads(snapshot.read_bytes())["device_traces"][0]


def test_optimizer_adds_its_state_to_the_memory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "step.json"
    assert main([*EXAMPLE, "--optimizer", "adamw", "--format", "json", "-o", str(path)]) == 0
    stepped = flopsight.Profile.from_dict(json.loads(path.read_text()))
    assert stepped.memory is not None and stepped.metadata["optimizer"] == "AdamW"
    # AdamW: two moments like every (float32) parameter, and one float32 step per parameter tensor
    # (the tied LM head is one tensor, held once).
    with torch.device("meta"):
        tensors = len(list(TinyTransformer().parameters()))
    assert stepped.memory.optimizer_bytes == 2 * stepped.memory.parameter_bytes + 4 * tensors
    code, out, _ = _run(["show", str(path)], capsys)
    assert code == 0 and "Optimizer state:" in out and "in the optimizer step" in out


@pytest.mark.parametrize("argv, message", [
    (["example", "--optimizer", "adamw"], "add --backward"),
    (["example", "--backward", "--optimizer", "lion"], "invalid choice"),
])
def test_optimizer_misuse_is_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
