"""The annotated module tree, in the shape calflops and DeepSpeed print it.

Each module's ``repr``-like line carries its params, MACs and FLOPs and their shares of the
whole model, e.g. ``(fc1): Linear(1.09 K = 9.19% Params, 16.38 KMACs = 10.46% MACs, ...,
in_features=16, out_features=64, bias=True)``. Runs of identical numbered siblings (the layers
of a ModuleList) collapse to one entry ``(0-31): 32 x LlamaDecoderLayer(`` showing one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from ..errors import InputError
from .table import Row, TableColumn, layout_table
from .timing import format_latency
from .units import format_bytes, format_count, format_params, format_percent

if TYPE_CHECKING:
    from ..records import ModuleTiming, TimingResult
    from ..records import OpCost
    from ..tree.module_node import ModuleNode
    from ..tree.profile import Profile

__all__ = ["PHASE_CHOICES", "describe_columns", "render_tree"]

T = TypeVar("T")

INDENT = "  "
# Phases a tree can show, and the prefix that names them in the column labels; forward keeps
# the bare "MACs"/"FLOPs" that calflops users read.
PHASE_CHOICES: dict[str, str] = {"forward": "", "backward": "bwd ", "recompute": "recompute ", "total": "fwd+bwd "}


@dataclass(frozen=True, slots=True)
class _Column:
    """One "value = share" item of a module's line."""

    label: str  # names the share: "MACs", "bwd FLOPs"
    suffix: str  # written after the value's prefix: "MACs", "FLOPs"
    value: Callable[["ModuleNode"], int]
    total: int
    in_bytes: bool = False  # shown with binary prefixes (KiB, MiB) instead of K, M

    def format(self, value: int, style: "_Style", *, suffix: bool) -> str:
        if self.in_bytes:
            return format_bytes(value, precision=style.precision)
        return format_count(value, unit=style.unit, precision=style.precision, suffix=self.suffix if suffix else "")

    @property
    def description(self) -> str:
        """How the legend names this column's two figures."""
        return f"{self.label}, % of all {self.label}"


@dataclass(frozen=True, slots=True)
class _Style:
    columns: tuple[_Column, ...]
    total_params: int
    depth: int | None
    precision: int
    unit: str | None
    param_unit: str | None
    timed: bool = False  # the profile carries a timing: latency columns are shown
    root_latency: ModuleTiming | None = None  # the root's, for each module's share


def render_tree(
    profile: Profile,
    *,
    depth: int | None = None,
    phase: str = "forward",
    precision: int = 2,
    unit: str | None = None,
    param_unit: str | None = None,
    timing: TimingResult | None = None,
    width: int | None = None,
) -> str:
    """The module tree with each module's params, MACs and FLOPs and their shares of the model.

    Args:
        profile: a measured Profile or one read back with ``Profile.from_dict``.
        depth: deepest level shown (0 is the root alone); None shows every module. Hidden
            modules still count in their parents' figures.
        phase: the cost in the MACs and FLOPs columns: "forward", "backward", "recompute" or
            "total" (all three summed). With "forward" and a measured backward, a backward
            FLOPs column is added.
        precision: decimals kept in numbers and percentages.
        unit: fixed prefix for MACs and FLOPs ("G" for GFLOPs, "" for plain numbers); None
            picks one per number.
        param_unit: fixed prefix for parameter counts ("M", "B", ""); None picks one.
        timing: a timing of the same model (``measure_time``, a tracker's or a profiler's);
            each timed module then also lists its median forward latency, its share of the
            root's, and its forward FLOPs over that latency, as DeepSpeed's tree does.
            Identical layers no longer collapse then: each has its own latency.
        width: the columns the text may use (a terminal's width). None, or a width the
            calflops layout fits in, gives the calflops layout; a narrower width gives a table
            that fits: the module names indented, then the figures in aligned columns, the
            repr details left out (torchinfo's layout).

    Returns:
        The tree as text, one module per line, no trailing newline.

    Example:
        >>> print(render_tree(flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8))))
        Linear(36 = 100% Params, 64 MACs = 100% MACs, 136 FLOPs = 100% FLOPs, in_features=8, out_features=4, bias=True)
    """
    if depth is not None and depth < 0:
        raise InputError(f"depth must be None or at least 0, got {depth}")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise InputError(f"width must be None (no limit) or a positive whole number of columns, got {width!r}")
    if timing is not None:
        profile = profile.with_timing(timing)
    style = _Style(
        columns=_columns(profile, _phase(phase)),
        total_params=profile.params,
        depth=depth,
        precision=precision,
        unit=unit,
        param_unit=param_unit,
        timed=profile.run_timing is not None,
        root_latency=profile.root.timing,
    )
    lines = _render(profile.root, style)
    if width is not None and max(len(line) for line in lines) > width:
        lines = _render_table(profile.root, style, width)
    return "\n".join(lines)


def describe_columns(profile: Profile, *, phase: str = "forward", timed: bool = False) -> str:
    """The legend of ``render_tree``'s lines: which figures each module lists, in order.

    Example:
        >>> describe_columns(flopsight.profile(torch.nn.Linear(8, 4), input_shape=(2, 8)))
        'params, % of all params, MACs, % of all MACs, FLOPs, % of all FLOPs'
    """
    items = ["params, % of all params"]
    items += [column.description for column in _columns(profile, _phase(phase))]
    if timed:
        items += ["fwd latency, % of the model's fwd latency", "fwd FLOPs per second"]
    return ", ".join(items)


def _phase(phase: str) -> str:
    # Phase.FORWARD is a str enum member; its value is the plain name.
    name = str(getattr(phase, "value", phase))
    if name not in PHASE_CHOICES:
        raise InputError(f"phase={phase!r}: choose one of {', '.join(repr(p) for p in PHASE_CHOICES)}")
    return name


def _cost(phase: str) -> Callable[["ModuleNode"], "OpCost"]:
    def cost(node: ModuleNode) -> OpCost:
        # "forward", "backward", "recompute" and "total" are all inclusive-cost properties.
        result: OpCost = getattr(node, phase)
        return result

    return cost


def _columns(profile: Profile, phase: str) -> tuple[_Column, ...]:
    prefix = PHASE_CHOICES[phase]
    cost = _cost(phase)
    root = profile.root
    columns = [
        _Column(f"{prefix}MACs", "MACs", lambda n: cost(n).macs, cost(root).macs),
        _Column(f"{prefix}FLOPs", "FLOPs", lambda n: cost(n).flops, cost(root).flops),
    ]
    # Beside the forward view, show the measured backward (and any recomputation) so a training
    # step's split is visible without a second report.
    if phase == "forward" and profile.backward_measured:
        columns.append(_Column("bwd FLOPs", "FLOPs", lambda n: n.backward.flops, root.backward.flops))
    if phase == "forward" and root.recompute.flops:
        columns.append(_Column("recompute FLOPs", "FLOPs", lambda n: n.recompute.flops, root.recompute.flops))
    if profile.memory is not None:  # the seed FSDP layout: activation bytes beside params and FLOPs
        columns.append(_Column("activations", "", _activation_bytes, _activation_bytes(root), in_bytes=True))
    return tuple(columns)


def _activation_bytes(node: ModuleNode) -> int:
    return 0 if node.memory is None else node.memory.activation_bytes


def _stats(node: ModuleNode, style: _Style) -> str:
    items = [
        f"{format_params(node.params, unit=style.param_unit, precision=style.precision)}"
        f" = {format_percent(node.params, style.total_params, precision=style.precision)} Params"
    ]
    for column in style.columns:
        value = column.value(node)
        shown = column.format(value, style, suffix=True)
        items.append(f"{shown} = {format_percent(value, column.total, precision=style.precision)} {column.label}")
    if style.timed:
        items += _latency_items(node, style.root_latency, style.precision)
    if node.ignored:
        items.append("ignored")
    return ", ".join(items)


def _latency_items(node: ModuleNode, root: ModuleTiming | None, precision: int) -> list[str]:
    figures = _latency(node, root, precision)
    if figures is None:
        return []
    latency, share, rate = figures
    return [f"{latency} = {share} fwd latency", rate]


def _latency(node: ModuleNode, root: ModuleTiming | None, precision: int) -> tuple[str, str, str] | None:
    """(median fwd latency, its share of the root's, fwd FLOPs per second), or None if untimed."""
    measured = node.timing
    if measured is None or root is None:
        return None
    seconds = measured.forward.median
    share = format_percent(seconds, root.forward.median, precision=precision)
    rate = format_count(node.forward.flops / seconds, precision=precision, suffix="FLOPS") if seconds > 0 else "-"
    return format_latency(seconds, precision=precision), share, rate


def _render(node: ModuleNode, style: _Style) -> list[str]:
    """The lines of one module, without its "(name): " prefix, indented relative to it."""
    if node.alias_of is not None:
        # A second position of a shared module: its costs live at its first path only.
        return [f"{node.type} -> {node.alias_of} (counted there)"]
    body = _stats(node, style)
    if node.extra_repr:
        body += ", " + node.extra_repr
    # As nn.Module.__repr__ does: a multi-line extra_repr opens a block like children do.
    body_lines = body.split("\n")
    shown_children = node.children if style.depth is None or node.depth < style.depth else []
    if not shown_children and len(body_lines) == 1:
        return [f"{node.type}({body})"]
    lines = [f"{node.type}("]
    lines += [INDENT + line for line in body_lines]
    for label, count, child_lines in _collapse([(c.attribute, _render(c, style)) for c in shown_children]):
        times = f"{count} x " if count > 1 else ""
        lines.append(f"{INDENT}({label}): {times}{child_lines[0]}")
        lines += [INDENT + line for line in child_lines[1:]]
    lines.append(")")
    return lines


def _render_table(root: ModuleNode, style: _Style, width: int) -> list[str]:
    """The narrow layout: one row per module, its figures in aligned columns."""
    columns = [TableColumn("Params"), TableColumn("%", share=True)]
    for column in style.columns:
        columns += [TableColumn(column.label), TableColumn("%", share=True)]
    if style.timed:
        columns += [TableColumn("fwd latency"), TableColumn("%", share=True), TableColumn("FLOPS")]
    rows = [Row(0, label, cells) for label, cells in _table_rows(root, style, len(columns))]
    return layout_table("Module", columns, _levels(rows), width)


def _table_rows(node: ModuleNode, style: _Style, count: int) -> list[tuple[str, tuple[str, ...]]]:
    """(label, cells) of a module and its shown subtree; children's labels start with a tab
    per level below this one (turned into indent levels by ``_levels``)."""
    if node.alias_of is not None:
        return [(f"{node.type} -> {node.alias_of} (counted there)", ("",) * count)]
    label = node.type + (" (ignored)" if node.ignored else "")
    rows = [(label, _cells(node, style, count))]
    shown = node.children if style.depth is None or node.depth < style.depth else []
    for name, times, child_rows in _collapse([(c.attribute, _table_rows(c, style, count)) for c in shown]):
        (first_label, first_cells), rest = child_rows[0], child_rows[1:]
        prefix = f"({name}): " + (f"{times} x " if times > 1 else "")
        rows.append(("\t" + prefix + first_label, first_cells))
        rows += [("\t" + sub_label, cells) for sub_label, cells in rest]
    return rows


def _levels(rows: list[Row]) -> list[Row]:
    return [Row(len(r.label) - len(r.label.lstrip("\t")), r.label.lstrip("\t"), r.cells) for r in rows]


def _cells(node: ModuleNode, style: _Style, count: int) -> tuple[str, ...]:
    cells = [
        format_params(node.params, unit=style.param_unit, precision=style.precision),
        format_percent(node.params, style.total_params, precision=style.precision),
    ]
    for column in style.columns:
        value = column.value(node)
        cells += [
            column.format(value, style, suffix=False),
            format_percent(value, column.total, precision=style.precision),
        ]
    if style.timed:
        cells += _latency(node, style.root_latency, style.precision) or ()
    return tuple(cells + [""] * (count - len(cells)))


def _collapse(children: Sequence[tuple[str, T]]) -> list[tuple[str, int, T]]:
    """Merge runs of numbered siblings with identical lines into ("0-3", 4, lines) entries.

    Only numeric names with consecutive indices collapse (ModuleList and Sequential layers);
    two named attributes that happen to look alike stay apart, as nn.ModuleList's repr does.
    """
    merged: list[tuple[str, int, T]] = []
    run_start = 0
    for position in range(1, len(children) + 1):
        if position < len(children) and _continues_run(children[position - 1], children[position]):
            continue
        first_name, lines = children[run_start]
        count = position - run_start
        label = first_name if count == 1 else f"{first_name}-{children[position - 1][0]}"
        merged.append((label, count, lines))
        run_start = position
    return merged


def _continues_run(previous: tuple[str, T], current: tuple[str, T]) -> bool:
    (prev_name, prev_lines), (name, lines) = previous, current
    return prev_name.isdigit() and name.isdigit() and int(name) == int(prev_name) + 1 and lines == prev_lines
