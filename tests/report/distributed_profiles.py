"""Hand-built profiles of ranks of a distributed run, and a reader for the reports' tables.

No torch: the nodes, collectives and mesh are written out, so every figure a test expects is
arithmetic on the numbers here.
"""

from __future__ import annotations

from flopsight.records import OpTotals, Phase
from flopsight.records.communication import Collective, CommTotals, ProcessGroupInfo, bus_bytes
from flopsight.records.distributed import DistributedInfo
from flopsight.tree import ModuleNode, Profile

MiB = 2**20
UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def collective(kind: Collective, payload: int, group_size: int, calls: int = 1) -> CommTotals:
    """``calls`` calls of ``kind``, each of ``payload`` bytes, priced by the records' NCCL rule."""
    return CommTotals(calls, calls * payload, calls * bus_bytes(kind, payload, group_size))


def node(name: str, type_name: str, *, params: int = 0, local_params: int | None = None, fwd_flops: int = 0,
         bwd_flops: int = 0, comm: dict[Phase, dict[tuple[Collective, str], CommTotals]] | None = None,
         children: list[ModuleNode] | None = None) -> ModuleNode:
    """A module with ``params`` float32 parameters (``local_params`` of them on this rank) and one
    matmul per phase of the given FLOPs (2 per MAC)."""
    ops = {}
    if fwd_flops:
        ops[Phase.FORWARD] = {"aten.mm": OpTotals(calls=1, macs=fwd_flops // 2, flops=fwd_flops)}
    if bwd_flops:
        ops[Phase.BACKWARD] = {"aten.mm": OpTotals(calls=2, macs=bwd_flops // 2, flops=bwd_flops)}
    return ModuleNode(name=name, type=type_name, own_trainable_params=params, own_param_bytes=4 * params,
                      own_local_params=local_params, own_local_param_bytes=None if local_params is None else 4 * local_params,
                      own_ops=ops, own_comm=comm or {}, children=children or [])


def rank_profile(rank: int, root: ModuleNode, groups: dict[str, ProcessGroupInfo], *, world: int,
                 mesh: dict[str, int], stage: int | None = None, backend: str = "nccl") -> Profile:
    """``root`` as the profile of ``rank`` in a row-major mesh (the first dimension outermost)."""
    coordinate: dict[str, int] = {}
    rest = rank
    for name in reversed(list(mesh)):
        coordinate[name] = rest % mesh[name]
        rest //= mesh[name]
    info = DistributedInfo(rank=rank, world_size=world, backend=backend, mesh=mesh,
                           mesh_coordinate={name: coordinate[name] for name in mesh}, pipeline_stage=stage)
    return Profile(root=root, process_groups=groups, distributed=info,
                   metadata={"model_type": root.type, "backward_measured": True})


def table(text: str, title: str | None = None) -> list[dict[str, str]]:
    """The rows of the first table in ``text`` (after the line ``title``, when given), each as
    {header: cell}; columns are read from the dashes under the header, and a line that runs
    across the columns (a note) has only the key "note"."""
    lines = text.splitlines()
    if title is not None:
        lines = lines[lines.index(title) + 1:]
    rule = next(i for i, line in enumerate(lines) if line.startswith("-") and "  -" in line)
    spans, start = [], 0
    for piece in lines[rule].split("  "):
        spans.append((start, start + len(piece)))
        start += len(piece) + 2
    header = [lines[rule - 1][a:b].strip() for a, b in spans]
    rows = []
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        if line.startswith("... "):
            rows.append({"note": line})
            continue
        rows.append({name: line[a:b].strip() for name, (a, b) in zip(header, spans)})
    return rows


def size_of(cell: str) -> float:
    """``"6 MiB"`` -> 6 x 2**20: a byte size as ``format_bytes`` writes it, read back."""
    number, unit = cell.split()
    return float(number) * UNITS[unit]
