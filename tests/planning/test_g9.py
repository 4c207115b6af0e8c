"""G9 weights in the planner, on the strip city built for them (tests/g9_city.py): an old-age west
pulls its grid smaller in residents at equal weighted demand; weights 0 give the residents' plan;
a missing column is refused with its name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from g9_city import OLD_COLS, column, g9_layers

from grid_planning.assess.checks import check_policy
from grid_planning.city.demand import unit_demand
from grid_planning.domain.request import CostParams, PlanRequest, request_from_plan
from grid_planning.planning.districts import plan_whole_districts
from grid_planning.planning.planner import plan_city

BASE = PlanRequest(k=2, balance=0.05, cost=CostParams(mode="straight"))


@pytest.fixture(scope="module")
def city():
    return g9_layers()


def _west(plan) -> str:
    return str(plan.leads[plan.leads == "W1"].index[0])


def _residents(city, plan) -> pd.Series:
    pop = pd.Series(city.index.population, index=city.index.unit_ids)
    return pop.groupby(plan.assignment.reindex(pop.index)).sum()


@pytest.fixture(scope="module")
def plans(city):
    out = {}
    for w in (0.0, 1.0, 2.0):
        res = plan_city(city, replace(BASE, age_weight=w))
        assert res.ok, res.infeasible.message("en")
        out[w] = res.plan
    return out


def test_weights_zero_are_the_residents_plan(city, plans):
    # no G9 weight: the demand is the index's own residents array, so the planner cannot differ
    assert unit_demand(city, BASE) is city.index.population
    plain = plans[0.0]
    assert _residents(city, plain)[_west(plain)] == 18_000  # the fair split: 6 columns each
    # a burden column named without a weight is shown, not weighed: the same plan
    named = plan_city(city, replace(BASE, burden_column="chronic")).plan
    assert named.assignment.equals(plain.assignment)
    assert named.leads.equals(plain.leads)


def test_old_age_west_pulls_its_grid_smaller(city, plans):
    west = [_residents(city, plans[w])[_west(plans[w])] for w in (0.0, 1.0, 2.0)]
    # each heavier age weight gives the old west fewer residents ...
    assert west[0] > west[1] > west[2]
    # ... but the weighted demand stays balanced within the tolerance asked
    for w in (1.0, 2.0):
        plan = plans[w]
        demand = pd.Series(unit_demand(city, request_from_plan(plan)), index=city.index.unit_ids)
        per_grid = demand.groupby(plan.assignment.reindex(demand.index)).sum()
        assert np.abs(per_grid / per_grid.mean() - 1).max() <= 0.05 + 1e-9
        # the old town (columns 0-3) stays whole in the west grid: the boundary moved into the east
        old = [u for u in plan.assignment.index if column(u) < OLD_COLS]
        assert set(plan.assignment[old]) == {_west(plan)}
    # at weight 2 the west's 12 old units weigh 1,800 and the young 1,200: 50,400 in all, so the
    # west holds 12 old + about 3 young units (25,200 each side at most 5 % off)
    assert 14_000 <= west[2] <= 16_000


def test_plan_states_its_weights_and_check_reverifies(city, plans):
    plan = plans[1.0]
    req = request_from_plan(plan)
    assert (req.age_weight, req.burden_column, req.burden_weight) == (1.0, None, 0.0)
    request = [c for c in check_policy(city, plan) if c.rule == "request"]
    assert [c.code for c in request] == ["request_demand_balance_ok"]
    # the same assignment judged as a plan of residents fails the ±5 % balance: the check really
    # measures the weighted demand
    as_residents = plan.with_params(request=replace(req, age_weight=0.0).to_dict())
    codes = [c.code for c in check_policy(city, as_residents) if c.rule == "request"]
    assert codes == ["request_balance_fail"]


def test_burden_weight_moves_the_boundary_too(city, plans):
    res = plan_city(city, replace(BASE, burden_column="chronic", burden_weight=4.0))
    assert res.ok, res.infeasible.message("en")
    # west 1,000 + 4 x 150 = 1,600 per unit, east 1,200: the west grid is smaller in residents
    assert _residents(city, res.plan)[_west(res.plan)] < 18_000


@pytest.mark.parametrize(
    ("change", "code", "named"),
    [
        ({"burden_column": "diabetes", "burden_weight": 1.0}, "g9_burden_column_missing", "diabetes"),
        ({"burden_weight": 1.0}, "g9_burden_column_needed", "1"),
        ({"age_weight": -1.0}, "g9_bad_weight", "age_weight"),
        ({"age_weight": 1.0, "min_beds_per_1000": 1.0}, "g9_with_beds", "1"),
    ],
)
def test_refusals_name_what_is_missing(city, change, code, named):
    res = plan_city(city, replace(BASE, **change))
    assert not res.ok and res.infeasible.code == code
    for lang in ("zh", "en"):
        assert named in res.infeasible.message(lang)


def test_units_without_65_figures_are_refused(city):
    units = city.units.copy()
    units.loc[units["id"].isin(["U000", "U051"]), "pop_65plus"] = np.nan
    gappy = replace(city, units=units)
    res = plan_city(gappy, replace(BASE, age_weight=1.0))
    assert not res.ok and res.infeasible.code == "g9_age_missing_units"
    msg = res.infeasible.message("en")
    assert "U000" in msg and "U051" in msg and "units.geojson" in msg and "pop_65plus" in msg
    # without the column at all, the refusal names it and its aliases
    none = replace(city, units=city.units.drop(columns="pop_65plus"))
    res = plan_city(none, replace(BASE, age_weight=1.0))
    assert res.infeasible.code == "g9_age_column_missing"
    assert "65岁以上" in res.infeasible.message("zh")
    # weight 0 needs no 65+ figure at all
    assert plan_city(none, BASE).ok


def test_whole_districts_weigh_the_same_demand(city):
    # one district per column: weighted by age, the old west's grid takes 5 columns, not 6
    districts = pd.Series([f"C{column(u):02d}" for u in city.index.unit_ids], index=city.index.unit_ids)
    for weight, west_columns in ((0.0, 6), (2.0, 5)):
        res = plan_whole_districts(city, replace(BASE, age_weight=weight), districts)
        assert res.ok, res.infeasible.message("en")
        assert _residents(city, res.plan)[_west(res.plan)] == west_columns * 3_000
    # a weight the units cannot meet is refused by name here too
    none = replace(city, units=city.units.drop(columns="pop_65plus"))
    res = plan_whole_districts(none, replace(BASE, age_weight=1.0), districts)
    assert res.infeasible.code == "g9_age_column_missing"
