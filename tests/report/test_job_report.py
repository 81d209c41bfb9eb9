"""report/job.py: a whole job's summary, per-rank table and communication table, by hand."""

from __future__ import annotations

import json

import pytest
from distributed_profiles import MiB, collective, node, rank_profile, size_of, table

from flopsight.errors import InputError
from flopsight.records import Phase
from flopsight.records.communication import Collective, ProcessGroupInfo
from flopsight.report import render_job, render_job_json
from flopsight.tree import Profile
from flopsight.tree.job import JobProfile

AR, AG, RS = Collective.ALL_REDUCE, Collective.ALL_GATHER, Collective.REDUCE_SCATTER
# A 2 (dp) x 4 (tp) job: one Linear of 4,096 x 1,024 parameters, split 4 ways by tp and each
# tp shard again 2 ways by FSDP over dp, so each rank holds 4,194,304 / 8 = 524,288 of them.
PARAMS, LOCAL = 4096 * 1024, 4096 * 1024 // 8
FWD, BWD = 1_000_000, 2_000_000  # each rank's matmul FLOPs
S_TP, S_DP = 8 * MiB, 2 * MiB  # the tp all-reduce of the output, the dp all-gather of the weight


def summary_rows(text: str) -> dict[str, str]:
    body = text.split("Job summary\n-----------\n")[1].split("\n\n")[0]
    return {label: value.strip() for label, _, value in (line.partition(":") for line in body.splitlines())}


def tp_rank(rank: int, *, fwd: int = FWD, world: int = 8, mesh: dict[str, int] | None = None) -> Profile:
    mesh = mesh or {"dp": 2, "tp": 4}
    tp = mesh["tp"]
    dp_index, tp_index = divmod(rank, tp)
    groups = {"tp": ProcessGroupInfo("tp", tp, tuple(range(dp_index * tp, dp_index * tp + tp)), "tp"),
              "dp": ProcessGroupInfo("dp", mesh["dp"], tuple(range(tp_index, world, tp)), "dp")}
    linear = node("proj", "Linear", params=PARAMS, local_params=LOCAL, fwd_flops=fwd, bwd_flops=BWD,
                  comm={Phase.FORWARD: {(AR, "tp"): collective(AR, S_TP, tp), (AG, "dp"): collective(AG, S_DP, 2)}})
    return rank_profile(rank, node("", "TP", children=[linear]), groups, world=world, mesh=mesh)


def tp_job() -> JobProfile:
    return JobProfile.from_profiles(tp_rank(r) for r in range(8))


def test_the_summary_is_deepspeeds_with_sums_over_ranks() -> None:
    rows = summary_rows(render_job(tp_job(), unit="", param_unit=""))
    assert rows["world size"] == "8"
    assert rows["mesh"] == "dp=2 tp=4"
    assert rows["data parallel size"] == "2" and rows["model parallel size"] == "4"
    assert rows["tensor parallel size"] == "4" and "pipeline parallel size" not in rows
    # 524,288 float32 elements = 2 MiB on rank 0.
    assert rows["params per device"] == "524288 (2 MiB)"
    # DeepSpeed's params per device x mp_size = 524,288 x 4 = 2,097,152: half the model, as
    # FSDP also splits each tp shard over the 2 dp ranks.
    assert rows["params of model (global unique)"] == "4194304 (DeepSpeed's params per device * mp_size: 2097152)"
    assert rows["fwd MACs per device"] == "500000 MACs"  # FWD / 2
    assert rows["fwd flops per device"] == "1000000 FLOPs"
    assert rows["bwd flops per device"] == "2000000 FLOPs"
    assert rows["fwd flops of model (sum over ranks)"] == "8000000 FLOPs"  # 8 ranks x FWD
    assert rows["fwd+bwd flops of model (sum over ranks)"] == "24000000 FLOPs"  # 8 x (FWD + BWD)
    # all-reduce of 8 MiB in 4 ranks: 1.5 x 8 = 12 MiB; all-gather of 2 MiB in 2: 1/2 x 2 = 1 MiB.
    assert rows["communication per device (bus bytes)"] == "13 MiB (2 calls, payload 10 MiB)"
    assert "simulated" not in rows and "pipeline bubble" not in rows


def test_deepspeeds_formula_is_not_repeated_where_it_holds() -> None:
    # Tensor parallel only: each rank holds a quarter, and a quarter x 4 is the model.
    profiles = []
    for rank in range(4):
        linear = node("proj", "Linear", params=PARAMS, local_params=PARAMS // 4, fwd_flops=FWD)
        profiles.append(rank_profile(rank, node("", "TP", children=[linear]), {}, world=4, mesh={"tp": 4}))
    rows = summary_rows(render_job(JobProfile.from_profiles(profiles), param_unit=""))
    assert rows["params of model (global unique)"] == "4194304"
    assert rows["data parallel size"] == "1" and rows["model parallel size"] == "4"


def test_identical_ranks_collapse_and_the_total_row_sums_every_rank() -> None:
    rows = table(render_job(tp_job(), unit="", param_unit=""), "Per rank")
    assert [r["rank"] for r in rows] == ["0-7 (all identical)", "all ranks"]
    one, total = rows
    assert one["mesh"] == "dp0-1 tp0-3"
    assert (one["local params"], one["param bytes"], one["fwd FLOPs"], one["bwd FLOPs"]) == (
        "524288", "2 MiB", "1000000 FLOPs", "2000000 FLOPs")
    assert (one["payload"], one["bus bytes"]) == ("10 MiB", "13 MiB")
    # 8 ranks: 8 x 524,288 = 4,194,304 elements (16 MiB), 8 x 13 = 104 MiB on the links.
    assert (total["local params"], total["param bytes"], total["fwd FLOPs"]) == ("4194304", "16 MiB", "8000000 FLOPs")
    assert (total["payload"], total["bus bytes"]) == ("80 MiB", "104 MiB")


def test_a_rank_that_differs_splits_the_run_and_the_columns_still_add_up() -> None:
    job = JobProfile.from_profiles(tp_rank(r, fwd=FWD + 500 if r == 5 else FWD) for r in range(8))
    rows = table(render_job(job, unit=""), "Per rank")
    assert [(r["rank"], r["mesh"]) for r in rows] == [
        ("0-4 (5 identical)", "dp0-1 tp0-3"), ("5", "dp1 tp1"), ("6-7 (2 identical)", "dp1 tp2-3"), ("all ranks", "")]
    counts = [5, 1, 2]
    flops = [int(r["fwd FLOPs"].split()[0]) for r in rows[:3]]
    assert flops == [FWD, FWD + 500, FWD]
    assert sum(n * f for n, f in zip(counts, flops)) == int(rows[3]["fwd FLOPs"].split()[0]) == 8 * FWD + 500
    assert sum(n * size_of(r["bus bytes"]) for n, r in zip(counts, rows)) == size_of(rows[3]["bus bytes"])


def test_1024_simulated_ranks_are_one_row() -> None:
    mesh = {"dp": 256, "tp": 4}
    job = JobProfile.from_profiles([tp_rank(0, world=1024, mesh=mesh)], world_size=1024,
                                   stand_ins={rank: 0 for rank in range(1, 1024)})
    text = render_job(job, unit="")
    rows = table(text, "Per rank")
    assert [(r["rank"], r["mesh"]) for r in rows] == [("0-1023 (all identical)", "dp0-255 tp0-3"), ("all ranks", "")]
    assert rows[1]["fwd FLOPs"] == f"{1024 * FWD} FLOPs"
    summary = summary_rows(text)
    assert summary["simulated"].startswith("one rank per stage (1 of 1024 ranks measured;")
    assert summary["data parallel size"] == "256"


def test_at_most_max_ranks_rows_then_a_count_of_the_rest() -> None:
    # Twenty ranks, no two alike: every rank is its own row.
    job = JobProfile.from_profiles(tp_rank(r, fwd=FWD + r, world=20, mesh={"dp": 5, "tp": 4}) for r in range(20))
    rows = table(render_job(job, unit=""), "Per rank")
    assert [r["rank"] for r in rows[:16]] == [str(r) for r in range(16)]
    assert rows[16] == {"note": "... 4 more ranks (4 rows; max_ranks=None shows them)"}
    # The total is of all twenty: 20 x FWD + (0 + 1 + ... + 19) = 20 x FWD + 190.
    assert rows[17]["rank"] == "all ranks" and rows[17]["fwd FLOPs"] == f"{20 * FWD + 190} FLOPs"
    every = table(render_job(job, unit="", max_ranks=None), "Per rank")
    assert len(every) == 21
    assert len(table(render_job(job, max_ranks=2), "Per rank")) == 4


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_bad_max_ranks_is_refused(bad: object) -> None:
    with pytest.raises(InputError, match="max_ranks"):
        render_job(tp_job(), max_ranks=bad)  # type: ignore[arg-type]


def test_the_communication_table_gives_rank_0_and_the_job() -> None:
    job = tp_job()
    text = render_job(job)
    rows = table(text, "Collectives of rank 0, and of all ranks (job columns):")
    shown = [tuple(r.values()) for r in rows]
    assert shown == [
        # per rank: 1 call of 8 MiB, bus 1.5 x 8 = 12 MiB; job: 8 ranks x that.
        ("all_reduce", "tp", "4", "1", "8 MiB", "12 MiB", "8", "64 MiB", "96 MiB"),
        # per rank: 1 call of 2 MiB, bus 1/2 x 2 = 1 MiB; job: 8 ranks x that.
        ("all_gather", "dp", "2", "1", "2 MiB", "1 MiB", "8", "16 MiB", "8 MiB"),
        ("total", "", "", "2", "10 MiB", "13 MiB", "16", "80 MiB", "104 MiB"),
    ]
    assert sum(t.bus_bytes for t in job.communication().values()) == 104 * MiB


def pipelined_job() -> JobProfile:
    """Two stages of two data-parallel ranks (mesh pp=2 x dp=2), simulated: rank 0 stands for
    stage 0 (ranks 0, 1), rank 2 for stage 1 (ranks 2, 3)."""
    mesh = {"pp": 2, "dp": 2}
    profiles = []
    for rank, params in ((0, 3000), (2, 1000)):
        stage = rank // 2
        groups = {"dp": ProcessGroupInfo("dp", 2, (rank, rank + 1), "dp"), "pp": ProcessGroupInfo("pp", 2, (0, 2), "pp")}
        kind, group = (Collective.SEND, "pp") if stage == 0 else (AR, "dp")
        layer = node(f"stage{stage}", "Stage", params=params, fwd_flops=100 * (stage + 1),
                     comm={Phase.FORWARD: {(kind, group): collective(kind, MiB, 2)}})
        profiles.append(rank_profile(rank, node("", "PP", children=[layer]), groups, world=4, mesh=mesh,
                                     stage=stage, backend="fake"))
    return JobProfile.from_profiles(profiles, stand_ins={1: 0, 3: 2}, pipeline_bubble=0.25)


def test_a_pipelined_simulated_job_by_stage() -> None:
    text = render_job(pipelined_job(), unit="", param_unit="")
    summary = summary_rows(text)
    assert summary["backend"] == "fake (a simulated job)"
    assert summary["pipeline parallel size"] == "2" and summary["model parallel size"] == "2"
    assert summary["params of model (global unique)"].startswith("4000")  # stage 0's 3,000 + stage 1's 1,000
    assert summary["simulated"].startswith("one rank per stage (2 of 4 ranks measured;")
    assert summary["pipeline bubble"] == "25% of a step each stage idles"
    ranks = table(text, "Per rank")
    assert [(r["rank"], r["mesh"], r["stage"], r["fwd FLOPs"]) for r in ranks] == [
        ("0-1 (2 identical)", "pp0 dp0-1", "0", "100 FLOPs"), ("2-3 (2 identical)", "pp1 dp0-1", "1", "200 FLOPs"),
        ("all ranks", "", "", "600 FLOPs"),  # 2 x 100 + 2 x 200
    ]
    comm = table(text, "Collectives of the first rank of each stage, and of all the stage's ranks (job columns):")
    assert [tuple(r.values()) for r in comm] == [
        # a send moves its payload: 1 MiB per call; the all-reduce 2 x 1/2 x 1 MiB = 1 MiB too.
        ("0", "send", "pp", "2", "1", "1 MiB", "1 MiB", "2", "2 MiB", "2 MiB"),
        ("1", "all_reduce", "dp", "2", "1", "1 MiB", "1 MiB", "2", "2 MiB", "2 MiB"),
        ("total", "", "", "", "", "", "", "4", "4 MiB", "4 MiB"),
    ]


def test_a_job_renders_the_same_after_a_json_round_trip() -> None:
    for job in (tp_job(), pipelined_job()):
        again = JobProfile.from_dict(json.loads(render_job_json(job)))
        assert again.to_dict() == job.to_dict()
        assert render_job(again) == render_job(job)


def test_a_job_with_no_collectives_has_no_communication_table() -> None:
    profiles = [rank_profile(r, node("", "M", params=8, fwd_flops=10), {}, world=2, mesh={"dp": 2}) for r in range(2)]
    text = render_job(JobProfile.from_profiles(profiles), unit="")
    assert "Communication" not in text and "communication per device" not in text
    assert table(text, "Per rank")[0]["rank"] == "0-1 (all identical)"
    assert "payload" not in text.split("Per rank")[1]


def test_ranks_that_differ_in_their_collectives_are_named_and_all_counted() -> None:
    profiles = [tp_rank(r) for r in range(8)]
    # Rank 3 alone broadcasts 1 MiB to its tp group (a broadcast's bus bytes are its payload).
    extra = profiles[3].module("proj").own_comm[Phase.FORWARD]
    extra[(Collective.BROADCAST, "tp")] = collective(Collective.BROADCAST, MiB, 4)
    profiles[3] = Profile.from_dict(profiles[3].to_dict())  # sums the edited node again
    text = render_job(JobProfile.from_profiles(profiles))
    rows = table(text, "Collectives of rank 0, and of all ranks (job columns):")
    broadcast = next(r for r in rows if r["collective"] == "broadcast")
    assert (broadcast["calls"], broadcast["bus bytes"], broadcast["job calls"], broadcast["job bus bytes"]) == (
        "0", "0 B", "1", "1 MiB")
    assert rows[-1]["job bus bytes"] == "105 MiB"  # 8 x 13 MiB + 1 MiB
    assert "ranks of the job differ in their collectives: the per-rank columns are rank 0's" in text
