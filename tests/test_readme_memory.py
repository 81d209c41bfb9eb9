"""The README's memory section runs as written, and its stated figures hold."""

from __future__ import annotations

import pickle
import re
import shlex
from pathlib import Path

import pytest
import torch

import flopsight
from flopsight.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
F32 = 4


def memory_section() -> str:
    return README.read_text(encoding="utf-8").split("## Memory\n", 1)[1].split("\n## ", 1)[0]


def test_memory_examples_run_and_their_numbers_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", memory_section(), flags=re.S)
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    torch.manual_seed(0)
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own README)
    p = namespace["p"]
    assert isinstance(p, flopsight.Profile) and p.memory is not None
    params = (256 * 1024 + 1024 + 1024 * 256 + 256) * F32
    hidden = 64 * 1024 * F32  # h = relu(fc1(x)), [64, 1024]
    io = 64 * 256 * F32  # x and the output, [64, 256] each
    # In fc1's backward: weights, every gradient, x, the output, the gradient of h, and the loss
    # (the outputs' sum) with its gradient seed, two float32 scalars.
    assert p.memory.peak_bytes == 2 * params + 2 * io + hidden + 2 * F32 == 4_597_768
    assert (p.memory.peak_module, p.memory.peak_phase) == ("0", flopsight.Phase.BACKWARD)
    assert p.memory.activation_bytes == hidden == 262_144
    assert p.module("1").memory.activation_bytes == hidden  # type: ignore[union-attr]
    assert "4.38 MiB" in capsys.readouterr().out
    assert pickle.loads((tmp_path / "step.pickle").read_bytes())["device_traces"][0]


def test_memory_command_lines_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    commands = re.findall(r"```bash\n(.*?)```", memory_section(), flags=re.S)[0].splitlines()
    assert commands[0].startswith("flopsight profile llama-3-8b --backward --memory")  # run in tests/cli, on gpt2
    for line in commands[1:]:
        argv = shlex.split(line)
        assert argv[0] == "flopsight" and main(argv[1:]) == 0, line
    assert (tmp_path / "example.json").exists() and (tmp_path / "example.pickle").exists()
    capsys.readouterr()


def test_the_llama_training_step_lines_are_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    section = memory_section()
    command = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[1].strip()
    assert command.startswith("flopsight profile llama-3-8b --memory --backward --optimizer adamw")
    assert main(shlex.split(command)[1:]) == 0
    printed = capsys.readouterr().out
    quoted = re.findall(r"```\n(Memory\n.*?)```", section, flags=re.S)[0]
    # Every quoted line of the memory section is printed as it stands; the tree's lines are
    # shortened with "..." in the README, so their figures are checked one by one.
    memory_lines = [line for line in quoted.split("\n\n")[0].splitlines() if line and line != "..."]
    for line in memory_lines:
        if not line.startswith(("LlamaForCausalLM", " ")):
            assert line in printed.splitlines(), line
    root = next(line for line in printed.splitlines() if line.startswith("  8.03 B = 100% Params"))
    assert root.endswith("24.64 GiB = 100% activations")
    assert "24.52 GiB = 99.48% activations" in printed and "128.02 MiB = 0.51% activations" in printed
