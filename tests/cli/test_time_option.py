"""``--time``: a timing run after the counting run, reported in text and json."""

from __future__ import annotations

import json

import pytest

from flopsight.cli import main


def test_example_with_time_adds_latency_and_flops(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--seq-len", "16", "--time", "--warmup", "1", "--repeat", "2",
                 "--peak-tflops", "100"]) == 0
    out = capsys.readouterr().out
    assert "fwd latency:" in out and "fwd FLOPS:" in out and "MFU:" in out
    assert "lm_head" in out.split("Timing")[1]  # the per-module table


def test_time_in_json_is_in_the_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--seq-len", "16", "--time", "--warmup", "1", "--repeat", "2",
                 "--peak-tflops", "100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    timing = data["metadata"]["timing"]
    achieved = data["metadata"]["achieved"]
    assert timing["repeat"] == 2
    assert achieved["peak_tflops"] == 100
    # MFU is forward FLOPs per second over the peak.
    assert achieved["mfu"] == pytest.approx(achieved["iteration_flops_per_s"] / 100e12)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["profile", "gpt2", "--time"], "--device cpu or cuda"),
        (["example", "--time", "--format", "csv"], "text or json"),
        (["example", "--time", "--repeat", "0"], "positive integer"),
        (["example", "--time", "--peak-tflops", "-3"], "positive number"),
    ],
)
def test_time_misuse_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
