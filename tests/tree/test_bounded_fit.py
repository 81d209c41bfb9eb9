"""The bounded least squares by hand: exact systems, the bound, and weights."""

from __future__ import annotations

import pytest

from flopsight.tree.bounded_fit import fit_lower_bounded, weighted_sum_of_squares


def test_an_exact_system_is_solved() -> None:
    # x = (2, 3): rows 1*2 + 1*3 = 5, 1*2 + 2*3 = 8, 3*2 + 0 = 6
    x = fit_lower_bounded([[1, 1], [1, 2], [3, 0]], [5, 8, 6], [1, 1, 1])
    assert x == pytest.approx([2, 3], abs=1e-12)


def test_an_unknown_the_data_pulls_below_the_bound_is_held_there() -> None:
    # Unbounded: x0 = 4, x1 = 0.5. x1 held at 1; x0 from the first row alone.
    x = fit_lower_bounded([[1, 0], [0, 2]], [4, 1], [1, 1])
    assert x == pytest.approx([4, 1])


def test_the_bound_shifts_the_other_unknown() -> None:
    # One row 1*x0 + 1*x1 = 2.5 and one 1*x0 = 3: unbounded x = (3, -0.5). With x1 = 1 the rows
    # ask x0 = 1.5 and x0 = 3: least squares gives their mean, 2.25.
    x = fit_lower_bounded([[1, 1], [1, 0]], [2.5, 3], [1, 1])
    assert x == pytest.approx([2.25, 1])


def test_weights_choose_between_rows_that_disagree() -> None:
    # x = 2 and x = 4 wanted; weights 3 and 1: minimize 9 (x - 2)^2 + (x - 4)^2 -> x = (18 + 4) / 10
    (x,) = fit_lower_bounded([[1], [1]], [2, 4], [3, 1])
    assert x == pytest.approx(2.2)


def test_a_column_of_zeros_stays_at_the_bound() -> None:
    x = fit_lower_bounded([[2, 0], [4, 0]], [4, 8], [1, 1])
    assert x == pytest.approx([2, 1])


def test_the_fit_is_never_worse_than_everything_at_the_bound() -> None:
    a, b, w = [[1, 2, 0], [0, 1, 1], [1, 0, 3]], [0.5, 0.2, 9.0], [1.0, 2.0, 0.5]
    x = fit_lower_bounded(a, b, w)
    assert all(v >= 1 for v in x)
    assert weighted_sum_of_squares(a, b, w, x) <= weighted_sum_of_squares(a, b, w, [1, 1, 1])


def test_the_docstring_example_holds() -> None:
    import doctest

    from flopsight.tree import bounded_fit

    assert doctest.testmod(bounded_fit).attempted == 1 and doctest.testmod(bounded_fit).failed == 0
