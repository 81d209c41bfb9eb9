"""``flopsight profile --layout deepspeed``: DeepSpeed's sections, each module's own ops, fwd latency."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("transformers")

import flopsight  # noqa: E402
from flopsight.cli import main  # noqa: E402
from tiny_config_files import tiny_llama_file  # noqa: E402
from flopsight.report.deepspeed_layout import render_deepspeed_layout  # noqa: E402
from flopsight.report.timing import format_latency  # noqa: E402
from no_torch import run_without_torch  # noqa: E402


def _tiny_llama(tmp_path: Path) -> Path:
    return tiny_llama_file(tmp_path)


def test_sections_and_functionals_of_each_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tiny_llama(tmp_path)
    assert main(["profile", str(path), "--seq-len", "8", "--dtype", "float32", "--layout", "deepspeed"]) == 0
    text = capsys.readouterr().out
    for section in ("DeepSpeed-style profile", "Aggregated Profile", "Detailed Profile"):
        assert section in text
    assert "Top 1 modules" in text and "fwd latency" not in text.split("Detailed Profile")[0]  # not timed
    # q_proj: 8 tokens x 64 x 64 (no bias: mm), charged to the Linear itself
    q_proj = text.split("(q_proj): Linear(")[1].split(")")[0]
    assert f"aten.mm.default x 1: {8 * 64 * 64 / 1e3:.2f} KMACs" in q_proj
    # the rotary embedding, the residual adds and SDPA are charged to the attention and layer
    # modules themselves: they are the functionals DeepSpeed lists outside submodules
    attention = text.split("(self_attn): LlamaAttention(")[1]
    functionals = attention.split("functionals: ")[1].split("\n")[0]
    assert "aten._scaled_dot_product_flash_attention_for_cpu.default x 1" in functionals


def test_timed_top_k_has_fwd_latency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tiny_llama(tmp_path)
    argv = ["profile", str(path), "--seq-len", "8", "--dtype", "float32", "--device", "cpu", "--time",
            "--warmup", "0", "--repeat", "2"]
    assert main([*argv, "--layout", "deepspeed", "--top", "2"]) == 0
    text = capsys.readouterr().out
    depth_3 = text.split("Aggregated Profile")[1].split("depth 3:")[1].split("depth 4:")[0]
    assert re.search(r"fwd latency - 2 x LlamaDecoderLayer: [\d.]+ [mun]?s", depth_3)
    assert "% latency" in text.split("Detailed Profile")[1]
    # the same layout of a saved timed profile: the two layers' medians, summed
    assert main([*argv, "--format", "json"]) == 0
    saved = flopsight.Profile.from_dict(json.loads(capsys.readouterr().out))
    layers = [saved.module(f"model.layers.{i}").timing for i in (0, 1)]
    assert all(t is not None for t in layers)
    summed = sum(t.forward.median for t in layers if t is not None)
    rendered = render_deepspeed_layout(saved, top=2)
    assert f"fwd latency - 2 x LlamaDecoderLayer: {format_latency(summed)}" in rendered


def test_layout_refuses_other_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "gpt2", "--layout", "deepspeed", "--format", "csv"]) == 2
    assert "use --format text" in capsys.readouterr().err


def test_show_lays_out_a_saved_profile_as_the_run_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, saved = _tiny_llama(tmp_path), tmp_path / "saved.json"
    argv = ["profile", str(path), "--seq-len", "8", "--dtype", "float32", "--backward"]
    assert main([*argv, "--format", "json", "-o", str(saved)]) == 0
    assert main([*argv, "--layout", "deepspeed", "--depth", "2", "--top", "2"]) == 0
    measured = capsys.readouterr().out
    assert main(["show", str(saved), "--layout", "deepspeed", "--depth", "2", "--top", "2"]) == 0
    assert capsys.readouterr().out == measured
    # the layout is rendering only: a saved profile lays out where torch cannot be imported
    done = run_without_torch("from flopsight.cli import main\nsys.exit(main(sys.argv[1:]))\n",
                             "show", str(saved), "--layout", "deepspeed", "--depth", "2", "--top", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout == measured


@pytest.mark.parametrize("options, message", [
    (["--format", "csv"], "use --format text"),
    (["--format", "json"], "use --format text"),
    (["--gpu", "h100-sxm"], "drop --gpu"),
])
def test_show_layout_refuses_what_profile_refuses(tmp_path: Path, options: list[str], message: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "saved.json"
    assert main(["profile", str(_tiny_llama(tmp_path)), "--seq-len", "8", "--format", "json", "-o", str(saved)]) == 0
    capsys.readouterr()
    assert main(["show", str(saved), "--layout", "deepspeed", *options]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err


def test_show_layout_refuses_a_saved_generate_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "generate.json"
    assert main(["profile", str(_tiny_llama(tmp_path)), "--seq-len", "4", "--mode", "generate", "--new-tokens", "1",
                 "--format", "json", "-o", str(saved)]) == 0
    capsys.readouterr()
    assert main(["show", str(saved), "--layout", "deepspeed"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "generate run" in err and "tree layout" in err
