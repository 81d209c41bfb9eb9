"""One rank's collectives: which module issued which, in which phase and group, and the bytes
they moved (payload and NCCL bus bytes, ``records/communication.py``). Pure; no torch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import InputError
from ..records.communication import CommTotals, ProcessGroupInfo
from ..records.phase import Phase
from .columns import Table
from .units import format_bytes, format_number, format_ranks

if TYPE_CHECKING:
    from ..records.communication import CommKey
    from ..tree.module_node import ModuleNode
    from ..tree.profile import Profile

__all__ = ["communication_table", "process_group_lines", "render_communication"]

_MIN_MODULE = 16  # below this a cut path no longer says which module it is
_HEADER = ("module", "phase", "collective", "group", "size", "calls", "payload", "bus bytes")
# (module path, phase, kind, group label, group size): one row of the table.
_RowKey = tuple[str, Phase, str, str, int]


def render_communication(profile: Profile, *, depth: int | None = None, precision: int = 2,
                         width: int | None = None) -> str:
    """A table of the collectives each module issued on this rank, then the groups they ran in.

    Each module's row holds the collectives it issued itself (``own_comm``), so no call is
    counted twice and the rows add up to the total row. With ``depth``, a module at that depth
    also holds those of its submodules, which get no rows of their own.

    Args:
        profile: a profile of one rank of a distributed run (or one read back from JSON).
        depth: the deepest module depth with rows of its own (0: the whole model in one row
            per phase and collective); None gives every module that issued collectives.
        precision: decimals kept in byte sizes.
        width: the columns the table may use (a terminal's); when it would not fit, the module
            types are left out, then long module paths are cut to their last part. None keeps
            the wide table.

    Returns:
        The table and the group lines, no trailing newline; "" when the run had no collectives.

    Example:
        >>> print(render_communication(profile))
        module          phase     collective  group  size  calls  payload  bus bytes
        --------------  --------  ----------  -----  ----  -----  -------  ---------
        layers.0.attn   forward   all_reduce  tp        4      1    4 MiB      6 MiB
        total                                                  1    4 MiB      6 MiB
        <BLANKLINE>
        groups: tp: 4 ranks (0-3), process group 1
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise InputError(f"depth takes None (every module) or a whole number at least 0, got {depth!r}")
    if not profile.communication():
        return ""
    rows = _rows(profile, depth)

    def table(module: Callable[[str], str] | None) -> list[str]:
        return communication_table(profile, depth=depth, precision=precision, module=module).lines()

    lines = table(None)
    if width is not None and max(len(line) for line in lines) > width:
        # Too wide for the terminal: the types go first, then the paths are cut from the left,
        # keeping the end of a path, which names the module.
        lines = table(lambda path: path or "(model)")
        over = max(len(line) for line in lines) - width
        if over > 0:
            room = max(max(len(path) for path, *_ in rows) - over, _MIN_MODULE)
            lines = table(lambda path: _cut(path or "(model)", room))
    groups = process_group_lines(profile)
    if groups:
        lines += ["", "Process groups:"] + [f"  {line}" for line in groups]
    return "\n".join(lines)


def communication_table(profile: Profile, *, depth: int | None = None, precision: int = 2,
                        module: Callable[[str], str] | None = None) -> Table:
    """The collectives per (module, phase, collective, group), then a total row; ``module``
    names a row's module (by default ``path (Type)``)."""
    def typed(path: str) -> str:
        return f"{path or '(model)'} ({profile.module(path).type})"

    named = module or typed
    rows = _rows(profile, depth)
    total = sum(rows.values(), CommTotals())
    cells = [[named(path), phase.value, kind, label, str(size) if size else "?", *_figures(totals, precision)]
             for (path, phase, kind, label, size), totals in rows.items()]
    return Table(list(_HEADER), cells + [["total", "", "", "", "", *_figures(total, precision)]], left=4)


def _rows(profile: Profile, depth: int | None) -> dict[_RowKey, CommTotals]:
    """Each module's collectives, in tree order, then phase order, the largest bus bytes first."""
    rows: dict[_RowKey, CommTotals] = {}
    for node in profile.modules():
        issued = _issued(node, depth)
        for phase in Phase:
            merged: dict[_RowKey, CommTotals] = {}
            for (kind, name), totals in issued.get(phase, {}).items():
                group = _group(profile, name)
                key = (node.name, phase, kind.value, group.label, group.size)
                merged[key] = merged.get(key, CommTotals()) + totals
            rows.update(sorted(merged.items(), key=lambda item: -item[1].bus_bytes))
    return rows


def _issued(node: ModuleNode, depth: int | None) -> dict[Phase, dict[CommKey, CommTotals]]:
    """What ``node``'s row holds: its own collectives, or at ``depth`` its subtree's too."""
    if depth is None or node.depth < depth:
        return node.own_comm
    return node.comm if node.depth == depth else {}


def _group(profile: Profile, name: str) -> ProcessGroupInfo:
    # A group the profile does not describe still gets a row; its size is unknown (0).
    return profile.process_groups.get(name, ProcessGroupInfo(name=name, size=0))


def _cut(path: str, room: int) -> str:
    return path if len(path) <= room else "..." + path[len(path) - room + 3:]


def _figures(totals: CommTotals, precision: int) -> list[str]:
    return [format_number(totals.calls, unit=""), format_bytes(totals.payload_bytes, precision=precision),
            format_bytes(totals.bus_bytes, precision=precision)]


def process_group_lines(profile: Profile) -> list[str]:
    """One line per process group: how reports name it, its size and ranks, torch's name for it."""
    lines = []
    for group in sorted(profile.process_groups.values(), key=lambda g: (g.label, g.name)):
        ranks = f" ({format_ranks(group.ranks)})" if group.ranks else ""
        lines.append(f"{group.label}: {group.size} ranks{ranks}, process group {group.name}")
    return lines
