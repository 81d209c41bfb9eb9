"""The README's distributed section: its loop is the example's, and its simulated 405B figures hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import flopsight

ROOT = Path(__file__).resolve().parents[1]
SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("## Distributed runs", 1)[1].split("\n## ", 1)[0]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.S)


def test_the_training_loop_shown_is_the_examples() -> None:
    loop = _blocks("python")[0]
    assert loop in (ROOT / "examples" / "train_fsdp_tp.py").read_text(encoding="utf-8")


@pytest.mark.xl
def test_the_simulated_405b_figures_hold() -> None:
    namespace: dict[str, object] = {"flopsight": flopsight}
    exec(compile(_blocks("python")[1], "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    rank0, job = namespace["rank0"], namespace["job"]
    assert rank0.local_params == 396_394_112 and rank0.params == 405_853_388_800  # type: ignore[attr-defined]
    assert rank0.forward.flops + rank0.backward.flops == 38_821_697_394_816  # type: ignore[attr-defined]
    assert job.world_size == 1024 and job.params_of_model == 405_853_388_800  # type: ignore[attr-defined]
    # rank 0's stored parameters by hand (H 16,384, kv width 1,024, MLP 53,248, vocabulary
    # 128,256, 126 layers): TP 8 then FSDP's ceil-sized chunks of dim 0 over 128 ranks
    h, kv, mlp, vocab, layers, tp, dp = 16_384, 1_024, 53_248, 128_256, 126, 8, 128
    chunk = -(-(vocab // tp) // dp)  # 126 vocabulary rows: rank 0 holds a full chunk
    layer = (h // tp) // dp * h * 2 + (kv // tp) // dp * h * 2 + 3 * (mlp // tp) // dp * h + 2 * (h // dp)
    assert layers * layer + 2 * chunk * h + h // dp == 396_394_112
