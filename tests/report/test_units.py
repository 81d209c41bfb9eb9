"""report/units.py: hand-written expectations for every formatting rule."""

from __future__ import annotations

import pytest

import flopsight
from flopsight.report.units import (
    format_count,
    format_duration,
    format_number,
    format_params,
    format_percent,
    format_ranks,
)


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (0, {}, "0"),
        (512, {}, "512"),
        (999, {}, "999"),
        (1000, {}, "1 K"),
        (32_768, {}, "32.77 K"),
        (6_738_415_616, {}, "6.74 G"),
        (13_610_000_000_000, {"suffix": "FLOPs"}, "13.61 TFLOPs"),
        (0, {"suffix": "MACs"}, "0 MACs"),
        (136, {"suffix": "FLOPs"}, "136 FLOPs"),
        (1_200_000, {"suffix": "MACs"}, "1.2 MMACs"),
        (3_000_000, {}, "3 M"),  # trailing zeros dropped: not "3.00 M"
        (999_999, {}, "1 M"),  # rounds to 1000 K, so the next prefix is used
        (999_499, {}, "999.5 K"),
        (2_500_000_000_000_000_000, {}, "2500 P"),  # beyond the last prefix the number grows
        (13_610_000_000_000, {"unit": "G", "suffix": "FLOPs"}, "13610 GFLOPs"),
        (329_728, {"unit": "", "suffix": "FLOPs"}, "329728 FLOPs"),
        (1_234_567_890, {"unit": "G"}, "1.23 G"),
        (1_234_567_890, {"unit": "B"}, "1.23 G"),  # the parameter spelling is accepted
        (1_234_567, {"precision": 0}, "1 M"),
        (1_234_567, {"precision": 4}, "1.2346 M"),
        (1_500, {"unit": "M", "precision": 2}, "0 M"),
        (1_500, {"unit": "M", "precision": 4}, "0.0015 M"),
        (2.5, {}, "2.5"),
        (-4_200, {}, "-4.2 K"),
    ],
)
def test_format_number(value: float, kwargs: dict[str, object], expected: str) -> None:
    assert format_number(value, **kwargs) == expected  # type: ignore[arg-type]


def test_format_count_is_format_number_with_si_prefixes() -> None:
    assert format_count(6_750_000_000, suffix="FLOPs") == "6.75 GFLOPs"
    assert format_count(101_470_000_000, unit="T", suffix="MACs") == "0.1 TMACs"


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (0, {}, "0"),
        (36, {}, "36"),
        (32_768, {}, "32.77 K"),
        (1_200_000, {}, "1.2 M"),
        (6_738_415_616, {}, "6.74 B"),
        (6_738_415_616, {"unit": "B"}, "6.74 B"),
        (6_738_415_616, {"unit": "G"}, "6.74 B"),  # one unit option serves FLOPs and params
        (6_738_415_616, {"unit": "M", "precision": 0}, "6738 M"),
        (1_200_000, {"unit": ""}, "1200000"),
        (1_500_000_000_000, {}, "1.5 T"),
    ],
)
def test_format_params(value: int, kwargs: dict[str, object], expected: str) -> None:
    assert format_params(value, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("part", "whole", "kwargs", "expected"),
    [
        (5, 5, {}, "100%"),
        (0, 5, {}, "0%"),
        (0, 0, {}, "0%"),
        (3, 0, {}, "0%"),
        (32_768, 1_200_000, {}, "2.73%"),
        (1, 3, {}, "33.33%"),
        (1, 3, {"precision": 0}, "33%"),
        (1, 3, {"precision": 4}, "33.3333%"),
        (1, 8, {}, "12.5%"),
        (1, 10**9, {}, "<0.01%"),  # work that rounds away is never shown as none
        (1, 10**9, {"precision": 0}, "<1%"),
        (1, 200, {}, "0.5%"),
    ],
)
def test_format_percent(part: int, whole: int, kwargs: dict[str, int], expected: str) -> None:
    assert format_percent(part, whole, **kwargs) == expected


@pytest.mark.parametrize("bad", ["X", "k", "b"])
def test_unknown_unit_is_refused(bad: str) -> None:
    with pytest.raises(flopsight.InputError, match="unknown unit"):
        format_number(1, unit=bad)
    with pytest.raises(flopsight.InputError, match="unknown unit"):
        format_params(1, unit=bad)


def test_format_duration_as_deepspeed_prints_it() -> None:
    assert format_duration(0.01234) == "12.34 ms" and format_duration(2.5e-5) == "25.0 us"


@pytest.mark.parametrize(
    ("ranks", "expected"),
    [
        ([3, 1, 2, 0, 8], "0-3, 8"),  # sorted, consecutive runs joined
        (range(4, 8), "4-7"),  # a tp group of a 2 x 4 mesh
        (range(1, 1024, 4), "1, 5, ..., 1021"),  # a dp group: every 4th rank
        ([1, 5], "1, 5"),  # a stride of two ranks is short enough as it is
        ([7], "7"),
        ([], "none"),
        ([0, 2, 3, 5, 7, 8, 10], "0, 2-3, 5, 7-8, 10"),
    ],
)
def test_format_ranks(ranks: list[int], expected: str) -> None:
    assert format_ranks(ranks) == expected


def test_format_ranks_stops_after_limit_pieces() -> None:
    assert format_ranks([0, 2, 3, 5, 7, 8, 10], limit=3) == "0, 2-3, 5, ..."
