"""The planner's answer equals exhaustive search on small cities where the easy answer is wrong.

Each instance is a small city (a grid of cells with lakes cut out, random populations and
hospitals) and a request whose nearest-lead assignment, under the optimal leads, breaks something:
a grid in two pieces (its lead's nearest units wrap around a lake), a grid without a G5 member, or
a population outside the tolerance. So contiguity repair, the G5 pull, balancing and local search
all have to change the answer, and the test asserts (a) the precondition, (b) that the planner
(exact on small cities) finds exactly the exhaustive optimum or proves there is none, and (c) that
the heuristic planner, forced on the same city, returns only valid plans no better than that
optimum (an optimum it cannot beat is a check on the exhaustive search too).
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
import oracle
import pandas as pd
import pytest
import shapely

from grid_planning.city.costs import travel_costs
from grid_planning.city.layers import load_city
from grid_planning.domain.request import PlanRequest
from grid_planning.planning.planner import plan_city

CRS = "EPSG:32650"


def tiny_instance(seed: int):
    """A 3 x 4 grid of 2 km cells with 1-2 lakes removed, hospitals and a request."""
    rng = np.random.default_rng(seed)
    nx, ny, s = 4, 3, 2000.0
    cells = [(i, j) for j in range(ny) for i in range(nx)]
    lakes = {cells[int(x)] for x in rng.choice(len(cells), size=int(rng.integers(1, 3)), replace=False)}
    keep = [c for c in cells if c not in lakes]
    x0, y0 = 500_000.0, 3_380_000.0
    geoms = [shapely.box(x0 + i * s, y0 + j * s, x0 + (i + 1) * s, y0 + (j + 1) * s) for i, j in keep]
    units = gpd.GeoDataFrame(
        {"id": [f"U{k}" for k in range(len(keep))], "population": rng.integers(1000, 50_000, len(keep)).astype(float)},
        geometry=geoms,
        crs=CRS,
    ).to_crs(4326)
    rows = []
    lead_cells = rng.choice(len(keep), size=3, replace=False)
    for n, k in enumerate(lead_cells):
        g = geoms[int(k)]
        p = shapely.Point(g.centroid.x + rng.uniform(-700, 700), g.centroid.y + rng.uniform(-700, 700))
        rows.append((f"L{n}", "tertiary", "general", "municipal", 800.0, p))
    for n in range(int(rng.integers(1, 3))):
        g = geoms[int(rng.integers(len(keep)))]
        rows.append((f"S{n}", "secondary", "general", "district", 200.0, g.representative_point()))
    fac = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "type": [r[2] for r in rows],
            "owner_level": [r[3] for r in rows],
            "beds": [r[4] for r in rows],
        },
        geometry=[r[5] for r in rows],
        crs=CRS,
    ).to_crs(4326)
    layers = load_city(units, fac)
    k = int(rng.choice([2, 3]))
    balance = rng.choice([None, 0.25, 0.5])
    return layers, PlanRequest(k=k, balance=balance)


def _nearest_breaks_something(layers, request, costs, m) -> bool:
    """Under the exhaustive optimum's leads, does plain nearest-lead assignment break a rule?"""
    feasible, best, leads = _optimum_leads(m)
    if not feasible:
        return True
    labels = np.argmin(m.minutes[:, leads], axis=1)
    labels[m.cand_unit[leads]] = np.arange(len(leads))
    for g in range(len(leads)):
        members = [u for u in range(m.n) if labels[u] == g]
        if not oracle._connected(members, m.nbrs):
            return True
        if m.g5[members].sum() < 1:
            return True
    if m.balance is not None:
        pops = np.bincount(labels, weights=m.w, minlength=len(leads))
        if (np.abs(pops / (m.w.sum() / len(leads)) - 1) > m.balance).any():
            return True
    return False


def _optimum_leads(m):
    best = (None, None)
    import itertools

    for leads in itertools.combinations(range(len(m.cand)), m.k):
        sub = replace(m, minutes=m.minutes[:, list(leads)], cand=[m.cand[c] for c in leads],
                      cand_unit=m.cand_unit[list(leads)], required=set(), waived=set())
        ok, val = oracle.brute_force(sub)
        if ok and (best[0] is None or val < best[0]):
            best = (val, list(leads))
    return best[0] is not None, best[0], best[1]


#: Seed -> the exhaustive search's optimum (total population-weighted minutes to the lead), for
#: the first twelve seeds (of 0-299) where a plan exists and the nearest-lead answer under the
#: optimal leads breaks a rule (found once with ``oracle.brute_force``; pinned so that a drift in
#: the oracle or the instance generator fails here instead of quietly choosing other cases).
HARD_FEASIBLE = {
    0: 1104062.1650921106,
    6: 1549715.7779431343,
    16: 1303567.359420538,
    39: 1565280.0444408655,
    40: 1838030.3881690502,
    44: 1386774.4313499928,
    53: 1739075.7652168274,
    56: 1280988.4466569424,
    57: 2153855.7499973774,
    61: 2094406.284194529,
    78: 1276871.0989187956,
    83: 1223058.8019385934,
}
#: Seeds whose request has no plan at all (the planner must prove it, as the search does).
INFEASIBLE = (1, 2, 3, 9)
CASES = [*HARD_FEASIBLE, *INFEASIBLE]


@pytest.mark.parametrize("seed", CASES)
def test_planner_equals_exhaustive_search_where_nearest_is_wrong(seed):
    layers, request = tiny_instance(seed)
    costs = travel_costs(layers)
    m = oracle.model(layers, request, costs)
    assert _nearest_breaks_something(layers, request, costs, m)  # the precondition
    feasible, best = oracle.brute_force(m)
    assert feasible == (seed in HARD_FEASIBLE)
    if feasible:
        assert best == pytest.approx(HARD_FEASIBLE[seed], rel=1e-9)
    res = plan_city(layers, request, costs=costs)
    assert res.ok == feasible, res.infeasible and res.infeasible.explain("en")
    if feasible:
        assert oracle.problems(layers, request, res.plan, costs) == []
        assert oracle.objective(layers, res.plan, costs) == pytest.approx(best, rel=1e-6)
        assert res.stats["method"] == "exact-mip"
    else:
        assert res.infeasible.proven
    heur = plan_city(layers, replace(request, method="heuristic"), costs=costs, analyse=False)
    if heur.ok:
        assert oracle.problems(layers, request, heur.plan, costs) == []
        assert oracle.objective(layers, heur.plan, costs) >= best - 1e-6


def test_units_of_a_tiny_instance_are_what_the_test_says():
    layers, _ = tiny_instance(CASES[0])
    assert 10 <= len(layers.units) <= 11
    assert pd.Index(layers.facilities["id"]).str.startswith("L").sum() == 3
