"""Plans found offline for reference cities the planner refuses as "not found" (issue 15).

strip-300u-k8-edge10-8%-lock-s7535 (tests/reference_cities.py) at its own +-8 % is undecided
(benchmarks/README.md, bench_refusals). At +-60 % the planner said "not found within
20 s", yet a plan exists: recombination of a skeleton's trees (benchmarks/recombine_plans.py
``--sets 1 --seeds 1``) found the one in
``fixtures/plans/strip300_lock_loose_plan.json`` (lead set T0-T6, T9; grids between 233 k and
694 k residents, the mean 538 k). It was a known false refusal of the looser request; the
planner now finds a plan there by recombination (the slow test below). Every check passes at
+-60 %, and the plan is far from the city's +-8 %.

strip-300u-k7-corners8-15%-s5002 (``family((60, 100, 200, 300), 4, seed=4)``, a new draw the
planner was not tuned on; benchmarks/sweep_new_cities.py) was refused as "not found within 20 s"
at its OWN +-15 % on a loaded machine (the fallback's 20 s were then wall-clock seconds), while
recombination found the plan in ``fixtures/plans/strip300_k7_corners_plan.json`` in 10 s (lead set T0-T3, T5, T7, T8; the largest
grid 14.8 % off the mean). The planner's wider search finds one at its 226th trial.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import oracle
import pandas as pd
import pytest
from reference_cities import family, shaped_city

from grid_planning.city.costs import travel_costs
from grid_planning.planning import clock, fallback, run
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
@pytest.mark.parametrize("balance", [0.6, 0.45])
def test_the_planner_plans_strip300_loosened(monkeypatch, balance):
    """Once a known false refusal ("not found within 20 s" although the fixture's plan exists):
    the fallback's recombination stage (``grid_planning/planning/recombine.py``) grows the
    trees of cost 1 of the nearest lead set into a partition (already within +-60 %) and brings
    it into the band (+-45 %: its fourth seed, 15,491 steps in all). Every stage on the way is
    counted, not timed, so the plan does not depend on the machine; the clock is only the
    fallback's safety net. Within the planner's own 20 s it is found at a load of up to 7.5 on 2
    cores (+-60 %: 8-14 s; benchmarks/bench_recombine.py), not when busy loops leave the planner
    12 % of a core; the test gives that net 60 s, so the suite's own load cannot turn the plan
    into a refusal. At +-30 % the planner still finds nothing."""
    monkeypatch.setattr(run, "FALLBACK_SECONDS", 60.0)
    layers, request, _ = _city_and_plan()
    request = replace(request, balance=balance)
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    assert res.ok, res.infeasible.message("en")
    assert res.stats["method"] == "recombine"
    assert res.stats["max_balance_dev"] <= balance
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
@pytest.mark.parametrize("slowdown", [1.0, 2.0])
@pytest.mark.parametrize("fixture", SWEPT)
def test_a_swept_city_is_planned(monkeypatch, fixture, slowdown):
    """The sweep's false refusals are planned now, within the planner's own 20 s:
    strip-300u-k7-corners8-15% by the wider search's trials before recombination (the 226th;
    ``fallback.SECOND_TRIALS``), about 9 s of CPU. ``slowdown`` 2: the wall clock runs twice as fast
    as the planner's CPU seconds, a machine that leaves it half a core; the same trial plans,
    because the fallback's seconds are CPU seconds (:mod:`grid_planning.planning.clock`). On the
    wall clock that machine was refused ("not found within 20 s": the sweep's load of 4-8)."""
    real = time.perf_counter
    t0 = real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + (real() - t0) * slowdown)
    # the wall clock's cap further off than the planner's 3x, so that the load of the machine
    # running the suite, on top of the slowdown, cannot reach it
    monkeypatch.setattr(clock, "WALL_FACTOR", 10.0)
    recombined = []  # recombination must not come first: its steps took the search's time
    monkeypatch.setattr(fallback, "recombine_search", lambda *a, **k: recombined.append(1))
    layers, request, _ = _swept_city_and_plan(fixture)
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    assert res.ok, res.infeasible.message("en")
    assert recombined == [] and res.stats["method"].startswith("wider-search")
    assert res.stats["iterations"] == 226
    assert res.stats["max_balance_dev"] <= request.balance
    assert oracle.problems(layers, request, res.plan, costs) == []
