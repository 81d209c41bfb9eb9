"""The oracle of a simulated mesh: the same tiny Llama, parallelized the same way (FSDP 2 x TP 2),
run for real on 4 gloo processes with real CPU tensors; every rank's figures equal what
``simulate`` reports for that rank from one process with a fake process group and fake tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist

from ranks import run_on_ranks
from tiny_llama import tiny_llama

from flopsight.costs.data_movement import is_data_movement
from flopsight.distributed import simulate
from flopsight.tree import Profile
from flopsight.tree.job import comm_rows

DP, TP, SEQ, BATCH = 2, 2, 16, 2


def _figures(profile: Profile) -> dict[str, Any]:
    return {
        "forward": _arithmetic(profile, "forward"),
        "backward": _arithmetic(profile, "backward"),
        "local_params": profile.local_params,
        "comm": sorted((kind.value, label, size, t.calls, t.payload_bytes, t.bus_bytes)
                       for (kind, label, size), t in comm_rows(profile).items()),
    }


def _arithmetic(profile: Profile, phase: str) -> dict[str, int]:
    """A phase's totals over the ops that compute. Copies are left out: on gloo, each FSDP layer's
    backward makes one copy_ (37,120 bytes over the two layers) that the fake process group's
    run does not."""
    totals = [t for op, t in profile.by_op(phase).items() if not is_data_movement(op)]
    return {key: sum(getattr(t, key) for t in totals)
            for key in ("calls", "macs", "flops", "bytes_read", "bytes_written", "masked_flops")}


def _real_rank(rank: int) -> dict[str, Any]:
    import flopsight
    from flopsight.distributed.pipeline import build_stage, split_layers, stage_inputs
    from flopsight.distributed.plans import device_mesh, parallelize
    from flopsight.hf import build_model

    torch.set_num_threads(1)
    model = build_model(tiny_llama(), device="cpu", dtype="bfloat16")
    (plan,) = split_layers(len(model.model.layers), 1)  # type: ignore[arg-type, union-attr]
    stage = build_stage(model, plan)
    stage.train()
    parallelize(stage, device_mesh(1, DP, TP), fsdp=True)
    inputs = stage_inputs(plan, microbatch=BATCH, seq_len=SEQ, hidden_size=int(model.config.hidden_size),
                          dtype=torch.bfloat16, backward=True, token_id=1)
    return _figures(flopsight.profile(stage, kwargs=inputs, backward=True))


@pytest.mark.filterwarnings("ignore:FSDP2-wrapped module")  # the real run's root returns a view
def test_every_simulated_rank_matches_its_real_gloo_rank(tmp_path: Path) -> None:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("needs torch.distributed with gloo")
    real = run_on_ranks(_real_rank, DP * TP, tmp_path)
    # FSDP's gathers and reduce-scatters over dp, TP's all-reduces over tp: something to compare
    assert {(kind, label) for kind, label, *_ in real[0]["comm"]} >= {
        ("all_gather", "dp"), ("reduce_scatter", "dp"), ("all_reduce", "tp")}
    for rank in range(DP * TP):
        simulated = simulate(tiny_llama(), dp=DP, tp=TP, fsdp=True, rank=rank, batch_size=BATCH, seq_len=SEQ,
                             backward=True)
        assert _figures(simulated.rank_profile) == real[rank], f"rank {rank}"
