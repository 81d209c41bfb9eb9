"""The README's training-loop section runs as written, and its stated figures hold."""

from __future__ import annotations

import re
from pathlib import Path

import torch

import flopsight

README = Path(__file__).resolve().parents[1] / "README.md"


def training_section_code() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Training loops, timing and MFU", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_training_loop_examples_run_and_their_numbers_hold(capsys) -> None:
    blocks = training_section_code()
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    torch.manual_seed(0)
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own README)
    per_step, tracker = namespace["per_step"], namespace["tracker"]
    assert per_step.forward.macs == 32 * 64 * 256 + 32 * 256 * 10  # type: ignore[attr-defined]
    # backward: weight gradients of both layers, input gradient of the second only
    assert per_step.backward.macs == 32 * 64 * 256 + 2 * 32 * 256 * 10  # type: ignore[attr-defined]
    assert tracker.timing.repeat == 2 and tracker.timing.iteration.median > 0  # type: ignore[attr-defined]
    # the README's '1.23 M': 2 x MACs, bias adds (32*256 + 32*10), GELU (32*256, one per element)
    model, x = namespace["model"], namespace["x"]
    with flopsight.FlopsProfiler(model, timing_repeat=0) as prof:  # type: ignore[arg-type]
        model(x)  # type: ignore[operator]
    assert prof.get_total_flops() == 2 * (32 * 64 * 256 + 32 * 256 * 10) + 32 * 256 + 32 * 10 + 32 * 256
    assert prof.get_total_flops(as_string=True) == "1.23 M"
    timed, timing = namespace["timed"], namespace["timing"]
    assert timed.module("0").timing == timing.modules["0"]  # type: ignore[attr-defined]
    back = flopsight.Profile.from_dict(__import__("json").loads(namespace["saved"]))  # type: ignore[arg-type]
    assert str(back) == str(timed) and back.timing == timing
    out = capsys.readouterr().out
    assert "Timed steps 6, 7, 8, 9" in out and "Latency (separate timing run, no counting)" in out
