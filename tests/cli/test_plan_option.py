"""``flopsight profile MODEL --dp --tp --pp --fsdp --rank``: a parallel plan simulated in this
process, its rank's report and the job's, saved and shown again; bad plans refused in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed"))

from tiny_llama import HIDDEN, MODEL_PARAMS, tiny_llama  # noqa: E402

from flopsight.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("plan") / "config.json"
    path.write_text(tiny_llama().to_json_string(), encoding="utf-8")
    return str(path)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_plan_prints_the_ranks_figures_and_the_jobs(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["profile", config, "--dp", "2", "--tp", "2", "--fsdp", "--rank", "3", "--seq-len", "16",
                           "--backward", "--depth", "1"], capsys)
    assert code == 0, err
    assert out.startswith("Simulated rank 3 of 4")
    # every weight split over tp, then over dp: layer weights, embedding and head each 1/4;
    # the norms (replicated on tp) only over dp
    norms = 2 * 2 * HIDDEN + HIDDEN
    local = (MODEL_PARAMS - norms) // 4 + norms // 2
    params_line = next(line for line in out.splitlines() if line.startswith("Params on this rank"))
    assert params_line.split(":", 1)[1].split()[0] == f"{local / 1000:.2f}"
    assert "params of model (global unique):" in out and f"{MODEL_PARAMS / 1000:.2f} K" in out
    assert "0-3 (all identical)" in out
    assert {"all_gather", "reduce_scatter", "all_reduce"} <= set(out.split())


def test_a_saved_plan_shows_again_as_printed(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["profile", config, "--pp", "2", "--dp", "2", "--seq-len", "16", "--backward", "--batch-size", "2"]
    code, printed, err = _run(argv, capsys)
    assert code == 0, err
    assert "Pipeline stages" in printed and "bubble (pp-1)/(m+pp-1) = 33.3% of a step" in printed
    saved = tmp_path / "plan.json"
    assert _run([*argv, "--format", "json", "-o", str(saved)], capsys)[0] == 0
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["mode"] == "simulate" and data["job"]["world_size"] == 4
    code, shown, err = _run(["show", str(saved)], capsys)
    assert code == 0, err
    assert shown == printed


@pytest.mark.parametrize(("options", "message"), [
    (["--tp", "3"], "--tp 3 does not divide num_attention_heads=4"),
    (["--dp", "2", "--rank", "2"], "--rank must be in 0..1"),
    (["--dp", "2", "--time"], "--time does not apply to a simulated parallel plan"),
    (["--dp", "2", "--mode", "generate"], "--mode generate does not apply"),
    (["--rank", "1"], "--rank applies to a parallel plan"),
])
def test_a_bad_plan_is_refused_in_one_line(config: str, options: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["profile", config, "--seq-len", "16", *options], capsys)
    assert code == 2
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err
