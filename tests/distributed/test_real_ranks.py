"""Real 2- and 4-process gloo runs: each rank's figures by hand, the gathered job, and the
fake-process-group simulation of the same configuration, rank by rank.

Every expected number is derived here from the shapes in ``parallel_models``:
MLP Linear(16, 32) -> ReLU -> Linear(32, 8) on a [4, 16] batch, fp32 (4 bytes); attention
q/k/v/o Linear(32, 32) with 4 heads of 8 on [4, 8, 32]. The input does not require grad, so
the first layer's backward is its weight gradient only.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from parallel_models import BATCH, FEATURES, HEADS, HIDDEN, OUT, SEQ, WIDTH, profile_config  # noqa: E402
from ranks import run_on_ranks  # noqa: E402

import flopsight  # noqa: E402
from flopsight.distributed import fake_world  # noqa: E402
from flopsight.records.communication import Collective  # noqa: E402
from flopsight.tree.job import JobProfile, RankFigures  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # FSDP2 warns of view outputs

TWO_RANK_CONFIGS = ("ddp", "fsdp", "fsdp_no_reshard", "fsdp1", "tp_mlp", "tp_attention")
# FSDP1 and DDP are not simulated: FSDP1 builds its FlatParameters from real storage, and DDP's
# reducer fails on the fake backend (below)
SIMULATED_TWO_RANK_CONFIGS = ("ddp", "fsdp", "fsdp_no_reshard", "tp_mlp", "tp_attention")
FOUR_RANK_CONFIGS = ("fsdp_tp", "fsdp", "tp_mlp")
F32 = 4
MLP_PARAMS = FEATURES * HIDDEN + HIDDEN + HIDDEN * OUT + OUT  # 808
MLP_FWD_MACS = BATCH * FEATURES * HIDDEN + BATCH * HIDDEN * OUT  # 2048 + 1024
# weight grad of layer 0, input grad and weight grad of layer 2
MLP_BWD_MACS = BATCH * FEATURES * HIDDEN + 2 * BATCH * HIDDEN * OUT


def _every_config(names: tuple[str, ...], rank: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    found: dict[str, Any] = {}
    for name in names:
        profile = profile_config(name, "cpu", memory=True)
        job = flopsight.gather(profile)
        found[name] = {"rank": RankFigures.of(profile).to_dict(), "job": None if job is None else job.to_dict(),
                       "profile": profile.to_dict()}
    return found


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return run_on_ranks(functools.partial(_every_config, TWO_RANK_CONFIGS), 2, tmp_path_factory.mktemp("two"))


@pytest.fixture(scope="module")
def four_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return run_on_ranks(functools.partial(_every_config, FOUR_RANK_CONFIGS), 4, tmp_path_factory.mktemp("four"))


def _figures(results: list[dict[str, Any]], name: str, rank: int) -> RankFigures:
    return RankFigures.from_dict(results[rank][name]["rank"])


def _comm(figures: RankFigures) -> dict[tuple[str, str, int], tuple[int, int, float]]:
    return {(kind.value, label, size): (t.calls, t.payload_bytes, t.bus_bytes)
            for (kind, label, size), t in figures.comm.items()}


def test_ddp_every_rank_holds_the_whole_model_and_all_reduces_its_gradients(two_ranks: list[dict[str, Any]]) -> None:
    for rank in range(2):
        figures = _figures(two_ranks, "ddp", rank)
        assert (figures.params, figures.local_params, figures.local_param_bytes) == (MLP_PARAMS, MLP_PARAMS, MLP_PARAMS * F32)
        assert (figures.forward.macs, figures.backward.macs) == (MLP_FWD_MACS, MLP_BWD_MACS)
        payload = MLP_PARAMS * F32  # every gradient, in however many buckets
        (calls, moved, bus), = [v for k, v in _comm(figures).items() if k[:2] == ("all_reduce", "dp")]
        assert (moved, bus) == (payload, 2 * (2 - 1) / 2 * payload)


@pytest.mark.parametrize("world", [2, 4])
def test_fsdp2_shards_every_parameter_and_gathers_them_back(two_ranks: list[dict[str, Any]],
                                                            four_ranks: list[dict[str, Any]], world: int) -> None:
    results = two_ranks if world == 2 else four_ranks
    # FSDP2 shards dim 0 of each parameter: [32, 16] -> [32/n, 16], [32] -> [32/n], [8, 32] -> [8/n, 32], [8] -> [8/n]
    first_shard = HIDDEN // world * FEATURES + HIDDEN // world
    root_shard = OUT // world * HIDDEN + OUT // world
    for rank in range(world):
        figures = _figures(results, "fsdp", rank)
        assert (figures.params, figures.local_params) == (MLP_PARAMS, first_shard + root_shard)
        assert figures.local_param_bytes == (first_shard + root_shard) * F32
        assert (figures.forward.macs, figures.backward.macs) == (MLP_FWD_MACS, MLP_BWD_MACS)
        gathered_first, gathered_root = world * first_shard * F32, world * root_shard * F32
        # forward: layer 0's group and the root's; backward: layer 0's again (resharded after
        # forward; the root keeps its parameters); reduce-scatter: every gradient once
        all_gather = gathered_first + gathered_root + gathered_first
        reduce_scatter = gathered_first + gathered_root
        scale = (world - 1) / world
        assert _comm(figures) == {("all_gather", "dp", world): (3, all_gather, scale * all_gather),
                                  ("reduce_scatter", "dp", world): (2, reduce_scatter, scale * reduce_scatter)}


@pytest.mark.parametrize("name", TWO_RANK_CONFIGS)
def test_each_rank_holds_the_bytes_of_its_own_shards(two_ranks: list[dict[str, Any]], name: str) -> None:
    for rank in range(2):
        profile = flopsight.Profile.from_dict(two_ranks[rank][name]["profile"])
        assert profile.memory is not None
        assert profile.memory.parameter_bytes == profile.local_param_bytes
        assert profile.memory.peak_bytes >= profile.local_param_bytes + profile.memory.activation_bytes


def test_fsdp2_frees_a_layers_gathered_parameters_after_its_forward() -> None:
    """FSDP2 frees the unsharded parameters by resizing their storage to 0: with reshard after
    forward, layer 0's gathered weight and bias are not held once the forward ends. (On the fake
    backend, whose collectives complete at once: gloo's worker thread drops its buffers when it
    is done, at a moment of its own.)"""
    held = {}
    for name in ("fsdp", "fsdp_no_reshard"):
        with fake_world(2, 0):
            memory = profile_config(name, "cpu", memory=True).memory
        assert memory is not None
        held[name] = memory.activation_bytes
    assert held["fsdp_no_reshard"] - held["fsdp"] == (HIDDEN * FEATURES + HIDDEN) * F32


def test_fsdp1_flat_parameters_count_their_shard_and_their_originals(two_ranks: list[dict[str, Any]]) -> None:
    first, last = HIDDEN * FEATURES + HIDDEN, OUT * HIDDEN + OUT  # each Linear's FlatParameter
    for rank in range(2):
        figures = _figures(two_ranks, "fsdp1", rank)
        assert (figures.params, figures.local_params) == (MLP_PARAMS, first // 2 + last // 2)
        assert (figures.forward.macs, figures.backward.macs) == (MLP_FWD_MACS, MLP_BWD_MACS)
        # FSDP1 reshards every unit after forward and gathers each again in backward
        gathered = 2 * (first + last) * F32
        scattered = (first + last) * F32
        assert _comm(figures) == {("all_gather", "dp", 2): (4, gathered, gathered / 2),
                                  ("reduce_scatter", "dp", 2): (2, scattered, scattered / 2)}


def test_fsdp2_without_reshard_after_forward_gathers_once(two_ranks: list[dict[str, Any]]) -> None:
    figures = _figures(two_ranks, "fsdp_no_reshard", 0)
    first, root = HIDDEN * FEATURES + HIDDEN, OUT * HIDDEN + OUT
    assert _comm(figures)[("all_gather", "dp", 2)] == (2, (first + root) * F32, (first + root) * F32 / 2)


@pytest.mark.parametrize("world", [2, 4])
def test_tensor_parallel_mlp_counts_each_ranks_local_matmuls(two_ranks: list[dict[str, Any]],
                                                             four_ranks: list[dict[str, Any]], world: int) -> None:
    results = two_ranks if world == 2 else four_ranks
    local_hidden = HIDDEN // world
    # colwise: weight [32/n, 16] and bias [32/n]; rowwise: weight [8, 32/n], its bias [8] replicated
    local = local_hidden * FEATURES + local_hidden + OUT * local_hidden + OUT
    for rank in range(world):
        figures = _figures(results, "tp_mlp", rank)
        assert (figures.params, figures.local_params) == (MLP_PARAMS, local)
        assert figures.forward.macs == BATCH * FEATURES * local_hidden + BATCH * local_hidden * OUT
        assert figures.backward.macs == BATCH * FEATURES * local_hidden + 2 * BATCH * local_hidden * OUT
        partial_sums = BATCH * OUT * F32  # the rowwise layer's output, all-reduced once
        assert _comm(figures) == {("all_reduce", "tp", world): (1, partial_sums, 2 * (world - 1) / world * partial_sums)}


def test_tensor_parallel_attention_runs_each_ranks_heads(two_ranks: list[dict[str, Any]]) -> None:
    world, head_dim = 2, WIDTH // HEADS
    local_width, local_heads = WIDTH // world, HEADS // world
    tokens = BATCH * SEQ
    projections = 3 * tokens * WIDTH * local_width + tokens * local_width * WIDTH
    scores_and_mix = 2 * BATCH * local_heads * SEQ * SEQ * head_dim  # Q K^T and P V
    for rank in range(world):
        figures = _figures(two_ranks, "tp_attention", rank)
        assert figures.local_params == 4 * WIDTH * local_width
        assert figures.forward.macs == projections + scores_and_mix
        output = tokens * WIDTH * F32
        assert _comm(figures) == {("all_reduce", "tp", world): (1, output, output)}


def test_fsdp_by_tensor_parallel_on_a_two_by_two_mesh(four_ranks: list[dict[str, Any]]) -> None:
    dp = tp = 2
    local_hidden = HIDDEN // tp
    # tensor parallel first, then FSDP shards dim 0 of each local piece over dp
    first_shard = local_hidden // dp * FEATURES + local_hidden // dp
    root_shard = OUT // dp * local_hidden + OUT // dp
    for rank in range(4):
        figures = _figures(four_ranks, "fsdp_tp", rank)
        assert figures.mesh_coordinate == {"dp": rank // tp, "tp": rank % tp}
        assert (figures.params, figures.local_params) == (MLP_PARAMS, first_shard + root_shard)
        assert figures.forward.macs == BATCH * FEATURES * local_hidden + BATCH * local_hidden * OUT
        gathered_first, gathered_root = dp * first_shard * F32, dp * root_shard * F32
        all_gather = 2 * gathered_first + gathered_root
        reduce_scatter = gathered_first + gathered_root
        partial_sums = BATCH * OUT * F32
        assert _comm(figures) == {
            ("all_gather", "dp", dp): (3, all_gather, all_gather / 2),
            ("reduce_scatter", "dp", dp): (2, reduce_scatter, reduce_scatter / 2),
            ("all_reduce", "tp", tp): (1, partial_sums, partial_sums),
        }


def _single_process(name: str) -> Any:
    """The unsharded model in this process, no torch.distributed."""
    from parallel_models import attention, inputs, mlp

    model = attention("cpu") if name == "tp_attention" else mlp("cpu")
    return flopsight.profile(model, torch.randn(inputs(name)), backward=True)


@pytest.mark.parametrize("name", TWO_RANK_CONFIGS)
def test_gathered_job_totals_equal_the_unsharded_model(two_ranks: list[dict[str, Any]], name: str) -> None:
    job = JobProfile.from_dict(two_ranks[0][name]["job"])
    assert two_ranks[1][name]["job"] is None  # only rank 0 receives
    assert [r.rank for r in job.ranks] == [0, 1]
    single = _single_process(name)
    assert job.params_of_model == single.params
    replicas = 1 if name.startswith("tp") else 2  # data parallel ranks each run a whole batch
    assert job.forward.macs == replicas * single.forward.macs
    assert job.backward.macs == replicas * single.backward.macs
    assert sum(r.local_params for r in job.ranks) == single.params * (2 if name == "ddp" else 1) + (
        OUT if name == "tp_mlp" else 0)  # the rowwise bias is replicated on both ranks


def test_gathered_job_names_the_mesh(four_ranks: list[dict[str, Any]]) -> None:
    job = JobProfile.from_dict(four_ranks[0]["fsdp_tp"]["job"])
    assert (job.world_size, job.mesh, job.backend) == (4, {"dp": 2, "tp": 2}, "gloo")
    assert (job.data_parallel_size, job.model_parallel_size) == (2, 2)


def _simulated(name: str, rank: int, world: int) -> RankFigures:
    with fake_world(world, rank):
        return RankFigures.of(profile_config(name, "meta", memory=True))


DDP_ON_FAKE = pytest.mark.xfail(strict=True, raises=RuntimeError, reason=(
    "torch itself: DDP's C++ reducer asserts on the fake backend's all-reduce future (its result is None: "
    "'expected the hook result is either a Tensor or a TensorList found None', c10d/comm.cpp)"))


@pytest.mark.parametrize("name", [pytest.param(n, marks=DDP_ON_FAKE) if n == "ddp" else n
                                  for n in SIMULATED_TWO_RANK_CONFIGS])
def test_fake_process_group_simulation_equals_the_real_two_rank_run(two_ranks: list[dict[str, Any]], name: str) -> None:
    for rank in range(2):
        _same_rank(_figures(two_ranks, name, rank), _simulated(name, rank, 2), name)


@pytest.mark.parametrize("name", FOUR_RANK_CONFIGS)
def test_fake_process_group_simulation_equals_the_real_four_rank_run(four_ranks: list[dict[str, Any]], name: str) -> None:
    for rank in (0, 3):
        _same_rank(_figures(four_ranks, name, rank), _simulated(name, rank, 4), name)


def _same_rank(real: RankFigures, simulated: RankFigures, name: str) -> None:
    """Every figure equal, the peak memory too where no collective runs asynchronously. Under
    FSDP the gloo run's peak is not compared: gloo's reduce-scatter copies its input while it
    runs (a CPU allocation NCCL, which the simulation stands for, does not make), and gloo's
    worker thread releases the buffers of its asynchronous gathers when it is done, at a moment
    of its own, so that peak differs from run to run."""
    assert real.peak_memory_bytes is not None and simulated.peak_memory_bytes is not None
    if name.startswith("fsdp"):
        real.peak_memory_bytes = simulated.peak_memory_bytes = None
    assert simulated.to_dict() == real.to_dict()


def test_collectives_are_attributed_to_the_module_and_phase_that_issued_them(two_ranks: list[dict[str, Any]]) -> None:
    profile = flopsight.Profile.from_dict(two_ranks[0]["fsdp"]["profile"])
    issued = {(node.name, phase.value, kind.value): t.calls for node in profile.modules()
              for phase, per_key in node.own_comm.items() for (kind, _), t in per_key.items()}
    # layer 0's group is gathered as it enters; the root's as the model enters
    assert issued[("0", "forward", "all_gather")] == 1
    assert issued[("", "forward", "all_gather")] == 1
    # in backward, layer 0's group is gathered again, prefetched by FSDP2 while the autograd
    # node of the last layer runs; gradients are reduce-scattered
    backward_gathers = {name for name, phase, kind in issued if phase == "backward" and kind == "all_gather"}
    assert backward_gathers == {"2"}
    assert sum(calls for (_, phase, kind), calls in issued.items() if kind == "reduce_scatter" and phase == "backward") == 2
    assert sum(t.calls for t in profile.communication().values()) == 5
