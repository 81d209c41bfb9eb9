"""examples/train_fsdp_tp.py, the README's torchrun example, runs under torchrun on 4 gloo
ranks and prints the job's figures, derived here by hand from its shapes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HIDDEN, BLOCKS, DP, TP = 256, 1024, 2, 2, 2


@pytest.fixture(scope="module")
def printed() -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "4",
                           str(ROOT / "examples" / "train_fsdp_tp.py")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(label)).split(":", 1)[1].strip()


def test_the_job_summary_holds_the_hand_counts(printed: str) -> None:
    norm, up, down = 2 * WIDTH, WIDTH * HIDDEN + HIDDEN, HIDDEN * WIDTH + WIDTH
    assert BLOCKS * (norm + up + down) == 1_052_160
    assert _line(printed, "params of model (global unique)").startswith("1.05 M")
    # tp shards up's rows and down's columns (down's bias and the norm stay whole on tp); dp
    # then shards every piece in two
    local = BLOCKS * (norm // DP + up // TP // DP + (HIDDEN * WIDTH // TP + WIDTH) // DP)
    assert local == 263_424
    assert _line(printed, "params per device").startswith("263.42 K")
    assert (_line(printed, "world size"), _line(printed, "mesh")) == ("4", "dp=2 tp=2")


def test_every_collective_is_in_the_communication_table(printed: str) -> None:
    rows = {line.split()[0]: line.split() for line in printed.split("Communication\n", 1)[1].splitlines()
            if line.split() and line.split()[0] in ("all_gather", "reduce_scatter", "all_reduce")}
    # per block and step: down's output all-reduced in forward, up's input gradient in backward
    all_reduce = rows["all_reduce"]
    assert all_reduce[1:4] == ["tp", "2", str(2 * BLOCKS)]
    assert " ".join(all_reduce[4:6]) == f"{2 * BLOCKS * 8 * WIDTH * 4 // 1024} KiB"
    assert rows["reduce_scatter"][1:4] == ["dp", "2", str(BLOCKS)]
