"""The offline decider of benchmarks/decide_unknown.py (issue 15: cities whose truth was unknown).

Its verdict per lead set is checked against the oracle's brute force on tiny cities (a closed set
never has a plan, a plan is a plan), its re-check catches a cut that does not hold, and the saved
proof that strip-200u-k6-cluster7-10%-s1776 has no plan is re-checked from its records."""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import oracle
import pytest
from conftest import benchmark_module
from reference_cities import reference_plan_ok


def _bench():
    return benchmark_module("decide_unknown")


def _tiny_city(seed: int) -> oracle.Model:
    """A ``cols`` x ``rows`` grid of units (rook neighbours), 2-3 leads among 4 candidates,
    a few G5 units, lognormal residents, a tolerance of 10-60 %."""
    rng = np.random.default_rng(seed)
    cols, rows = [(3, 3), (2, 5), (5, 2), (2, 4), (3, 2)][seed % 5]
    n = cols * rows
    nbrs = [set() for _ in range(n)]
    for r, c in itertools.product(range(rows), range(cols)):
        u = r * cols + c
        for dr, dc in ((0, 1), (1, 0)):
            if r + dr < rows and c + dc < cols:
                v = (r + dr) * cols + c + dc
                nbrs[u].add(v)
                nbrs[v].add(u)
    k = int(rng.integers(2, 4))
    cand_unit = rng.choice(n, 4, replace=False)
    g5 = np.zeros(n, int)
    g5[rng.choice(n, int(rng.integers(k, k + 3)), replace=False)] = 1
    locks = {}
    if seed % 4 == 3:
        u = int(rng.choice([u for u in range(n) if u not in cand_unit]))
        locks[u] = int(rng.integers(4))
    return oracle.Model(
        n=n, k=k, w=np.round(rng.lognormal(3, 0.6, n)), minutes=rng.uniform(1, 30, (n, 4)),
        cand=[f"T{i}" for i in range(4)], cand_unit=cand_unit, required=set(), locks=locks,
        g5=g5, waived={0} if seed % 7 == 6 else set(), balance=float(rng.choice([0.1, 0.3, 0.6])),
        beds=np.zeros(n), min_beds=None, nbrs=nbrs)


@pytest.mark.parametrize("seed", range(40))
def test_a_closed_set_has_no_plan_and_a_plan_passes(seed):
    d = _bench()
    m = _tiny_city(seed)
    for leads in d.lead_sets(m):
        one = copy.copy(m)
        one.required = set(leads)  # the brute force over exactly this set
        exists, _ = oracle.brute_force(one)
        rec = d.decide_set(m, leads, 30.0, 30.0, flows=seed % 2 == 0)
        assert rec["status"] in ("closed", "plan"), rec["status"]
        assert (rec["status"] == "plan") == exists, (seed, leads)
        if exists:
            assert reference_plan_ok(one, np.array(rec["labels"])) == []
        else:
            assert d.check_record(m, rec, 30.0) == []


def test_the_recheck_catches_a_cut_that_does_not_hold():
    d = _bench()
    m = _tiny_city(0)
    leads = d.lead_sets(m)[0]
    # a forged proof: the first lead's grid "must" hold the unit of the second lead
    forged = {"leads": [m.cand[c] for c in leads], "flows": True, "cuts": [
        {"lead": m.cand[leads[0]], "u": None, "S": [int(m.cand_unit[leads[1]])], "avoid": []}]}
    bad = d.check_record(m, forged, 30.0)
    assert bad and "could be a grid" in bad[0]
    forged["cuts"] = [{"lead": m.cand[leads[0]], "u": int(m.cand_unit[leads[1]]), "S": [], "avoid": []}]
    bad = d.check_record(m, forged, 30.0)
    assert bad and "does not separate" in bad[0]


@pytest.mark.slow
def test_strip200_cluster_has_no_plan_every_lead_set_rechecked():
    """The saved proof (benchmarks/results/decide_unknown/strip-200u-k6-cluster7-10%-s1776.jsonl):
    each of the 28 lead sets closed, each record's cuts hold (graph search) and its rows are
    infeasible again (HiGHS)."""
    d = _bench()
    name = "strip-200u-k6-cluster7-10%-s1776"
    _, _, m, _ = d.city(name)
    saved = {}
    for line in (d.RESULTS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        saved[tuple(rec["leads"])] = rec
    sets = [tuple(m.cand[c] for c in s) for s in d.lead_sets(m)]
    assert len(sets) == 28 and set(sets) <= set(saved)
    for key in sets:
        assert saved[key]["status"] == "closed", key
        assert d.check_record(m, saved[key], 60.0) == [], key
