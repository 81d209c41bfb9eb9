"""``--gpu NAME``: the roofline section in the report; an unknown name is one line, exit 2."""

from __future__ import annotations

import json

import pytest

from flopsight.cli import main


def test_example_with_gpu_prints_the_roofline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--device", "meta", "--seq-len", "16", "--backward", "--gpu", "h100-sxm"]) == 0
    out = capsys.readouterr().out
    assert "Roofline on H100 SXM" in out and "best MFU:" in out and "lm_head" in out.split("Roofline on")[1]


def test_gpu_in_json_has_predicted_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--device", "meta", "--seq-len", "16", "--gpu", "a100-80gb", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["roofline"]["gpu"] == "A100 80GB" and data["roofline"]["predicted_s"]["step"] > 0
    assert data["root"]["roofline"]["predicted_s"]["forward"] == data["roofline"]["predicted_s"]["forward"]


def test_an_unknown_gpu_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["example", "--gpu", "nosuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown GPU 'nosuch'" in err[0] and "h100-sxm" in err[0]


def test_gpu_with_generate_mode_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "llama-3-8b", "--mode", "generate", "--gpu", "h100"]) == 2
    assert "--gpu" in capsys.readouterr().err
