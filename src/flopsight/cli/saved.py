"""``flopsight show``: read a profile saved with ``--format json`` and render it again. No torch."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from ..report import GenerationReport
from ..report.printable import Profile
from ..report.plan import PlanReport
from ..report.saved_profile import profile_from_dict, read_json_object
from ..tree import Profile as ProfileData
from ..tree.job import JobProfile

__all__ = ["read_saved"]


def read_saved(args: argparse.Namespace) -> Profile | GenerationReport | PlanReport:
    """The Profile (or generate run) in ``args.profile_file``, checked against ``args.format``."""
    path = args.profile_file
    data = read_json_object(path)
    if data.get("mode") == "generate":
        return _generation(path, data, args.format)
    if data.get("mode") == "simulate":
        return _plan(path, data)
    return profile_from_dict(path, data)


def _plan(path: str, data: dict[str, Any]) -> PlanReport:
    try:
        return PlanReport(profile_from_dict(path, data["rank_profile"]), JobProfile.from_dict(data["job"]), dict(data["plan"]))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a flopsight simulated plan ({type(exc).__name__}: {exc})") from None


def _generation(path: str, data: dict[str, Any], fmt: str) -> GenerationReport:
    # A saved generate run keeps its summary, the prefill and the first and last decode steps.
    if fmt == "csv":
        raise InputError(f"{path}: a saved generate run keeps only its first and last decode steps, and csv "
                         "sums every step: use --format text, json or markdown")
    try:
        prefill = profile_from_dict(path, data["prefill"])
        steps = [data["decode_first"], data["decode_last"]]
        decode: list[ProfileData] = [profile_from_dict(path, step) for step in steps if step is not None]
        summary = dict(data["generation"])
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a flopsight generate run ({type(exc).__name__}: {exc})") from None
    if len(decode) == 2 and data["decode_first"] == data["decode_last"]:
        decode = decode[:1]  # one decode step, written as both first and last
    return GenerationReport(prefill, decode, summary)
