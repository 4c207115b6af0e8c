"""Whole districts: a plan that keeps every district in one grid, its splits, and a refusal that
names the district that cannot stay whole."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from grid_planning.city.districts import district_splits, splits_summary, unit_districts
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.districts import plan_whole_districts
from grid_planning.planning.planner import plan_city


@pytest.fixture(scope="module")
def city():
    base = synthetic_city(600, 60, 8, seed=1)
    x = base.index.points[:, 0]
    # six vertical strips of equal unit count: the districts
    strip = np.searchsorted(np.quantile(x, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]), x, side="right")
    units = base.units.assign(district=[f"D{s}" for s in strip])
    return dataclasses.replace(base, units=units)


def _pop(city, plan):
    return pd.Series(city.index.population, index=city.index.unit_ids).reindex(plan.assignment.index)


def test_splits_counted_from_the_assignment(city):
    d = unit_districts(city)
    ids = city.index.unit_ids
    # a made-up assignment: everything in G1 except the first 10 units of D0, in G2
    first = ids[(d == "D0").to_numpy()][:10]
    assignment = pd.Series("G1", index=ids, dtype=object)
    assignment[first] = "G2"
    splits = district_splits(assignment, d, city.index.population)
    summary = splits_summary(splits)
    assert summary["cut"] == 1 and summary["cut_names"] == ["D0"]
    pop = pd.Series(city.index.population, index=ids)
    d0 = pop[(d == "D0").to_numpy()]
    expected = min(d0[first].sum(), d0.sum() - d0[first].sum())
    assert summary["smaller_parts"] == pytest.approx(expected)
    assert splits.loc["D1", "grids"] == 1 and splits.loc["D1", "smaller_parts"] == 0


def test_whole_districts_plan_cuts_none(city):
    d = unit_districts(city)
    request = PlanRequest(k=3, balance=0.5, cost=CostParams(mode="straight"))
    free = plan_city(city, request).plan
    assert splits_summary(district_splits(free.assignment, d, _pop(city, free)))["cut"] > 0
    result = plan_whole_districts(city, request, d)
    assert result.ok, result.infeasible and result.infeasible.message("en")
    plan = result.plan
    summary = splits_summary(district_splits(plan.assignment, d, _pop(city, plan)))
    assert summary["cut"] == 0 and summary["districts"] == 6
    assert plan.k == 3
    # every grid within the tolerance, counted on the units
    sizes = _pop(city, plan).groupby(plan.assignment).sum()
    assert (sizes <= sizes.mean() * 1.5 + 1).all()
    # whole districts cost travel time, never save it
    assert plan.param_map["objective"] >= free.param_map["objective"] - 1e-6


def test_district_too_big_for_one_grid_is_named(city):
    units = city.units.copy()
    d = unit_districts(city)
    # merge three strips into one district holding half the city
    units["district"] = d.replace({"D1": "BIG", "D2": "BIG", "D3": "BIG"}).to_numpy()
    big = dataclasses.replace(city, units=units)
    result = plan_whole_districts(big, PlanRequest(k=4, balance=0.2, cost=CostParams(mode="straight")),
                                  unit_districts(big))
    assert not result.ok
    inf = result.infeasible
    assert inf.code == "whole_districts_oversized" and "balance" in inf.binding
    assert "BIG" in inf.message("en") and "BIG" in inf.message("zh")
