"""The planner against an exact reference model on awkward cities of its own (issue 15, item 6).

The cities (tests/reference_cities.py: four outlines, k 2-8, 20-300 units, G5 hospitals few and in
corners, along an edge or clustered, tolerances 3-15 %, some with a lock) are not the ones the
planner is tuned on, and the reference is scipy ``milp`` fed by the tests' own reading of the
policy (tests/oracle.py). For each city:

- a plan: every rule and requirement checked independently (``oracle.problems``), and the
  reference never says no plan exists;
- a refusal: it is a proof, and the reference proves it too; a refusal proven by the planar
  argument (planning/planar.py, which the reference cannot decide in 90 s) has its evidence
  checked instead, with the tests' own geometry (``reference_cities.planar_proof_problems``); a
  refusal proven by the cross-sections (planning/sections.py) is re-derived by the tests' own
  rows over every allowed lead set (``reference_cities.sections_proof_problems``, scipy ``milp``);
- a city neither decides within its time is listed in :data:`UNDECIDED`: its refusal must say
  "not found within N s" (never "cannot") and is then reported as an expected failure; a plan
  the planner finds for it must pass every check like any other. (Not a strict xfail: strip-60u
  is decided on a quiet machine and not on a loaded one, so its outcome depends on the clock.)
"""

from __future__ import annotations

import numpy as np
import oracle
import pytest
from reference_cities import (
    family,
    planar_proof_problems,
    reference_decide,
    reference_plan_ok,
    sections_proof_problems,
    shaped_city,
)

from grid_planning.city.costs import travel_costs
from grid_planning.planning import exact, run
from grid_planning.planning.planner import plan_city

#: Seconds the reference may spend proving a refusal, and checking that a city the planner
#: planned is not one it can prove impossible (the planner gets 20 s).
REF_PROOF_SECONDS = 90.0


REF_CHECK_SECONDS = 5.0


QUICK = family((20, 40, 60, 100), 5, seed=0)
SLOW = family((200, 300), 4, seed=1)

#: Cities the planner refuses as "not found" within its 20 s (measured 2026-12-07). The
#: reference did not decide the 60-100-unit ones in 60 s either. strip-60u-k4-corners5-10% is
#: planned by the skeleton trials (planning/skeleton.py): 4.7-6.4 s in all, 1-1.6 s of them in
#: the trials (w6-steady: 2.5-2.8 s quiet; at a load of 7-9 on 2 cores 7.2-14.4 s in 9 of 11 runs
#: since a completion may take 6 s, then 10 s, of wall clock; before, never planned there).
#: ring-100u-k8-corners10-15% is planned by the wider search (planning/search.py): 5.6-10 s in all
#: on a loaded machine. rect-300u-k6-edge6-3% is planned by it too (trial 36), now at any load:
#: the lead sets tried and the search's trials are counted, not timed (w6-steady,
#: benchmarks/bench_steady.py: 2.7-3.9 s quiet, 13.3-16.8 s at a load of 4-9 on 2 cores, 13 of 13
#: loaded runs; before, "not found" in each of 14), so it is checked like any planned city.
#: The truth, established offline (benchmarks/prove_undecided.py; benchmarks/README.md,
#: bench_refusals): strip-300u-k8-8%-lock is still unknown at its +-8 % (w6-chords: no lead set
#: decided by HiGHS with the chords written in; w7-sections: none by the cross-sections in 20 s a
#: set; recombination comes no nearer than 44.9 %); at +-45 % and +-60 % the planner plans it
#: since its recombination step (tests/planning/test_known_plans.py). Its "not found" is not
#: yet known to be true.
#: strip-100u-k4-edge4-8%-lock (no plan: 59 s offline, HiGHS with the leads fixed) is refused with
#: a proof since the planner's cross-section step (planning/sections.py): each of its 10 lead
#: sets closed, about 3 s in all (benchmarks/bench_sections.py); the tests re-derive the proof
#: with their own rows (``sections_proof_problems``).
#: ell-200u-k3-corners5-8%-lock (HiGHS decides no lead set in 800 s) is refused with a proof
#: since the planner's planar step (planning/planar.py): the lock's path to its lead cuts every
#: other lead off from every G5 unit, in well under a second; its evidence is checked here.
UNDECIDED = {"strip-300u-k8-edge10-8%-lock-s7535"}

#: Undecided cities no step came near within the planner's 20 s (benchmarks/bench_refusals.py
#: measures them there): the suite gives them :data:`UNDECIDED_SECONDS`, enough to check the
#: honest wording of their refusal (and any plan that comes) without spending 20 s of CPU each.
HOPELESS = UNDECIDED
UNDECIDED_SECONDS = 6.0


def _params(cases, *marks):
    return [pytest.param(case, id=case.name, marks=list(marks)) for case in cases]


def _agree(case, monkeypatch):
    if case.name in HOPELESS:
        monkeypatch.setattr(run, "FALLBACK_SECONDS", UNDECIDED_SECONDS)
    layers, request = shaped_city(case)
    costs = travel_costs(layers)
    m = oracle.model(layers, request, costs)
    assert not isinstance(m, str), m
    res = plan_city(layers, request, costs=costs, analyse=False)
    if res.ok:
        assert oracle.problems(layers, request, res.plan, costs) == []
        ref = reference_decide(m, time_limit=REF_CHECK_SECONDS)
        assert ref.status != "none", "the reference proves no plan exists, yet one came back"
        if ref.status == "plan":
            assert reference_plan_ok(m, ref.labels) == []
        return
    inf = res.infeasible
    if not inf.proven:  # the honest wording, then the known gap
        assert "does not prove" in inf.message("en") and "cannot" not in inf.message("en")
        if case.name in UNDECIDED:
            pytest.xfail(f"not decided within the time: {inf.message('en')[:200]}")
        raise AssertionError(f"not decided: {inf.message('en')}")
    if inf.params.get("proof") == "planar":  # beyond the reference in 90 s: the evidence instead
        assert planar_proof_problems(layers, m, inf.params) == []
        return
    if inf.params.get("proof") == "sections":  # the tests' own rows over every allowed lead set
        assert sections_proof_problems(layers, m) == []
        return
    ref = reference_decide(m, time_limit=REF_PROOF_SECONDS)
    assert ref.status == "none", f"the planner proved no plan, the reference says {ref.status}"


@pytest.mark.parametrize("case", _params(QUICK))
def test_planner_agrees_with_the_reference(case, monkeypatch):
    _agree(case, monkeypatch)


@pytest.mark.parametrize("case", _params(SLOW, pytest.mark.slow))
def test_planner_agrees_with_the_reference_up_to_300_units(case, monkeypatch):
    _agree(case, monkeypatch)


def test_the_family_is_awkward():
    """The family covers what it says: every outline and G5 placement, k from 2 to 8, tight
    tolerances, locks; and its cities are both planned and refused."""
    cases = QUICK + SLOW
    assert {c.shape for c in cases} == {"rect", "strip", "ell", "ring"}
    assert {c.place for c in cases} == {"corners", "edge", "cluster"}
    assert min(c.k for c in cases) == 2 and max(c.k for c in cases) == 8
    assert min(c.balance for c in cases) <= 0.03 and any(c.lock for c in cases)
    assert max(c.n for c in cases) == 300
    assert all(c.k <= c.n_g5 <= c.k + 2 for c in cases)


ABOVE = {c.name: c for c in family((320, 400), 6, seed=2)}


@pytest.mark.parametrize(
    "name",
    ["ring-320u-k8-corners10-3%-s1879",
     pytest.param("ell-400u-k4-cluster5-8%-s3459", marks=pytest.mark.slow)],
)
def test_above_300_units_a_refusal_says_not_found_and_every_option_plans(name):
    """Past 300 units no exact search runs: a refusal never claims impossibility, and each
    option it offers, applied, gives a plan the independent checker passes; options that need
    no policy exception come first."""
    layers, request = shaped_city(ABOVE[name])
    assert layers.index.n > 300
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs)
    assert not res.ok
    inf = res.infeasible
    assert not inf.proven and inf.code == "not_found"
    en, zh = inf.message("en"), inf.message("zh")
    assert "was found within" in en and "does not prove" in en and "cannot" not in en
    assert "秒内未找到" in zh and "不证明" in zh and "无法" not in zh
    assert inf.options
    exceptions = [o.needs_reason for o in inf.options]
    assert exceptions == sorted(exceptions)  # no exception before a plain option
    for option in inf.options:
        assert option.verified
        trial = option.apply(request, reason="市卫健委批准（测试）")
        again = plan_city(layers, trial, costs=costs, analyse=False)
        assert again.ok, option.steps
        assert oracle.problems(layers, trial, again.plan, costs) == [], option.steps


@pytest.mark.parametrize(
    "name", ["ring-100u-k4-edge5-10%-s4229", "strip-40u-k3-edge4-8%-lock-s6322"]
)
def test_presolve_bounds_never_cut_off_a_plan(name):
    """What the presolve rules out (``exact.reach``, ``exact.lead_set_bounds``) is never in a
    plan that passes the independent checker: every unit of every grid is within its bounds."""
    case = next(c for c in QUICK if c.name == name)
    layers, request = shaped_city(case)
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    assert res.ok and oracle.problems(layers, request, res.plan, costs) == []
    r = run._Run(layers, request, costs, lambda _f, _k: None)
    problem = r.exact_problem()
    lead_pos = [r.cand_ids.index(str(f)) for f in res.plan.leads]
    labels = res.plan.assignment.reindex(layers.index.unit_ids).map(
        dict(zip(res.plan.leads.index, range(len(lead_pos)), strict=True))).to_numpy(int)
    allowed, most = exact.reach(problem)
    units = np.arange(layers.index.n)
    assert allowed[np.asarray(lead_pos)[labels], units].all()
    assert np.bincount(labels).max() <= most
    order = np.argsort(lead_pos)
    bounds = exact.lead_set_bounds(problem, sorted(lead_pos), allowed)
    assert bounds is not None
    rank = np.empty(len(order), int)
    rank[order] = np.arange(len(order))
    assert bounds[rank[labels], units].all()


@pytest.mark.slow
def test_the_planar_evidence_check_is_no_rubber_stamp():
    """The tests' own check of a planar proof (``planar_proof_problems``) fails evidence that
    does not prove the refusal: no lead cut off, an end outside the lead's grid, a G5 unit moved
    into the cut-off leads' units."""
    case = next(c for c in SLOW if c.name == "ell-200u-k3-corners5-8%-lock-s3118")
    layers, request = shaped_city(case)
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    inf = res.infeasible
    assert inf.proven and inf.code == "no_plan" and inf.params["proof"] == "planar"
    assert res.stats["seconds"] < 5
    m = oracle.model(layers, request, costs)
    assert planar_proof_problems(layers, m, inf.params) == []
    assert planar_proof_problems(layers, m, inf.params | {"planar_cut": []})
    other = next(u for u in layers.units["id"].astype(str) if u not in inf.params["planar_ends"])
    wrong_end = inf.params | {"planar_ends": [inf.params["planar_ends"][0], other]}
    assert any("is not in the grid" in p for p in planar_proof_problems(layers, m, wrong_end))
    m.g5 = m.g5.copy()
    for lead in inf.params["planar_cut"]:  # a G5 member in each cut-off lead's own unit
        m.g5[m.cand_unit[m.cand.index(lead)]] = 1
    assert planar_proof_problems(layers, m, inf.params)
