"""--fuse-elementwise, --gpus-per-node and --inter-node-gbps reach the prediction; without --gpu
they are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flopsight.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("option", [["--fuse-elementwise"], ["--gpus-per-node", "4"], ["--inter-node-gbps", "25"]])
def test_a_roofline_option_without_gpu_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], option: list[str]) -> None:
    code, out, err = run(capsys, "example", "--device", "meta", *option)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and option[0] in err and "--gpu" in err


def test_the_options_reach_the_saved_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "example", "--device", "meta", "--gpu", "h100-sxm", "--fuse-elementwise",
                       "--gpus-per-node", "4", "--inter-node-gbps", "25", "--format", "json")
    assert code == 0
    target = json.loads(out)["roofline"]
    assert target["fuse_elementwise"] is True
    assert target["gpus_per_node"] == 4
    assert target["inter_node_bytes_per_s"] == 25e9


def test_fused_chains_make_a_llama_faster(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tiny_config_files import tiny_llama_file

    config = tiny_llama_file(tmp_path)
    eager = json.loads(run(capsys, "profile", str(config), "--gpu", "h100-sxm", "--format", "json")[1])
    fused = json.loads(run(capsys, "profile", str(config), "--gpu", "h100-sxm", "--fuse-elementwise",
                           "--format", "json")[1])
    # the same counts; RMSNorm's chain and the MLP's silu-multiply keep their intermediates on chip
    assert fused["summary"] == eager["summary"]
    assert fused["roofline"]["predicted_s"]["step"] < eager["roofline"]["predicted_s"]["step"]
    assert fused["root"]["roofline"]["moved_bytes"] < eager["root"]["roofline"]["moved_bytes"]
