"""``flopsight diff A.json B.json``: two saved profiles compared module by module. No torch."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from ..errors import InputError
from ..report.diff import DEFAULT_SORT, DIFF_FORMATS, SortError, diff, render_diff
from ..report.diff_figures import FIGURE_NAMES

__all__ = ["add_diff_command", "run_diff"]


def add_diff_command(commands: Any, positive: Callable[[str], int]) -> None:
    parser = commands.add_parser(
        "diff", help="compare two profiles saved with --format json, module by module (no torch needed)",
        description="Read A.json and B.json, written by `flopsight profile|example --format json`, line up their "
        "modules (by path, else by type and order among siblings) and show how every figure both have changed, "
        "B - A: the whole model first, then the modules by the size of their change.",
    )
    parser.add_argument("profile_a", metavar="A.json", help="the first profile, saved with --format json")
    parser.add_argument("profile_b", metavar="B.json", help="the second profile, compared against the first")
    # No argparse choices: an unknown figure and one the runs lack get the same "--sort X: ..." line.
    parser.add_argument("--sort", default=DEFAULT_SORT, metavar="FIGURE",
                        help=f"rank modules by the change of this figure (default {DEFAULT_SORT}; one of "
                        f"{', '.join(FIGURE_NAMES)})")
    parser.add_argument("--top", type=positive, metavar="N", help="show only the N modules that changed most")
    parser.add_argument("--format", choices=DIFF_FORMATS, default="text", help="output format (default text)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")


def run_diff(args: argparse.Namespace) -> str:
    try:
        compared = diff(args.profile_a, args.profile_b, sort=args.sort, top=args.top)
    except SortError as exc:
        raise InputError(f"--sort {exc.sort}: {exc.reason}") from None
    return render_diff(compared, args.format)
