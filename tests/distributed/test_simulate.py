"""``simulate``: rank R's shards, FLOPs and figures of a tiny Llama in a fake pp x dp x tp job.

Expected shard sizes are worked out from the config (``tiny_llama``): TP splits a weight's rows
(ColwiseParallel: q/k/v, gate/up, embedding rows, head rows) or columns (RowwiseParallel: o,
down) over tp, then FSDP splits dim 0 of that shard over dp in ``torch.chunk`` pieces.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
import torch.distributed as dist

from tiny_llama import (EMBEDDING, HIDDEN, INTERMEDIATE, KV_WIDTH, LAYER_PARAMS, MODEL_PARAMS, VOCAB, tiny_llama,
                        transformers)

from flopsight.distributed import JobFigures, simulate
from flopsight.distributed.pipeline import DecoderStage
from flopsight.errors import InputError
from flopsight.records.communication import Collective
from flopsight.tree.job import JobProfile
from flopsight.hf import DeviceError

SEQ = 16


def test_tp_then_fsdp_shards_each_weight_over_tp_times_dp() -> None:
    tp, dp = 2, 2
    sim = simulate(tiny_llama(), dp=dp, tp=tp, fsdp=True, rank=3, seq_len=SEQ)
    local = sim.local_params[0]
    layer = "model.layers.1."
    assert local[layer + "self_attn.q_proj.weight"] == HIDDEN * HIDDEN // (tp * dp)  # [64, 64] -> [16, 64]
    assert local[layer + "self_attn.k_proj.weight"] == KV_WIDTH * HIDDEN // (tp * dp)  # [32, 64] -> [8, 64]
    assert local[layer + "self_attn.o_proj.weight"] == HIDDEN * HIDDEN // (tp * dp)  # [64, 64] -> [32, 32]
    assert local[layer + "mlp.down_proj.weight"] == HIDDEN * INTERMEDIATE // (tp * dp)  # [64, 128] -> [32, 64]
    assert local["model.embed_tokens.weight"] == VOCAB * HIDDEN // (tp * dp)  # [256, 64] -> [64, 64]
    assert local["lm_head.weight"] == VOCAB * HIDDEN // (tp * dp)
    # Norms are replicated over tp, so only FSDP splits them: [64] -> [32]
    assert local[layer + "input_layernorm.weight"] == HIDDEN // dp
    # Every weight is split 4 ways but the 5 norms 2 ways: 5 x 16 elements more than a quarter.
    assert sim.figures.rank_stage.local_params == MODEL_PARAMS // 4 + 5 * HIDDEN // 4
    assert sim.figures.rank_stage.params == MODEL_PARAMS


def test_fsdp_splits_dim_0_in_chunks_and_the_last_rank_holds_fewer_rows() -> None:
    # dp = 3: 64 rows -> torch.chunk pieces of ceil(64/3) = 22, 22 and 20 rows
    first = simulate(tiny_llama(), dp=3, fsdp=True, rank=0, seq_len=SEQ).local_params[0]
    last = simulate(tiny_llama(), dp=3, fsdp=True, rank=2, seq_len=SEQ).local_params[0]
    q = "model.layers.0.self_attn.q_proj.weight"
    assert (first[q], last[q]) == (22 * HIDDEN, 20 * HIDDEN)
    # k: 32 rows -> 11, 11, 10
    k = "model.layers.0.self_attn.k_proj.weight"
    assert (first[k], last[k]) == (11 * HIDDEN, 10 * HIDDEN)


def test_data_parallel_without_fsdp_replicates_the_model() -> None:
    sim = simulate(tiny_llama(), dp=2, seq_len=SEQ, backward=True)
    assert sim.figures.rank_stage.local_params == MODEL_PARAMS


def test_a_tied_head_stays_tied_under_tp() -> None:
    tp = 2
    sim = simulate(tiny_llama(tie_word_embeddings=True), tp=tp, seq_len=SEQ)
    assert "lm_head.weight" not in sim.local_params[0]  # one parameter, under the embedding's name
    # the untied model less the head; every weight but the 5 norms split over tp
    assert sim.figures.rank_stage.local_params == (MODEL_PARAMS - EMBEDDING - 5 * HIDDEN) // tp + 5 * HIDDEN


def test_pipeline_stages_add_up_to_the_model() -> None:
    sim = simulate(tiny_llama(), pp=2, seq_len=SEQ)
    first, last = sim.figures.stages
    assert first.params == EMBEDDING + LAYER_PARAMS  # embedding + layer 0
    assert last.params == LAYER_PARAMS + HIDDEN + EMBEDDING  # layer 1 + norm + head
    assert first.params + last.params == MODEL_PARAMS
    assert (first.layers, last.layers) == ((0, 1), (1, 2))
    assert (first.ranks, last.ranks) == ((0, 1), (1, 2))


def test_pipeline_figures_bubble_and_point_to_point_bytes() -> None:
    batch, microbatches, pp = 4, 2, 2
    sim = simulate(tiny_llama(), pp=pp, dp=2, fsdp=True, rank=1, batch_size=batch, microbatches=microbatches,
                   seq_len=SEQ, backward=True)
    figures = sim.figures
    assert figures.bubble_fraction == pytest.approx((pp - 1) / (microbatches + pp - 1))  # 1/3
    # one message: [microbatch 2, seq 16, hidden 64] bfloat16 = 2 * 16 * 64 * 2 bytes
    message = (batch // microbatches) * SEQ * HIDDEN * 2
    first, last = figures.stages
    assert (first.send_forward_bytes, first.send_backward_bytes) == (message, 0)
    assert (last.send_forward_bytes, last.send_backward_bytes) == (0, message)
    # rank 1 is stage 0 (dp coordinate 1); stage 1 is run as the rank with the same coordinate
    assert (first.simulated_rank, last.simulated_rank) == (1, 3)
    assert sim.rank_profile is sim.profiles[0]


def test_default_microbatches_are_one_sequence_each() -> None:
    sim = simulate(tiny_llama(), pp=2, batch_size=3, seq_len=SEQ)
    assert sim.figures.microbatches == 3
    assert sim.figures.bubble_fraction == pytest.approx(1 / 4)  # (2 - 1) / (3 + 2 - 1)


def test_matmul_flops_are_per_rank_batch_under_fsdp() -> None:
    # FSDP all-gathers the weights: each rank multiplies its own batch by the full down_proj.
    batch = 2
    sim = simulate(tiny_llama(), dp=4, fsdp=True, batch_size=batch, seq_len=SEQ, backward=True)
    down = sim.rank_profile.module("model.layers.0.mlp.down_proj")
    # [batch * seq, I] @ [I, H]: 2 FLOPs per MAC
    assert down.forward.flops == 2 * batch * SEQ * INTERMEDIATE * HIDDEN
    # backward: the input's and the weight's gradients, each one product of the same size (down's
    # input feeds nothing else, so no gradient sum is charged here, unlike gate_proj's)
    assert down.backward is not None and down.backward.flops == 2 * 2 * batch * SEQ * INTERMEDIATE * HIDDEN


def test_tp_flops_are_the_local_shards() -> None:
    # ColwiseParallel gate_proj keeps I/tp output columns, RowwiseParallel down_proj H x I/tp
    tp, batch = 2, 2
    sim = simulate(tiny_llama(), tp=tp, batch_size=batch, seq_len=SEQ, backward=True)
    down = sim.rank_profile.module("model.layers.0.mlp.down_proj")
    # [batch * seq, I/tp] @ [I/tp, H], 2 FLOPs per MAC
    assert down.forward.flops == 2 * batch * SEQ * (INTERMEDIATE // tp) * HIDDEN
    assert down.backward.flops == 2 * 2 * batch * SEQ * (INTERMEDIATE // tp) * HIDDEN


def test_the_collectives_of_fsdp_and_tp_by_hand() -> None:
    tp, dp, batch = 2, 2, 2
    sim = simulate(tiny_llama(), dp=dp, tp=tp, fsdp=True, batch_size=batch, seq_len=SEQ, backward=True)
    profile = sim.rank_profile

    def rows(node: Any) -> dict[tuple[str, str, str | None], tuple[int, int]]:
        return {(phase.value, kind.value, profile.process_groups[group].mesh_dim): (t.calls, t.payload_bytes)
                for phase, by_key in node.comm.items() for (kind, group), t in by_key.items()}

    # FSDP gathers a layer's TP shards (q, o: H*H/tp; k, v: 32*H/tp; gate, up, down: I*H/tp;
    # two norms of H, not TP-split) in bf16, and reduce-scatters their gradients, the same size.
    layer_shards = 2 * HIDDEN * HIDDEN // tp + 2 * KV_WIDTH * HIDDEN // tp + 3 * INTERMEDIATE * HIDDEN // tp + 2 * HIDDEN
    assert layer_shards == 18_560
    root_shards = 2 * EMBEDDING // tp + HIDDEN  # embedding and head rows over tp, the final norm
    gathered = (2 * layer_shards + root_shards) * 2
    # TP all-reduces [batch, seq, H] bf16: forward the partial outputs of o and down (and the
    # embedding's), backward the input gradients of q, k, v, gate, up (and the head's).
    activation = batch * SEQ * HIDDEN * 2
    logits = batch * SEQ * VOCAB * 2  # the head's output, all-gathered over tp
    assert rows(profile.root) == {
        ("forward", "all_gather", "dp"): (3, gathered),  # 2 layers and the root's group
        ("forward", "all_reduce", "tp"): (2 * 2 + 1, (2 * 2 + 1) * activation),
        ("forward", "all_gather", "tp"): (1, logits),
        ("backward", "all_gather", "dp"): (3, gathered),  # resharded after forward: gathered again
        ("backward", "reduce_scatter", "dp"): (3, gathered),
        ("backward", "all_reduce", "tp"): (2 * 5 + 1, (2 * 5 + 1) * activation),
    }
    # Layer 0's own: its backward gather is issued earlier, by FSDP's prefetch from layer 1.
    assert rows(profile.module("model.layers.0")) == {
        ("forward", "all_gather", "dp"): (1, layer_shards * 2),
        ("forward", "all_reduce", "tp"): (2, 2 * activation),
        ("backward", "reduce_scatter", "dp"): (1, layer_shards * 2),
        ("backward", "all_reduce", "tp"): (5, 5 * activation),
    }


def test_the_profile_says_where_the_rank_sits() -> None:
    sim = simulate(tiny_llama(), dp=2, tp=2, pp=2, fsdp=True, rank=5, seq_len=SEQ)
    info = sim.rank_profile.distributed
    assert info is not None
    # rank 5 = pp 1 * (2 * 2) + dp 0 * 2 + tp 1
    assert (info.rank, info.world_size, info.backend) == (5, 8, "fake")
    assert info.mesh == {"pp": 2, "dp": 2, "tp": 2}
    assert (info.mesh_coordinate, info.pipeline_stage) == ({"pp": 1, "dp": 0, "tp": 1}, 1)
    # the Profile's own count of the local shards agrees with the model's parameters
    assert sim.rank_profile.local_params == sim.figures.rank_stage.local_params


def test_the_job_has_every_rank_each_standing_for_its_stage() -> None:
    sim = simulate(tiny_llama(), dp=2, pp=2, batch_size=2, seq_len=SEQ, backward=True)
    job = sim.job()
    assert (job.world_size, job.mesh) == (4, {"pp": 2, "dp": 2, "tp": 1})
    assert job.params_of_model == MODEL_PARAMS
    assert job.pipeline_bubble == pytest.approx(1 / 3)  # (2 - 1) / (2 + 2 - 1)
    # ranks 0, 1 run stage 0 (rank 0 simulated), ranks 2, 3 stage 1 (rank 2 simulated)
    assert [r.simulated_as for r in job.ranks] == [None, 0, None, 2]
    per_microbatch = sum(s.forward_flops + s.backward_flops for s in sim.figures.stages)
    assert job.total_flops == 2 * per_microbatch  # two dp ranks per stage, one microbatch each


def test_the_job_sends_each_microbatch_s_hidden_states_between_stages() -> None:
    sim = simulate(tiny_llama(), pp=2, batch_size=2, seq_len=SEQ, backward=True)
    job = sim.job()
    hidden_states = 1 * SEQ * HIDDEN * 2  # one sequence per microbatch, bf16
    first, last = job.ranks[0], job.ranks[1]
    # stage 0 sends its output forward and receives its gradient back; stage 1 the reverse
    assert first.comm[(Collective.SEND, "pp", 2)].to_dict() == {"calls": 1, "payload_bytes": hidden_states,
                                                                 "bus_bytes": hidden_states}
    assert first.comm[(Collective.RECV, "pp", 2)].payload_bytes == hidden_states
    assert last.comm[(Collective.SEND, "pp", 2)].payload_bytes == hidden_states
    assert last.comm[(Collective.RECV, "pp", 2)].payload_bytes == hidden_states
    assert job.microbatches == 2 and job.step_flops == 2 * job.total_flops
    assert JobProfile.from_dict(job.to_dict()).to_dict() == job.to_dict()


def test_pipeline_stage_flops_add_up_to_the_unsplit_run_plus_each_stages_rotary() -> None:
    whole = simulate(tiny_llama(), seq_len=SEQ, backward=True).rank_profile
    split = simulate(tiny_llama(), pp=2, seq_len=SEQ, backward=True)
    # every stage computes the rotary cos/sin of its own layers, as a real pipeline does
    rotary = split.profiles[1].module("model.rotary_emb").forward.flops
    assert sum(s.forward_flops for s in split.figures.stages) == whole.forward.flops + rotary
    backward = whole.backward.flops if whole.backward else 0
    assert sum(s.backward_flops for s in split.figures.stages) == backward


def test_step_flops_count_every_rank_and_microbatch() -> None:
    sim = simulate(tiny_llama(), pp=2, dp=3, batch_size=2, seq_len=SEQ, backward=True)
    figures = sim.figures
    per_microbatch = sum(s.forward_flops + s.backward_flops for s in figures.stages)
    assert figures.step_flops == per_microbatch * 2 * 3  # 2 microbatches on each of the 3 dp ranks


def test_the_process_group_is_gone_after_simulate() -> None:
    hook = sys.excepthook
    simulate(tiny_llama(), dp=2, tp=2, pp=2, fsdp=True, seq_len=SEQ)
    assert not dist.is_initialized()
    assert sys.excepthook is hook  # init_process_group's rank-prefixing hook is removed too


def test_the_process_group_is_gone_when_the_model_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: DecoderStage, **inputs: object) -> None:
        raise RuntimeError("the model failed")

    monkeypatch.setattr(DecoderStage, "forward", broken)
    with pytest.raises(DeviceError, match="the model failed"):
        simulate(tiny_llama(), dp=2, tp=2, fsdp=True, seq_len=SEQ)
    assert not dist.is_initialized()


def test_a_second_simulation_equals_the_first() -> None:
    # Every stage and every call runs in a fresh fake world; DTensor's caches keyed by meshes
    # of an earlier world must not leak into the next one.
    job = {"dp": 2, "tp": 2, "pp": 2, "fsdp": True, "rank": 5, "seq_len": SEQ, "backward": True}
    first = simulate(tiny_llama(), **job)
    simulate(tiny_llama(), dp=2, tp=2, fsdp=True, seq_len=SEQ)
    second = simulate(tiny_llama(), **job)
    assert first.figures == second.figures
    assert [p.to_dict()["root"] for p in first.profiles] == [p.to_dict()["root"] for p in second.profiles]


def test_figures_round_trip_through_plain_data() -> None:
    figures = simulate(tiny_llama(), pp=2, dp=2, seq_len=SEQ, backward=True).figures
    data = figures.to_dict()
    assert data["mesh"] == {"pp": 2, "dp": 2, "tp": 1, "world_size": 4}
    assert JobFigures.from_dict(data) == figures


@pytest.mark.parametrize(("job", "message"), [
    ({"tp": 3}, "does not divide num_attention_heads=4"),
    ({"tp": 4}, "does not divide num_key_value_heads=2"),
    ({"pp": 3}, "pp=3 stages need at least 3 decoder layers"),
    ({"dp": 2, "rank": 2}, "rank must be in 0..1"),
    ({"dp": 0}, "dp must be a positive int"),
    ({"pp": 2, "batch_size": 3, "microbatches": 2}, "microbatches=2 must divide batch_size=3"),
    ({"microbatches": 2}, "microbatches is only used with pp > 1"),
])
def test_a_job_that_does_not_fit_is_refused_in_one_line(job: dict[str, int], message: str) -> None:
    with pytest.raises(InputError, match=message) as refused:
        simulate(tiny_llama(), seq_len=SEQ, **job)  # type: ignore[arg-type]
    assert "\n" not in str(refused.value)
    assert not dist.is_initialized()


def test_a_sequence_past_the_sliding_window_is_refused() -> None:
    windowed = transformers.MistralConfig(hidden_size=HIDDEN, num_attention_heads=4, num_key_value_heads=2,
                                          intermediate_size=INTERMEDIATE, vocab_size=VOCAB, num_hidden_layers=1,
                                          sliding_window=SEQ)
    assert simulate(windowed, seq_len=SEQ).figures.seq_len == SEQ  # within the window: plain causal
    with pytest.raises(InputError, match=f"window {SEQ}"):
        simulate(windowed, seq_len=SEQ + 1)


def test_a_model_without_the_llama_layout_is_refused() -> None:
    from transformers import GPT2Config

    with pytest.raises(InputError, match="Llama-layout decoder"):
        simulate(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64), seq_len=SEQ)
