"""Skeleton trials (issue 15): disjoint trees from each lead to what its grid must hold, a plan
completed around them, and lead sets the trees' program closes where the exact bounds do not."""

from __future__ import annotations

import numpy as np
import pytest
from reference_cities import partition_problems, planner_problem
from scipy.sparse.csgraph import connected_components

from grid_planning.domain.request import balance_band
from grid_planning.planning import exact, skeleton
from grid_planning.planning.clock import Budget

STRIP60 = "strip-60u-k4-corners5-10%-s2572"  # every G5 unit at the strip's two ends
STRIP100 = "strip-100u-k4-edge4-8%-lock-s8751"


@pytest.fixture(scope="module")
def strip60():
    return planner_problem(STRIP60)


@pytest.fixture(scope="module")
def strip100():
    return planner_problem(STRIP100)


def _search(r, p, sets, deadline, seed=0, max_trials=None):
    return skeleton.skeleton_search(
        p, sets, lambda leads: r._lock_grid([r.cand_ids[c] for c in leads]), r._partition,
        deadline, seed=seed, max_trials=max_trials,
    )


def test_the_heuristic_misses_every_lead_set_of_the_strip(strip60):
    r, _p, sets = strip60
    assert len(sets) == 15
    assert r.fallback().other_lead_sets(sets, Budget(60)) is None


def test_skeleton_trials_plan_the_strip(strip60):
    r, p, sets = strip60
    out = _search(r, p, sets, Budget(60))
    assert out.plan is not None and not out.closed_all
    leads, labels, trials = out.plan
    assert tuple(leads) in sets and 1 <= trials == out.trials
    assert partition_problems(p, leads, labels) == []
    # seeded: the same trials give the same plan
    again = _search(r, p, sets, Budget(60))
    assert again.plan[0] == leads and again.trials == trials and (again.plan[1] == labels).all()


def test_the_trials_stop_at_their_count(strip60):
    """The planner gives the trials a count, not a share of the clock: the search stops there
    (here before the trial that plans) without claiming anything."""
    r, p, sets = strip60
    out = _search(r, p, sets, Budget(60), max_trials=1)
    assert out.plan is None and out.trials == 1 and not out.closed_all
    # the first trial's trees, which no plan completed, are handed on (to the recombination)
    assert len(out.trees) == 1
    leads, tree = out.trees[0]
    assert leads == tuple(sets[0]) and (tree[p.cand_unit[list(leads)]] == np.arange(4)).all()
    assert (tree >= 0).sum() < p.n


def test_the_trials_stop_after_tree_programs_out_of_time(strip60, monkeypatch):
    """At 300 units every tree program runs out of its second (strip-300u-k8: 13 in a row, 13 s):
    after :data:`skeleton.OUT_OF_TIME` of them the trials stop, claiming nothing."""
    r, p, sets = strip60
    calls = []

    def out_of_time(*a, **_k):
        calls.append(a[1])
        return "unknown", None

    monkeypatch.setattr(skeleton, "trees", out_of_time)
    out = _search(r, p, sets, Budget(60))
    assert out.plan is None and not out.closed_all and out.trees == ()
    assert len(calls) == out.trials == skeleton.OUT_OF_TIME


@pytest.mark.parametrize("leads", [(0, 2, 3, 5), (0, 2, 4, 5)])
def test_trees_of_a_lead_set_with_a_plan_hold_each_grid_together(strip60, leads):
    """Both lead sets have plans (found by the planner and by the exact model with the leads
    and the G5 units fixed): the trees' program must never close them."""
    _r, p, _sets = strip60
    allowed = exact.lead_set_bounds(p, leads)
    status, tree = skeleton.trees(p, leads, allowed, np.ones((4, p.n)), 10.0)
    assert status == "trees"
    on = tree >= 0
    assert (tree[p.cand_unit[list(leads)]] == np.arange(4)).all()
    # each tree is connected, holds a G5 unit, and stays under the band's upper bound
    high = balance_band(p.population.sum() / 4, p.balance)[1]
    for g in range(4):
        units = np.flatnonzero(tree == g)
        sub = p.adjacency[units][:, units]
        assert connected_components(sub, directed=False)[0] == 1
        assert p.g5[units].sum() >= 1
        assert p.population[units].sum() <= high
    assert on.sum() < p.n  # trees, not a partition


def test_the_trees_close_lead_sets_the_bounds_leave(strip100):
    """On strip-100u some lead sets pass the exact bounds yet cannot hold disjoint trees (the
    locked G5 unit's tree to its lead and the other grids' trees to their G5 units cross): each
    such set is closed, in well under a second, where the exact model with the leads fixed does
    not decide in 5 s (measured)."""
    _r, p, sets = strip100
    base, _ = exact.reach(p)
    closed = []
    for leads in sets:
        allowed = exact.lead_set_bounds(p, leads, base)
        assert allowed is not None
        status, _ = skeleton.trees(p, leads, allowed, np.ones((len(leads), p.n)), 2.0)
        if status == "none":
            closed.append(leads)
    assert 1 <= len(closed) < len(sets)


def test_no_trial_after_the_deadline_and_the_deadline_is_kept(strip100):
    r, p, sets = strip100
    out = _search(r, p, sets, Budget(0))
    assert out.plan is None and out.trials == 0 and not out.closed_all
    budget = Budget(0.5)  # HiGHS interrupted on the budget's CPU seconds, not its own clock
    out = _search(r, p, sets, budget)
    assert out.plan is None and not out.closed_all
    assert budget.spent() < 1.0
