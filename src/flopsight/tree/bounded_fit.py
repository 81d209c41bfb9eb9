"""Weighted least squares with every unknown at least a lower bound, for a handful of unknowns.

    minimize  sum_r w_r^2 (sum_c a_rc x_c - b_r)^2   subject to  x_c >= lower

The problem is convex, so its minimum is the unconstrained least-squares solution on some set of
free unknowns, the others held at the bound. With at most the seven op classes there are at most
128 such sets: each is solved exactly (normal equations, Gaussian elimination with partial
pivoting) and the best feasible one is kept. No iteration, no tolerance on convergence, and x
held at the bound everywhere is always a candidate, so the fit never does worse than it.

Pure Python: calibration needs no numpy.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

__all__ = ["fit_lower_bounded", "weighted_sum_of_squares"]

_SINGULAR = 1e-12  # a pivot this small relative to the matrix's largest entry: the free set is degenerate


def weighted_sum_of_squares(a: Sequence[Sequence[float]], b: Sequence[float], w: Sequence[float],
                            x: Sequence[float]) -> float:
    """sum_r (w_r (a_r . x - b_r))^2."""
    return sum((wr * (sum(ac * xc for ac, xc in zip(row, x)) - br)) ** 2 for row, br, wr in zip(a, b, w))


def fit_lower_bounded(a: Sequence[Sequence[float]], b: Sequence[float], w: Sequence[float],
                      lower: float = 1.0) -> list[float]:
    """The x >= ``lower`` minimizing ``weighted_sum_of_squares(a, b, w, x)``.

    Example:
        >>> fit_lower_bounded([[1.0, 0.0], [0.0, 1.0]], [2.0, 0.5], [1.0, 1.0])  # the second is held at 1
        [2.0, 1.0]
    """
    n = len(a[0]) if a else 0
    best = [lower] * n
    best_cost = weighted_sum_of_squares(a, b, w, best)
    for size in range(1, n + 1):
        for free in combinations(range(n), size):
            x = _solve_free(a, b, w, free, n, lower)
            if x is None or any(v < lower for v in x):
                continue
            cost = weighted_sum_of_squares(a, b, w, x)
            if cost < best_cost:
                best, best_cost = x, cost
    return best


def _solve_free(a: Sequence[Sequence[float]], b: Sequence[float], w: Sequence[float], free: tuple[int, ...],
                n: int, lower: float) -> list[float] | None:
    """Least squares over the ``free`` unknowns, the rest at ``lower``; None when degenerate."""
    fixed = [c for c in range(n) if c not in free]
    # The fixed unknowns' part moves to the right-hand side: b_r - sum_fixed a_rc x lower.
    rhs = [br - lower * sum(row[c] for c in fixed) for row, br in zip(a, b)]
    k = len(free)
    gram = [[sum((wr * wr) * row[i] * row[j] for row, wr in zip(a, w)) for j in free] for i in free]
    moment = [sum((wr * wr) * row[i] * r for row, r, wr in zip(a, rhs, w)) for i in free]
    solved = _gauss(gram, moment, k)
    if solved is None:
        return None
    x = [lower] * n
    for index, value in zip(free, solved):
        x[index] = value
    return x


def _gauss(m: list[list[float]], v: list[float], k: int) -> list[float] | None:
    scale = max((abs(e) for row in m for e in row), default=0.0)
    if scale == 0:
        return None
    m = [row[:] + [rhs] for row, rhs in zip(m, v)]
    for col in range(k):
        pivot = max(range(col, k), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) <= _SINGULAR * scale:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, k):
            factor = m[r][col] / m[col][col]
            for c in range(col, k + 1):
                m[r][c] -= factor * m[col][c]
    x = [0.0] * k
    for r in range(k - 1, -1, -1):
        x[r] = (m[r][k] - sum(m[r][c] * x[c] for c in range(r + 1, k))) / m[r][r]
    return x
