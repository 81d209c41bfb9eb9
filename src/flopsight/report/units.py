"""Number formatting for every report: the one place that turns counts and durations into short text.

Counts (MACs, FLOPs, bytes) take SI prefixes K, M, G, T, P; parameter counts take K, M, B, T,
as model sizes are spoken of ("a 7B model"). Values are rounded to ``precision`` decimals and
trailing zeros are dropped, so ``3.00`` prints as ``3`` and ``1.20`` as ``1.2``. Durations
take s, ms or us, as DeepSpeed prints them (``format_duration``).
"""

from __future__ import annotations

from typing import Sequence

from ..errors import InputError

__all__ = [
    "COUNT_UNITS", "PARAM_UNITS", "format_bytes", "format_count", "format_duration", "format_number", "format_params", "format_percent",
    "format_ranks",
]

# Powers of 1000, smallest first; "" is the plain number.
COUNT_UNITS: tuple[str, ...] = ("", "K", "M", "G", "T", "P")
PARAM_UNITS: tuple[str, ...] = ("", "K", "M", "B", "T")
# One `unit` option serves both families: "G" asks for billions of parameters, "B" for GFLOPs.
_ALIASES = {"B": "G", "G": "B"}


def format_number(
    value: float,
    *,
    unit: str | None = None,
    precision: int = 2,
    suffix: str = "",
    units: Sequence[str] = COUNT_UNITS,
) -> str:
    """A count with a power-of-1000 prefix, e.g. ``"6.74 G"`` or ``"13.61 TFLOPs"``.

    Args:
        value: the number to show.
        unit: a fixed prefix from ``units`` (``"G"`` always shows billions, ``""`` the plain
            number); None picks the largest prefix that keeps the shown value at least 1.
        precision: decimals kept after rounding; trailing zeros are dropped.
        suffix: what is counted, written right after the prefix ("FLOPs", "MACs").
        units: the prefixes for powers of 1000, starting with "" (``COUNT_UNITS`` or
            ``PARAM_UNITS``).

    Returns:
        The number and its prefix and suffix, separated by one space when either is present.

    Raises:
        InputError: ``unit`` is not one of ``units`` (nor its G/B alias).

    Example:
        >>> format_number(6_738_415_616)
        '6.74 G'
        >>> format_number(13_610_000_000_000, suffix="FLOPs")
        '13.61 TFLOPs'
        >>> format_number(13_610_000_000_000, unit="G", suffix="FLOPs")
        '13610 GFLOPs'
        >>> format_number(0, suffix="MACs")
        '0 MACs'
        >>> format_number(999_999)
        '1 M'
    """
    if unit is not None:
        unit = _resolve_unit(unit, units)
        power = units.index(unit)
        shown = _trim(value / 1000**power, precision)
    else:
        power = 0
        # Pick by magnitude, then step up when rounding reaches 1000 (999_999 -> "1 M").
        while power + 1 < len(units) and abs(value) >= 1000 ** (power + 1):
            power += 1
        shown = _trim(value / 1000**power, precision)
        if abs(float(shown)) >= 1000 and power + 1 < len(units):
            power += 1
            shown = _trim(value / 1000**power, precision)
    label = units[power] + suffix
    return f"{shown} {label}" if label else shown


def format_count(value: float, *, unit: str | None = None, precision: int = 2, suffix: str = "") -> str:
    """MACs, FLOPs or bytes: ``format_number`` with the K, M, G, T, P prefixes.

    Example:
        >>> format_count(329_728, suffix="FLOPs")
        '329.73 KFLOPs'
    """
    return format_number(value, unit=unit, precision=precision, suffix=suffix, units=COUNT_UNITS)


def format_params(value: float, *, unit: str | None = None, precision: int = 2) -> str:
    """A parameter count with the K, M, B, T prefixes (``unit="G"`` is taken as ``"B"``).

    Example:
        >>> format_params(6_738_415_616)
        '6.74 B'
        >>> format_params(32_768)
        '32.77 K'
        >>> format_params(512)
        '512'
        >>> format_params(1_200_000, unit="K")
        '1200 K'
    """
    return format_number(value, unit=unit, precision=precision, units=PARAM_UNITS)


def format_percent(part: float, whole: float, *, precision: int = 2) -> str:
    """``part`` as a percentage of ``whole``; ``"0%"`` when the whole is 0.

    A share that is not zero but rounds to zero shows as ``"<0.01%"`` (at precision 2), so a
    module that does work is never shown as doing none.

    Example:
        >>> format_percent(32_768, 1_200_000)
        '2.73%'
        >>> format_percent(5, 5)
        '100%'
        >>> format_percent(1, 10**9)
        '<0.01%'
        >>> format_percent(0, 0)
        '0%'
    """
    if not whole:
        return "0%"
    share = 100 * part / whole
    shown = _trim(share, precision)
    if share and float(shown) == 0:
        return f"<{_trim(10.0**-precision, precision)}%"
    return f"{shown}%"


_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(value: float, *, precision: int = 2) -> str:
    """Memory in bytes with binary prefixes, as ``torch.cuda.memory_summary`` shows it.

    Example:
        >>> format_bytes(7368)
        '7.2 KiB'
        >>> format_bytes(512)
        '512 B'
        >>> format_bytes(16 * 2**30)
        '16 GiB'
    """
    power = 0
    while abs(value) >= 1024 ** (power + 1) and power < len(_BYTE_UNITS) - 1:
        power += 1
    return f"{_trim(value / 1024**power, precision)} {_BYTE_UNITS[power]}"


def format_duration(seconds: float, *, precision: int = 2, nanoseconds: bool = False) -> str:
    """A duration in s, ms or us, as DeepSpeed prints it; with ``nanoseconds``, below 1 us in ns
    (the roofline's predicted times of small ops).

    Example:
        >>> format_duration(0.01234)
        '12.34 ms'
        >>> format_duration(2.5e-8, nanoseconds=True)
        '25.0 ns'
    """
    scales = ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")) + (((1e-9, "ns"),) if nanoseconds else ())
    for scale, unit in scales:
        if seconds >= scale:
            break
    return f"{round(seconds / scale, precision)} {unit}"


def format_ranks(ranks: Sequence[int], *, limit: int = 8) -> str:
    """Ranks as short ranges: consecutive runs as ``a-b``, an even stride as ``a, b, ..., z``,
    and past ``limit`` pieces the rest as ``...``.

    Example:
        >>> format_ranks([0, 1, 2, 3, 8])
        '0-3, 8'
        >>> format_ranks(range(0, 32, 4))
        '0, 4, ..., 28'
        >>> format_ranks(range(0, 40, 2), limit=3)
        '0, 2, ..., 38'
        >>> format_ranks([])
        'none'
    """
    chosen = sorted(set(ranks))
    if not chosen:
        return "none"
    steps = {b - a for a, b in zip(chosen, chosen[1:])}
    # A data-parallel group of a 2-D mesh is every tp-th rank: name its first, second and last.
    if len(chosen) >= 4 and len(steps) == 1 and steps != {1}:
        return f"{chosen[0]}, {chosen[1]}, ..., {chosen[-1]}"
    runs: list[list[int]] = []
    for rank in chosen:
        if runs and rank == runs[-1][1] + 1:
            runs[-1][1] = rank
        else:
            runs.append([rank, rank])
    pieces = [str(first) if first == last else f"{first}-{last}" for first, last in runs]
    return ", ".join(pieces[:limit] + (["..."] if len(pieces) > limit else []))


def _resolve_unit(unit: str, units: Sequence[str]) -> str:
    if unit in units:
        return unit
    alias = _ALIASES.get(unit)
    if alias is not None and alias in units:
        return alias
    raise InputError(f"unknown unit {unit!r}: choose one of {', '.join(repr(u) for u in units)}")


def _trim(value: float, precision: int) -> str:
    """Round to ``precision`` decimals and drop trailing zeros (fixed notation, never 1e+06)."""
    text = f"{value:.{max(precision, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    # Rounding -0.001 gives "-0"; a sign on nothing is noise.
    return "0" if text in ("-0", "") else text
