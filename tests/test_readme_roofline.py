"""The README's roofline paragraph: its Python block gives the figures it states, and the llama-3-8b
command's stated prediction is what the command prints, FLOPs over the bf16 peak beside it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flopsight.cli import main
from flopsight.tree import Profile

ROOT = Path(__file__).resolve().parents[1]
# The roofline subsection alone: up to the next heading of its level or above
SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("### Roofline", 1)[1]
SECTION = SECTION.split("\n## ", 1)[0].split("\n### ", 1)[0]
H100_BF16 = 989.5e12  # NVIDIA H100 SXM dense BF16 FLOP/s (datasheet)


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.S)


def test_the_python_block_gives_its_stated_figures() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_blocks("python")[0], "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    p = namespace["p"]
    assert isinstance(p, Profile) and p.prediction is not None
    assert p.prediction.step_s == pytest.approx(2 * 8192 * 4096**2 / H100_BF16, rel=1e-12)
    assert f"p.prediction.step_s             # {p.prediction.step_s!r} " in SECTION
    assert p.prediction.mfu == 1.0 and p.predicted_ops()[0].bound == "compute"


def test_the_llama_command_predicts_the_stated_time_and_mfu(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    (command,) = _blocks("bash")
    argv = command.split("#")[0].split()[1:]
    assert argv == ["profile", "llama-3-8b", "--seq-len", "2048", "--gpu", "h100-sxm"]
    out = tmp_path / "llama.json"
    assert main([*argv, "--format", "json", "-o", str(out)]) == 0
    p = Profile.from_dict(json.loads(out.read_text(encoding="utf-8")))
    summary = p.prediction
    assert summary is not None and summary.target.dtype == "bfloat16" and summary.target.peak_tflops == 989.5
    assert p.metadata["input_description"]["batch_size"] == 1
    assert f"**{summary.step_s * 1e3:.2f} ms**" in SECTION and f"**{summary.mfu * 100:.2f}%**" in SECTION
    # best MFU is FLOPs / (step x peak): the step times MFU is the compute floor FLOPs / peak
    floor = p.forward.flops / H100_BF16
    assert summary.mfu == pytest.approx(floor / summary.step_s, rel=1e-12)
    assert f"{p.forward.flops / 1e12:.2f} TFLOPs would\ntake {floor * 1e3:.2f} ms at the peak" in SECTION
    ops = p.predicted_ops()
    compute = [o for o in ops if o.bound == "compute"]
    assert {o.op.split(".")[1] for o in compute} == {"mm", "_scaled_dot_product_flash_attention_for_cpu"}
    compute_s = sum(o.predicted_s for o in compute)
    memory_s = sum(o.predicted_s for o in ops if o.bound == "memory")
    assert f"take {compute_s * 1e3:.2f} ms\nand the memory-bound" in SECTION and f"residuals {memory_s * 1e3:.2f} ms" in SECTION
    assert summary.step_s == pytest.approx(compute_s + memory_s, rel=1e-12)
    fused = p.roofline("h100-sxm", fuse_elementwise=True).prediction
    assert fused is not None and fused.mfu is not None and fused.step_s < summary.step_s
    assert f"it predicts {fused.step_s * 1e3:.2f} ms and\n{fused.mfu * 100:.2f}%" in SECTION
