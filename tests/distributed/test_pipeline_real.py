"""A real 2-stage pipeline (torch.distributed.pipelining, GPipe, 2 microbatches, 2 gloo ranks)
against the simulated plan: each stage's FLOPs are the microbatches times the simulated
per-microbatch figures, and its sends and receives are the hidden states and their gradients."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from ranks import run_on_ranks
from tiny_llama import HIDDEN, tiny_llama

from flopsight.distributed import simulate
from flopsight.records.communication import Collective
from flopsight.tree.job import RankFigures

SEQ, BATCH, MICROBATCHES, F32 = 16, 2, 2, 4


class _Positional(nn.Module):
    """PipelineStage hands a stage its input positionally; the stage takes it by name."""

    def __init__(self, stage: nn.Module, first: bool) -> None:
        super().__init__()
        self.stage, self.first = stage, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage(input_ids=x) if self.first else self.stage(hidden_states=x)


def _pipeline_rank(rank: int) -> dict[str, Any]:
    import flopsight
    from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

    from flopsight.distributed.pipeline import build_stage, split_layers
    from flopsight.hf import build_model

    torch.manual_seed(0)
    model = build_model(tiny_llama(), dtype="float32")
    plan = split_layers(len(model.model.layers), 2)[rank]  # type: ignore[arg-type,union-attr]
    module = _Positional(build_stage(model, plan), first=rank == 0)
    module.to_empty(device="cpu")
    for parameter in module.parameters():
        nn.init.normal_(parameter, std=0.02)
    schedule = ScheduleGPipe(PipelineStage(module, rank, 2, torch.device("cpu")), n_microbatches=MICROBATCHES,
                             loss_fn=lambda out, target: out.float().sum())

    def step() -> None:
        if rank == 0:
            schedule.step(torch.ones(BATCH, SEQ, dtype=torch.long))
        else:
            schedule.step(target=torch.zeros(BATCH))

    step()  # the first step also exchanges the stages' shapes
    profiler = flopsight.FlopsProfiler(module, timing_repeat=0)
    profiler.start_profile()
    step()
    profiler.stop_profile()
    return RankFigures.of(profiler.profile).to_dict()


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> list[RankFigures]:
    results = run_on_ranks(functools.partial(_pipeline_rank), 2, tmp_path_factory.mktemp("pipeline"))
    return [RankFigures.from_dict(r) for r in results]


def test_each_stage_runs_the_simulated_microbatch_twice(real: list[RankFigures]) -> None:
    sim = simulate(tiny_llama(), pp=2, batch_size=BATCH, seq_len=SEQ, backward=True, dtype="float32")
    for rank, stage in enumerate(sim.figures.stages):
        assert real[rank].forward.flops == MICROBATCHES * stage.forward_flops
        assert real[rank].backward.flops == MICROBATCHES * stage.backward_flops


def test_the_stages_send_hidden_states_forward_and_gradients_back(real: list[RankFigures]) -> None:
    hidden_states = 1 * SEQ * HIDDEN * F32  # one sequence per microbatch
    sim = simulate(tiny_llama(), pp=2, batch_size=BATCH, seq_len=SEQ, backward=True, dtype="float32")
    job = sim.job()
    for rank in range(2):
        moved = {kind: (t.calls, t.payload_bytes) for (kind, _, _), t in real[rank].comm.items()}
        assert moved == {Collective.SEND: (MICROBATCHES, MICROBATCHES * hidden_states),
                         Collective.RECV: (MICROBATCHES, MICROBATCHES * hidden_states)}
        simulated = {kind: (t.calls * job.microbatches, t.payload_bytes * job.microbatches)
                     for (kind, _, _), t in job.ranks[rank].comm.items()}
        assert simulated == moved
