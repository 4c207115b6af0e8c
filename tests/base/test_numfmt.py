"""Numbers for readers: one formatting module for every view."""

from __future__ import annotations

import math

import pytest

from grid_planning.base.numfmt import MISSING, integer, number, percent, whole_people, with_unit


def test_grouping_and_decimals():
    assert number(12326518.0) == "12,326,518"
    assert integer(12326518.4) == "12,326,518"
    assert number(33.7916, 1) == "33.8"
    assert number(1234.5, 2, "en") == "1,234.50"
    assert number("1,234.5", 1) == "1,234.5"  # numeric text is read
    assert number(-0.04, 1) == "0.0"  # never "-0.0"


def test_percent_per_language():
    assert percent(0.5571, lang="zh") == "55.7%"
    assert percent(0.5571, lang="en") == "55.7\u00a0%"
    assert percent(0.0312, 1, "zh", signed=True) == "+3.1%"
    assert percent(-0.0312, 1, "zh", signed=True) == "-3.1%"
    assert percent(1.0, 0, "zh") == "100%"


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, "n/a", ""])
def test_missing_values_are_a_dash(missing):
    assert number(missing) == MISSING
    assert percent(missing) == MISSING
    assert with_unit(missing, "min") == MISSING


def test_units():
    assert with_unit(12.34, "分钟", 1, "zh") == "12.3分钟"
    assert with_unit(12.34, "min", 1, "en") == "12.3\u00a0min"


def test_whole_people_add_up_to_the_rounded_total():
    # Rounded one by one these read 2 + 3 + 4 = 9 people of 8.0; by largest remainders 8.
    assert whole_people([1.6, 2.6, 3.8]).tolist() == [2, 2, 4]
    # Rounded one by one, three grids of x.4 people lose one of the total's 601.
    values = [100.4, 200.4, 300.4]
    assert sum(whole_people(values)) == 601 and sum(round(v) for v in values) == 600
    shown = whole_people([1694889.47, 1694839.52, 1688318.6, 0.0])
    assert sum(shown) == round(1694889.47 + 1694839.52 + 1688318.6)
    assert all(abs(s - v) < 1 for s, v in zip(shown, [1694889.47, 1694839.52, 1688318.6, 0.0], strict=True))
    # Missing or negative values count as nobody; nothing is not an error.
    assert whole_people([float("nan"), 2.4, -3.0]).tolist() == [0, 2, 0]
    assert whole_people([]).tolist() == []
