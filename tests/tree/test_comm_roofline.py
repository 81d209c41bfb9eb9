"""Predicted communication time by hand: bus bytes over NVLink within a node, over the inter-node
bandwidth beyond it; modules add up; the step without and with full overlap; a saved prediction
reads back the same."""

from __future__ import annotations

import json

import pytest

from flopsight import Phase
from flopsight.errors import InputError
from flopsight.records import OpTotals
from flopsight.records.communication import Collective, CommTotals, ProcessGroupInfo, bus_bytes
from flopsight.tree import GpuSpec, ModuleNode, Profile

H100_BF16 = 989.5e12  # NVIDIA H100 SXM dense BF16 FLOP/s
H100_NVLINK = 900e9  # NVLink 4, per GPU, both directions (datasheet)
INTER_NODE = 50e9  # the default: one 400 Gb/s NIC per GPU
S = 256 * 2**20  # a 256 MiB payload
FLOPS = 2 * 8192**3


def comm(kind: Collective, group: str, size: int, payload: int = S, calls: int = 1) -> dict[tuple[Collective, str], CommTotals]:
    return {(kind, group): CommTotals(calls, calls * payload, calls * bus_bytes(kind, payload, size))}


def distributed_profile(world: int = 8, dp: int = 128) -> Profile:
    """A root with a tp all-reduce in forward (8 ranks) and a GEMM child whose backward all-gathers
    over 128 dp ranks."""
    gemm = ModuleNode(name="fc", type="Linear",
                      own_ops={Phase.FORWARD: {"aten.mm": OpTotals(calls=1, macs=FLOPS // 2, flops=FLOPS)}},
                      own_comm={Phase.BACKWARD: comm(Collective.ALL_GATHER, "2", dp)})
    root = ModuleNode(name="", type="Block", own_comm={Phase.FORWARD: comm(Collective.ALL_REDUCE, "1", world)},
                      children=[gemm])
    groups = {"1": ProcessGroupInfo("1", world, tuple(range(world)), "tp"),
              "2": ProcessGroupInfo("2", dp, tuple(range(0, dp * world, world)), "dp")}
    profile = Profile(root=root, process_groups=groups, metadata={"dtype": "torch.bfloat16"})
    profile.root.finalize()
    return profile


def test_an_all_reduce_on_8_ranks_takes_its_bus_bytes_over_nvlink() -> None:
    p = distributed_profile().roofline("h100-sxm")
    assert p.root.roofline is not None
    expected = 2 * 7 / 8 * S / H100_NVLINK  # ring all-reduce: 2(n-1)/n x S per rank's link
    assert p.root.roofline.own_comm_s == {Phase.FORWARD: pytest.approx(expected, rel=1e-12)}
    (tp,) = p.predicted_comm(Phase.FORWARD)
    assert (tp.kind, tp.group, tp.group_size, tp.link) == ("all_reduce", "tp", 8, "NVLink")
    assert tp.predicted_s == pytest.approx(expected, rel=1e-12)


def test_a_128_rank_all_gather_uses_the_inter_node_bandwidth() -> None:
    p = distributed_profile().roofline("h100-sxm")
    expected = 127 / 128 * S / INTER_NODE
    (dp,) = p.predicted_comm(Phase.BACKWARD)
    assert (dp.group, dp.link, dp.link_bytes_per_s) == ("dp", "inter-node", INTER_NODE)
    assert dp.predicted_s == pytest.approx(expected, rel=1e-12)
    fc = p.module("fc").roofline
    assert fc is not None and fc.own_comm_s == fc.comm_s == {Phase.BACKWARD: pytest.approx(expected, rel=1e-12)}


def test_the_options_move_the_node_boundary_and_the_inter_node_bandwidth() -> None:
    p = distributed_profile().roofline("h100-sxm", gpus_per_node=4, inter_node_bytes_per_s=25e9)
    tp = next(c for c in p.predicted_comm() if c.group == "tp")
    assert tp.link == "inter-node" and tp.predicted_s == pytest.approx(2 * 7 / 8 * S / 25e9, rel=1e-12)
    p = distributed_profile().roofline("h100-sxm", gpus_per_node=128)
    assert {c.link for c in p.predicted_comm()} == {"NVLink"}


def test_the_step_states_communication_with_no_overlap_and_full_overlap() -> None:
    p = distributed_profile().roofline("h100-sxm")
    summary = p.prediction
    assert summary is not None
    tp_s, dp_s = 2 * 7 / 8 * S / H100_NVLINK, 127 / 128 * S / INTER_NODE
    compute_s = FLOPS / H100_BF16  # the GEMM is compute-bound
    assert summary.step_s == pytest.approx(compute_s, rel=1e-12)
    assert summary.comm_s == {Phase.FORWARD: pytest.approx(tp_s), Phase.BACKWARD: pytest.approx(dp_s)}
    assert summary.comm_step_s == pytest.approx(tp_s + dp_s, rel=1e-12)
    assert summary.no_overlap_step_s == pytest.approx(compute_s + tp_s + dp_s, rel=1e-12)
    assert summary.full_overlap_step_s == pytest.approx(max(compute_s, tp_s + dp_s), rel=1e-12)
    assert summary.mfu == pytest.approx(1.0)  # MFU stays the compute roofline's
    # own comm seconds add up to the root's inclusive ones
    own = sum(s for n in p.modules() if n.roofline for s in n.roofline.own_comm_s.values())
    assert own == pytest.approx(p.root.roofline.comm_step_s if p.root.roofline else 0, rel=1e-12)


def test_json_keys_end_in_s_and_a_saved_prediction_reads_back_the_same() -> None:
    p = distributed_profile().roofline("h100-sxm")
    data = json.loads(json.dumps(p.to_dict()))
    step = data["roofline"]
    assert step["comm_predicted_s"]["step"] == pytest.approx(p.prediction.comm_step_s if p.prediction else 0)
    assert {"no_overlap_step_s", "full_overlap_step_s"} <= set(step)
    assert step["intra_node_bytes_per_s"] == H100_NVLINK and step["inter_node_bytes_per_s"] == INTER_NODE
    assert set(data["root"]["roofline"]["comm_predicted_s"]) == {"forward", "backward", "step"}
    back = Profile.from_dict(data)
    assert back.prediction == p.prediction
    assert [c.predicted_s for c in back.predicted_comm()] == [c.predicted_s for c in p.predicted_comm()]


def test_a_run_without_collectives_has_no_comm_keys() -> None:
    root = ModuleNode(name="", type="Linear",
                      own_ops={Phase.FORWARD: {"aten.mm": OpTotals(calls=1, macs=FLOPS // 2, flops=FLOPS)}})
    p = Profile(root=root, metadata={"dtype": "bfloat16"})
    p.root.finalize()
    p = p.roofline("h100-sxm")
    assert p.prediction is not None and p.prediction.comm_s == {} and p.predicted_comm() == []
    assert p.prediction.no_overlap_step_s == p.prediction.full_overlap_step_s == p.prediction.step_s
    assert "comm_predicted_s" not in p.to_dict()["roofline"]


def test_a_gpu_without_nvlink_uses_pcie_and_one_with_neither_is_refused() -> None:
    p = distributed_profile(world=4, dp=2).roofline("l40s")  # L40S: no NVLink, PCIe 4.0 x16 64 GB/s
    assert {c.link for c in p.predicted_comm()} == {"PCIe"}
    assert p.prediction is not None and p.prediction.comm_step_s == pytest.approx(
        (2 * 3 / 4 * S + 1 / 2 * S) / 64e9, rel=1e-12)
    bare = GpuSpec("Bare", {"bfloat16": 100.0}, memory_bytes_per_s=1e12)
    with pytest.raises(InputError, match="no NVLink or PCIe"):
        distributed_profile().roofline(bare)


@pytest.mark.parametrize("option", [{"gpus_per_node": 0}, {"gpus_per_node": 2.5}, {"inter_node_bytes_per_s": 0},
                                    {"inter_node_bytes_per_s": float("nan")}])
def test_bad_link_options_are_refused(option: dict[str, float]) -> None:
    with pytest.raises(InputError):
        distributed_profile().roofline("h100-sxm", **option)  # type: ignore[arg-type]


def test_a_fake_process_group_run_is_priced_by_its_group_size() -> None:
    import torch
    import torch.distributed as dist
    import torch.distributed._functional_collectives as funcol
    from torch.testing._internal.distributed.fake_pg import FakeStore

    import flopsight

    class AllReduce(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return funcol.wait_tensor(funcol.all_reduce(x, "sum", dist.group.WORLD))

    world, payload = 4, 1024 * 256 * 4  # a [1024, 256] fp32 tensor
    dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=world)
    try:
        measured = flopsight.profile(AllReduce(), torch.randn(1024, 256))
    finally:
        dist.destroy_process_group()
    bus = 2 * (world - 1) / world * payload
    within = measured.roofline("h100-sxm").prediction
    assert within is not None and within.comm_s == {Phase.FORWARD: pytest.approx(bus / H100_NVLINK, rel=1e-12)}
    across = measured.roofline("h100-sxm", gpus_per_node=2).prediction  # 4 ranks span two nodes of 2
    assert across is not None and across.comm_step_s == pytest.approx(bus / INTER_NODE, rel=1e-12)
    assert across.no_overlap_step_s == pytest.approx(across.step_s + bus / INTER_NODE, rel=1e-12)
