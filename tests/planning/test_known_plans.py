"""Plans found offline for reference cities the planner refuses as "not found" (issue 15).

strip-300u-k8-edge10-8%-lock-s7535 (tests/reference_cities.py) at its own +-8 % is undecided
(benchmarks/README.md, bench_refusals). At +-60 % the planner still says "not found within
20 s", yet a plan exists: recombination of a skeleton's trees (benchmarks/recombine_plans.py
``--sets 1 --seeds 1``) found the one in
``fixtures/plans/strip300_lock_loose_plan.json`` (lead set T0-T6, T9; grids between 233 k and
694 k residents, the mean 538 k). It is a known false refusal of the looser request, kept here
so the planner can be taught to find it: every check passes at +-60 %, and the plan is far from
the city's +-8 %.

strip-300u-k7-corners8-15%-s5002 (``family((60, 100, 200, 300), 4, seed=4)``, a new draw the
planner was not tuned on; benchmarks/sweep_new_cities.py) is refused as "not found within 20 s"
at its OWN +-15 %, while recombination found the plan in
``fixtures/plans/strip300_k7_corners_plan.json`` in 10 s (lead set T0-T3, T5, T7, T8; the largest
grid 14.8 % off the mean). A false refusal of the request as the city asks it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import oracle
import pandas as pd
import pytest
from reference_cities import family, shaped_city

from grid_planning.city.costs import travel_costs
from grid_planning.planning.planner import plan_city

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"
FIXTURE = PLANS / "strip300_lock_loose_plan.json"
#: False refusals of cities the planner was not tuned on (benchmarks/sweep_new_cities.py), each
#: a plan at the city's own request.
SWEPT = ["strip300_k7_corners_plan.json"]


class _Plan:
    def __init__(self, assignment: pd.Series, leads: pd.Series) -> None:
        self.assignment, self.leads = assignment, leads


def _city_and_plan():
    saved = json.loads(FIXTURE.read_text(encoding="utf-8"))
    case = next(c for c in family((200, 300), 4, seed=1) if c.name == saved["city"])
    layers, request = shaped_city(replace(case, balance=saved["balance"]))
    plan = _Plan(pd.Series(saved["assignment"]), pd.Series(saved["leads"]))
    return layers, request, plan


def test_strip300_has_a_plan_at_60_percent():
    layers, request, plan = _city_and_plan()
    costs = travel_costs(layers)
    assert request.balance == 0.6 and request.k == 8 and request.locks
    assert oracle.problems(layers, request, plan, costs) == []
    # the same plan breaks only the balance of the city's own request (+-8 %)
    assert oracle.problems(layers, replace(request, balance=0.08), plan, costs) == ["balance not met"]


@pytest.mark.slow
def test_the_planner_at_60_percent_plans_or_says_honestly_that_it_found_none():
    """The known false refusal, tracked: given the planner's 20 s, the city at +-60 % gets a plan
    that passes every check, or a refusal that says "not found" and never that none exists (then
    an expected failure: the planner does not yet find this city's nested plan)."""
    layers, request, _ = _city_and_plan()
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    if not res.ok:
        inf = res.infeasible
        assert not inf.proven and inf.code == "not_found"
        assert "does not prove" in inf.message("en") and "不证明" in inf.message("zh")
        pytest.xfail(f"known false refusal: {inf.message('en')[:120]}")
    assert oracle.problems(layers, request, res.plan, costs) == []


def _swept_city_and_plan(fixture: str):
    saved = json.loads((PLANS / fixture).read_text(encoding="utf-8"))
    fam = saved["family"]
    case = next(c for c in family(tuple(fam["sizes"]), fam["per_size"], seed=fam["seed"])
                if c.name == saved["city"])
    layers, request = shaped_city(case)
    assert request.balance == saved["balance"]  # the city's own request, nothing loosened
    return layers, request, _Plan(pd.Series(saved["assignment"]), pd.Series(saved["leads"]))


@pytest.mark.parametrize("fixture", SWEPT)
def test_a_swept_city_has_a_plan_at_its_own_request(fixture):
    layers, request, plan = _swept_city_and_plan(fixture)
    costs = travel_costs(layers)
    assert oracle.problems(layers, request, plan, costs) == []
    # the plan is a real test of the balance: 1 point tighter and it fails
    tighter = replace(request, balance=request.balance - 0.01)
    assert oracle.problems(layers, tighter, plan, costs) == ["balance not met"]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", SWEPT)
def test_a_swept_city_is_planned_or_refused_honestly(fixture):
    """The sweep's false refusals, tracked: a plan that passes every check, or "not found" and
    never "none exists" (then an expected failure: a plan exists)."""
    layers, request, _ = _swept_city_and_plan(fixture)
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    if not res.ok:
        inf = res.infeasible
        assert not inf.proven and inf.code == "not_found"
        assert "does not prove" in inf.message("en") and "不证明" in inf.message("zh")
        pytest.xfail(f"known false refusal: {inf.message('en')[:120]}")
    assert oracle.problems(layers, request, res.plan, costs) == []
