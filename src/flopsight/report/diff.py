"""``flopsight.diff(a, b)``: how two runs differ, module by module, in every figure both have.

Modules are lined up by ``tree/module_match.py`` (by path, else by type and order among
siblings). A module only in one run counts as zero in the other, so its change is all of its
figure. Pure: no torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..tree.module_match import Match, MatchedBy, match_modules
from .diff_figures import FIGURE_NAMES, Figure, common_figures
from .diff_text import render_diff_markdown, render_diff_text
from .header import model_name
from .json_text import json_text
from .saved_profile import load_profile

if TYPE_CHECKING:
    from ..tree.module_node import ModuleNode
    from ..tree.profile import Profile

__all__ = ["Change", "DIFF_FORMATS", "DIFF_SCHEMA_VERSION", "ModuleDelta", "ProfileDiff", "SortError", "diff",
           "render_diff"]

DIFF_SCHEMA_VERSION = 1
DEFAULT_SORT = "forward_flops"
DIFF_FORMATS = ("text", "markdown", "json", "html")


class SortError(InputError):
    """``sort`` is not a figure both runs have; ``reason`` says why without naming the argument,
    so the CLI can name its own option (``--sort``)."""

    def __init__(self, sort: str, reason: str) -> None:
        super().__init__(f"sort={sort!r}: {reason}")
        self.sort, self.reason = sort, reason


@dataclass(frozen=True, slots=True)
class Change:
    """One figure in run A and in run B (None: that module has no such figure, e.g. not timed)."""

    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        """B - A; None when either side lacks the figure."""
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def relative(self) -> float | None:
        """(B - A) / A; None when A is zero or missing."""
        delta = self.delta
        return None if delta is None or not self.a else delta / self.a


@dataclass(frozen=True, slots=True)
class ModuleDelta:
    """One module of A, of B or of both: its paths and types on each side and each figure's change."""

    path_a: str | None
    path_b: str | None
    type_a: str | None
    type_b: str | None
    matched_by: MatchedBy
    changes: dict[str, Change]

    @property
    def label(self) -> str:
        """``path``, ``a_path -> b_path`` where they differ; the root is "(model)"."""
        a, b = (None if p is None else p or "(model)" for p in (self.path_a, self.path_b))
        if a is None or b is None:
            return str(a if b is None else b)
        return a if a == b else f"{a} -> {b}"

    @property
    def type(self) -> str:
        a, b = self.type_a, self.type_b
        if a is None or b is None:
            return str(a if b is None else b)
        return a if a == b else f"{a} -> {b}"

    def to_dict(self) -> dict[str, Any]:
        return {"path_a": self.path_a, "path_b": self.path_b, "type_a": self.type_a, "type_b": self.type_b,
                "matched_by": self.matched_by.value,
                "changes": {name: {"a": c.a, "b": c.b, "delta": c.delta, "relative": c.relative}
                            for name, c in self.changes.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModuleDelta":
        return cls(data["path_a"], data["path_b"], data["type_a"], data["type_b"], MatchedBy(data["matched_by"]),
                   {name: Change(c["a"], c["b"]) for name, c in data["changes"].items()})


@dataclass(slots=True)
class ProfileDiff:
    """Run B against run A: the whole model's change and each module's, largest first.

    Attributes:
        a_name, b_name: what the runs are called (the file given, else the model's name).
        figures: the figures compared, by name (``report/diff_figures.py``).
        total: the whole model (the roots).
        modules: every other module of either run, in tree order (A's, then what only B has).
        sort: the figure ``ranked`` orders by, largest absolute change first.
        top: how many modules ``ranked`` keeps (None: all).
        counts: modules per way of matching (``MatchedBy`` values) and in all ("modules"), over
            every module even when ``modules`` holds only the ranked ones read back from JSON.
    """

    a_name: str
    b_name: str
    figures: list[str]
    total: ModuleDelta
    modules: list[ModuleDelta] = field(default_factory=list)
    sort: str = DEFAULT_SORT
    top: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = {by.value: sum(1 for m in self.modules if m.matched_by is by) for by in MatchedBy}
            self.counts["modules"] = len(self.modules)

    def ranked(self) -> list[ModuleDelta]:
        """The modules by absolute change of ``sort``, largest first (ties in tree order), the
        first ``top``; modules without the figure last."""
        def key(item: tuple[int, ModuleDelta]) -> tuple[int, float, int]:
            delta = item[1].changes[self.sort].delta
            return (delta is None, -abs(delta or 0.0), item[0])

        ordered = [m for _, m in sorted(enumerate(self.modules), key=key)]
        return ordered if self.top is None else ordered[: self.top]

    def count(self, by: MatchedBy | str) -> int:
        """Modules matched by path or by type, added or removed; "modules": all of them."""
        return self.counts.get(str(by), 0)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": DIFF_SCHEMA_VERSION, "kind": "flopsight-diff", "a": self.a_name, "b": self.b_name,
                "figures": list(self.figures), "sort": self.sort, "top": self.top, "counts": dict(self.counts), "total": self.total.to_dict(),
                "modules": [m.to_dict() for m in self.ranked()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProfileDiff":
        """Read back ``to_dict`` (its modules are the ranked ones it kept)."""
        return cls(str(data["a"]), str(data["b"]), [str(f) for f in data["figures"]],
                   ModuleDelta.from_dict(data["total"]), [ModuleDelta.from_dict(m) for m in data["modules"]],
                   str(data["sort"]), None if data.get("top") is None else int(data["top"]),
                   {str(k): int(v) for k, v in data["counts"].items()})

    def __str__(self) -> str:
        return render_diff_text(self)

    def to_html(self) -> str:
        """One self-contained page with the totals and a sortable table of the modules' changes."""
        from .html.diff_view import render_diff_html  # the page's assets, only when asked for

        return render_diff_html(self)


def render_diff(d: ProfileDiff, fmt: str) -> str:
    """``d`` in one of ``DIFF_FORMATS``; in json a change that is not a finite number (a NaN
    latency and the deltas made from it) is null, as a figure a run lacks."""
    if fmt == "json":
        return json_text(d.to_dict())
    if fmt == "markdown":
        return render_diff_markdown(d)
    if fmt == "html":
        return d.to_html()
    if fmt == "text":
        return render_diff_text(d)
    raise InputError(f"format {fmt!r}: use one of {', '.join(DIFF_FORMATS)}")


def diff(a: Profile | str | os.PathLike[str], b: Profile | str | os.PathLike[str], *,
         sort: str = DEFAULT_SORT, top: int | None = None) -> ProfileDiff:
    """Compare two runs module by module: every figure both have, B against A.

    Args:
        a, b: Profiles, or paths of profiles saved with ``--format json``.
        sort: the figure modules are ranked by (largest absolute change first): one of
            ``report.diff_figures.FIGURE_NAMES`` that both runs have; default forward FLOPs.
        top: keep only the first ``top`` ranked modules (None: all).

    Returns:
        The ProfileDiff; ``print()`` shows it as text, ``to_dict()`` as JSON-ready data.

    Raises:
        InputError: a path that is not a saved profile; ``SortError``, an InputError, when
            ``sort`` is not a figure both runs have.

    Example:
        >>> d = flopsight.diff("mlp8.json", "mlp16.json", top=3)  # doctest: +SKIP
        >>> d.total.changes["params"].delta  # doctest: +SKIP
        288
    """
    a_name, profile_a = _named(a)
    b_name, profile_b = _named(b)
    figures = common_figures(profile_a, profile_b)
    names = [f.name for f in figures]
    if sort not in FIGURE_NAMES:
        raise SortError(sort, f"not a figure; use one of {', '.join(FIGURE_NAMES)}")
    if sort not in names:
        raise SortError(sort, f"not a figure both runs have; use one of {', '.join(names)}")
    if top is not None and top < 1:
        raise InputError(f"top={top}: give a positive number of modules, or None for all")
    total, *modules = (_delta(match, figures) for match in match_modules(profile_a.root, profile_b.root))
    return ProfileDiff(a_name, b_name, names, total, modules, sort, top)


def _named(run: Profile | str | os.PathLike[str]) -> tuple[str, Profile]:
    if isinstance(run, (str, os.PathLike)):
        return os.fspath(run), load_profile(run)
    return model_name(run), run


def _delta(match: Match, figures: list[Figure]) -> ModuleDelta:
    a, b = match.a, match.b
    changes = {f.name: Change(*_values(f, a, b)) for f in figures}
    return ModuleDelta(None if a is None else a.name, None if b is None else b.name,
                       None if a is None else a.type, None if b is None else b.type, match.by, changes)


def _values(f: Figure, a: ModuleNode | None, b: ModuleNode | None) -> tuple[float | None, float | None]:
    # A module missing from one run holds nothing there: zero, where the other side has the figure.
    value_a = None if a is None else f.value(a)
    value_b = None if b is None else f.value(b)
    if a is None and value_b is not None:
        value_a = 0
    if b is None and value_a is not None:
        value_b = 0
    return value_a, value_b
