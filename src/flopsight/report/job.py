"""A whole distributed job (``JobProfile``): DeepSpeed's profile summary, one row per rank with
identical neighbours collapsed, and the collectives per rank and in total. Pure; no torch.

"Per device" figures are rank 0's, as DeepSpeed prints the rank it runs on. Where DeepSpeed
multiplies ("params of model = params per device * mp_size", "fwd flops of model = fwd flops
per device * mp_size"), this report adds up what every rank measured instead: the formula
holds for tensor and pipeline parallelism but not for FSDP/ZeRO-3, whose ranks each hold
1/dp of the parameters, nor for ranks that do unequal work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import InputError
from ..records.communication import CommTotals
from .columns import Table, aligned, titled
from .json_text import json_text
from .mesh import coordinate_text, mesh_text, span_text
from .units import format_bytes, format_count, format_number, format_params, format_percent

if TYPE_CHECKING:
    from ..tree.job import CommRowKey, JobProfile, RankFigures

__all__ = ["JobParts", "job_parts", "render_job", "render_job_json"]


@dataclass(frozen=True, slots=True)
class JobParts:
    """``render_job``'s figures before layout: the summary lines, the per-rank table and, when
    the ranks issued collectives, the communication table with its title and notes."""

    summary: list[tuple[str, str]]
    ranks: Table
    comm_title: str = ""
    comm: Table | None = None
    comm_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Formats:
    precision: int
    unit: str | None
    param_unit: str | None

    def count(self, value: float, suffix: str) -> str:
        return format_count(value, unit=self.unit, precision=self.precision, suffix=suffix)

    def params(self, value: float) -> str:
        return format_params(value, unit=self.param_unit, precision=self.precision)

    def size(self, value: float) -> str:
        return format_bytes(value, precision=self.precision)


def render_job(job: JobProfile, *, precision: int = 2, unit: str | None = None, param_unit: str | None = None,
               max_ranks: int | None = 16) -> str:
    """The job's summary, its per-rank table and its communication table.

    Args:
        job: from ``flopsight.gather`` (on rank 0), ``JobProfile.from_profiles`` or
            ``JobProfile.from_dict``; all three render the same text.
        precision: decimals kept in numbers.
        unit: fixed prefix for MACs and FLOPs ("G", "T", "" for plain numbers); None picks one.
        param_unit: fixed prefix for parameter counts ("M", "B", ""); None picks one.
        max_ranks: the most rows of the per-rank table, after consecutive ranks with the same
            figures are collapsed into one row; None shows every row.

    Returns:
        The report, ending with a newline.

    Example (2 data-parallel x 4 tensor-parallel ranks under FSDP: each holds 1/8 of a
    4.19 M-parameter Linear; a tp all-reduce of 8 MiB and a dp all-gather of 2 MiB)::

        >>> print(render_job(job))
        Job summary
        -----------
        world size:                              8
        ...
        params per device:                       524.29 K (2 MiB)
        params of model (global unique):         4.19 M (DeepSpeed's params per device * mp_size: 2.1 M)
        ...
        Per rank
        --------
        rank                 mesh         local params  param bytes  fwd FLOPs  bwd FLOPs  payload  bus bytes
        -------------------  -----------  ------------  -----------  ---------  ---------  -------  ---------
        0-7 (all identical)  dp0-1 tp0-3      524.29 K        2 MiB   1 MFLOPs   2 MFLOPs   10 MiB     13 MiB
        all ranks                               4.19 M       16 MiB   8 MFLOPs  16 MFLOPs   80 MiB    104 MiB
        ...
    """
    if max_ranks is not None and (isinstance(max_ranks, bool) or not isinstance(max_ranks, int) or max_ranks < 1):
        raise InputError(f"max_ranks takes None (every row) or a whole number at least 1, got {max_ranks!r}")
    if not job.ranks:
        raise InputError("the job has no ranks to report")
    parts = job_parts(job, precision=precision, unit=unit, param_unit=param_unit, max_ranks=max_ranks)
    sections = [
        titled("Job summary", aligned(parts.summary)),
        titled("Per rank", "\n".join(parts.ranks.lines())),
    ]
    if parts.comm is not None:
        notes = [""] + list(parts.comm_notes) if parts.comm_notes else []
        sections.append(titled("Communication", "\n".join([parts.comm_title, *parts.comm.lines(), *notes])))
    return "\n\n".join(sections) + "\n"


def job_parts(job: JobProfile, *, precision: int = 2, unit: str | None = None, param_unit: str | None = None,
              max_ranks: int | None = 16) -> JobParts:
    """The job's summary lines and tables, formatted as ``render_job`` shows them."""
    fmt = _Formats(precision, unit, param_unit)
    ranks = _rank_table(job, fmt, max_ranks)
    if not any(r.comm for r in job.ranks):
        return JobParts(_summary_rows(job, fmt), ranks)
    title, comm, notes = _comm_table(job, fmt)
    return JobParts(_summary_rows(job, fmt), ranks, title, comm, tuple(notes))


def render_job_json(job: JobProfile) -> str:
    """The job as JSON: ``job.to_dict()``, which ``JobProfile.from_dict`` reads back."""
    return json_text(job.to_dict())


def _summary_rows(job: JobProfile, fmt: _Formats) -> list[tuple[str, str]]:
    first = job.ranks[0]
    backward = _backward_measured(job)
    rows: list[tuple[str, str]] = [("world size", str(job.world_size))]
    if job.backend:
        rows.append(("backend", "fake (a simulated job)" if job.backend == "fake" else job.backend))
    if job.mesh:
        rows.append(("mesh", mesh_text(job.mesh)))
    rows += [("data parallel size", str(job.data_parallel_size)), ("model parallel size", str(job.model_parallel_size))]
    if "tp" in job.mesh:
        rows.append(("tensor parallel size", str(job.size("tp"))))
    stages = _stages(job)
    if "pp" in job.mesh or len(stages) > 1:
        rows.append(("pipeline parallel size", str(max(job.size("pp"), len(stages)))))
    rows.append(("params per device", f"{fmt.params(first.local_params)} ({fmt.size(first.local_param_bytes)})"))
    # DeepSpeed's product undercounts a model whose ranks shard it over data parallelism too.
    formula = first.local_params * job.model_parallel_size
    note = "" if formula == job.params_of_model else f" (DeepSpeed's params per device * mp_size: {fmt.params(formula)})"
    rows.append(("params of model (global unique)", fmt.params(job.params_of_model) + note))
    rows += [("fwd MACs per device", fmt.count(first.forward.macs, "MACs")),
             ("fwd flops per device", fmt.count(first.forward.flops, "FLOPs"))]
    rows.append(("bwd flops per device", fmt.count(first.backward.flops, "FLOPs") if backward else "not measured"))
    forward, backward_cost = job.forward, job.backward
    rows.append(("fwd flops of model (sum over ranks)", fmt.count(forward.flops, "FLOPs")))
    if backward:
        rows.append(("fwd+bwd flops of model (sum over ranks)", fmt.count(forward.flops + backward_cost.flops, "FLOPs")))
    recompute = sum(r.recompute.flops for r in job.ranks)
    if recompute:
        rows += [("recompute flops of model (sum over ranks)", fmt.count(recompute, "FLOPs")),
                 ("total flops of model (sum over ranks)", fmt.count(job.total_flops, "FLOPs"))]
    if first.peak_memory_bytes is not None:
        rows.append(("peak memory per device", fmt.size(first.peak_memory_bytes)))
    if any(r.comm for r in job.ranks):
        calls = sum(t.calls for t in first.comm.values())
        rows.append(("communication per device (bus bytes)",
                     f"{fmt.size(first.bus_bytes)} ({_calls(calls)}, payload {fmt.size(first.payload_bytes)})"))
    measured = [r.rank for r in job.ranks if r.simulated_as is None]
    if len(measured) < len(job.ranks):
        rows.append(("simulated", f"one rank per stage ({len(measured)} of {len(job.ranks)} ranks measured; "
                                  "each other rank repeats its stage's figures)"))
    if job.microbatches > 1:
        rows.append(("microbatches per step", f"{job.microbatches} (the figures above and below are per microbatch; "
                                              f"a step's fwd+bwd flops: {fmt.count(job.step_flops, 'FLOPs')})"))
    if job.pipeline_bubble is not None:
        rows.append(("pipeline bubble", f"{format_percent(job.pipeline_bubble, 1.0, precision=fmt.precision)} "
                                        "of a step each stage idles"))
    return rows


def _rank_table(job: JobProfile, fmt: _Formats, max_ranks: int | None) -> Table:
    """One row per run of consecutive ranks with the same figures, then the sum over every rank.

    Each row shows one rank's figures; every rank of a collapsed row has them, so the total
    row is each row's figures times its ranks, summed."""
    mesh = any(r.mesh_coordinate for r in job.ranks)
    staged = bool(_stages(job))
    backward = _backward_measured(job)
    recompute = any(r.recompute.flops for r in job.ranks)
    memory = any(r.peak_memory_bytes is not None for r in job.ranks)
    comm = any(r.comm for r in job.ranks)
    header = ["rank"] + (["mesh"] if mesh else []) + (["stage"] if staged else [])
    left = len(header)
    header += ["local params", "param bytes", "fwd FLOPs"] + (["bwd FLOPs"] if backward else [])
    header += (["recompute FLOPs"] if recompute else []) + (["peak memory"] if memory else [])
    header += ["payload", "bus bytes"] if comm else []

    def cells(label: str, group: Sequence[RankFigures], total: bool) -> list[str]:
        first = group[0]
        row = [label]
        if mesh:
            row.append("" if total else coordinate_text(first.mesh_coordinate) if len(group) == 1
                       else span_text(r.mesh_coordinate for r in group))
        if staged:
            row.append("" if total or first.pipeline_stage is None else str(first.pipeline_stage))

        # A collapsed row shows one rank (its first); the total row sums every rank.
        def summed(value: Callable[[RankFigures], float]) -> float:
            return sum(value(r) for r in group) if total else value(first)

        row += [fmt.params(summed(lambda r: r.local_params)), fmt.size(summed(lambda r: r.local_param_bytes)),
                fmt.count(summed(lambda r: r.forward.flops), "FLOPs")]
        if backward:
            row.append(fmt.count(summed(lambda r: r.backward.flops), "FLOPs"))
        if recompute:
            row.append(fmt.count(summed(lambda r: r.recompute.flops), "FLOPs"))
        if memory:
            peak = first.peak_memory_bytes
            row.append("" if total or peak is None else fmt.size(peak))
        if comm:
            row += [fmt.size(summed(lambda r: r.payload_bytes)), fmt.size(summed(lambda r: r.bus_bytes))]
        return row

    groups = _collapse(job.ranks)
    shown = groups if max_ranks is None else groups[:max_ranks]
    rows = [cells(_rank_label(group, len(job.ranks)), group, total=False) for group in shown]
    hidden = sum(len(group) for group in groups[len(shown):])
    if hidden:
        rows.append([f"... {hidden} more ranks ({len(groups) - len(shown)} rows; max_ranks=None shows them)"])
    rows.append(cells("all ranks", job.ranks, total=True))
    return Table(header, rows, left=left)


def _comm_table(job: JobProfile, fmt: _Formats) -> tuple[str, Table, list[str]]:
    """Per (stage,) collective, group and group size: one rank's calls and bytes (rank 0's, or
    the first rank of each stage), and the job's, summed over the ranks (of the stage)."""
    by_stage = _ranks_by_stage(job)
    staged = len(by_stage) > 1 or next(iter(by_stage)) is not None
    header = (["stage"] if staged else []) + ["collective", "group", "size", "calls", "payload", "bus bytes",
                                              "job calls", "job payload", "job bus bytes"]
    left = 3 if staged else 2
    rows: list[list[str]] = []
    per_rank_total, job_total = CommTotals(), CommTotals()
    notes = []
    for stage, ranks in by_stage.items():
        first = ranks[0]
        keys: dict[CommRowKey, CommTotals] = {}
        for figures in ranks:
            for key, totals in figures.comm.items():
                keys[key] = keys.get(key, CommTotals()) + totals
        if any(r.comm != first.comm for r in ranks):
            where = f"stage {stage}" if staged else "the job"
            notes.append(f"ranks of {where} differ in their collectives: the per-rank columns are rank {first.rank}'s")
        for (kind, label, size), summed in sorted(keys.items(), key=lambda item: -item[1].bus_bytes):
            one = first.comm.get((kind, label, size), CommTotals())
            per_rank_total, job_total = per_rank_total + one, job_total + summed
            rows.append(([str(stage)] if staged else []) + [kind.value, label, str(size) if size else "?",
                                                            *_figures(one, fmt), *_figures(summed, fmt)])
    # A sum of one rank per stage is no rank's figure: only an unstaged job gets a per-rank total.
    if staged:
        rows.append(["total", "", "", "", "", "", ""] + _figures(job_total, fmt))
    else:
        rows.append(["total", "", ""] + _figures(per_rank_total, fmt) + _figures(job_total, fmt))
    title = ("Collectives of the first rank of each stage, and of all the stage's ranks (job columns):" if staged
             else f"Collectives of rank {job.ranks[0].rank}, and of all ranks (job columns):")
    return title, Table(header, rows, left=left), notes


def _figures(totals: CommTotals, fmt: _Formats) -> list[str]:
    return [format_number(totals.calls, unit=""), fmt.size(totals.payload_bytes), fmt.size(totals.bus_bytes)]


def _collapse(ranks: Sequence[RankFigures]) -> list[list[RankFigures]]:
    """Runs of consecutive ranks whose figures are the same (all but rank and mesh coordinate)."""
    groups: list[list[RankFigures]] = []
    for figures in ranks:
        if groups and _same_figures(groups[-1][0], figures):
            groups[-1].append(figures)
        else:
            groups.append([figures])
    return groups


def _same_figures(a: RankFigures, b: RankFigures) -> bool:
    # ``simulated_as`` says where figures came from, not what they are: a stand-in equals its source.
    ignored = ("rank", "mesh_coordinate", "simulated_as")
    one, other = a.to_dict(), b.to_dict()
    return all(one[key] == other[key] for key in one if key not in ignored)


def _rank_label(group: Sequence[RankFigures], world: int) -> str:
    if len(group) == 1:
        return str(group[0].rank)
    span = f"{group[0].rank}-{group[-1].rank}"
    return f"{span} (all identical)" if len(group) == world else f"{span} ({len(group)} identical)"


def _stages(job: JobProfile) -> set[int]:
    return {r.pipeline_stage for r in job.ranks if r.pipeline_stage is not None}


def _ranks_by_stage(job: JobProfile) -> dict[int | None, list[RankFigures]]:
    by_stage: dict[int | None, list[RankFigures]] = {}
    for figures in job.ranks:
        by_stage.setdefault(figures.pipeline_stage, []).append(figures)
    return dict(sorted(by_stage.items(), key=lambda item: -1 if item[0] is None else item[0]))


def _backward_measured(job: JobProfile) -> bool:
    return bool(job.metadata.get("backward_measured")) or any(r.backward.flops for r in job.ranks)


def _calls(calls: int) -> str:
    return f"{format_number(calls, unit='')} call" + ("" if calls == 1 else "s")
