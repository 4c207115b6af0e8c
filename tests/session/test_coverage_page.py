"""What the coverage page shows (grid_planning.session.coverage_page), on the planned pilot city
(Fuxin, tests/pilot_fixtures.py): every share recomputed here from the unit figures, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grid_planning.session import coverage_page as cp


def _share(units: pd.DataFrame, column: str, limit: float) -> float:
    w = units["population"].to_numpy(float)
    return float(w[units[column].to_numpy(float) <= limit].sum() / w.sum())


@pytest.mark.parametrize("column", ["t_lead", "t_secondary", "t_primary"])
def test_city_travel_figures_follow_the_chosen_travel_time(planned, column):
    fig = planned.figures("en")
    mean, s15, s30 = cp.city_travel(fig, column)
    ud = fig.units
    assert s15 == pytest.approx(_share(ud, column, 15))
    assert s30 == pytest.approx(_share(ud, column, 30))
    assert mean == pytest.approx(np.average(ud[column], weights=ud["population"]))


def test_share_rows_per_grid_then_the_city(planned):
    fig = planned.figures("en")
    rows = cp.share_rows(fig, "City")
    assert len(rows) == planned.plan.k + 1 and rows["grid"].iloc[-1] == "City"
    for i, grid in enumerate(fig.grids.index):
        sub = fig.units[fig.units["grid_id"] == grid]
        assert rows["grid"].iloc[i].startswith(f"{grid} · ")
        assert rows["pri15"].iloc[i] == pytest.approx(_share(sub, "t_primary", 15))
        assert rows["lead30"].iloc[i] == pytest.approx(_share(sub, "t_lead", 30))
    assert rows["pri15"].iloc[-1] == pytest.approx(_share(fig.units, "t_primary", 15))
    empty = fig.units.iloc[:0]
    assert cp.primary_share_15(empty) is None


def test_underserved_units_are_those_over_the_threshold_with_labels(planned):
    fig = planned.figures("en")
    threshold = float(np.median(fig.units["t_lead"]))
    under, top = cp.underserved(fig, threshold, "t_lead")
    over = fig.units[fig.units["t_lead"] > threshold]
    assert set(under.index) == set(over.index) and len(top) == min(len(under), cp.UNDER_SHOWN)
    assert all(u.endswith(f" · {i}") for u, i in zip(top["unit"], top.index, strict=True))
    assert (top["minutes"] - threshold).round(6).tolist() == top["excess_min"].round(6).tolist()


def test_a_few_seconds_over_are_never_shown_as_zero():
    assert cp.excess_texts(pd.Series([0.01, 0.0, 2.345]), "en") == ["<0.1", "0.0", "2.3"]


def test_distribution_shares_add_up_per_grid(planned):
    fig = planned.figures("en")
    dist = cp.distribution(fig, "t_lead")
    assert (dist["share_pct"] == dist["share"] * 100).all()
    assert dist.groupby("grid_id")["share"].sum().to_numpy() == pytest.approx(1.0)
