"""The bounds' disjoint-paths argument (``exact.lead_set_bounds``): the grids needing G5 must
reach G5 units by paths that share no unit. Checked against a brute force over every plan of
small cities (tests/small_cities.py), and on the cities of the sweep it proves (issue 15)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from reference_cities import family, shaped_city
from scipy.sparse.csgraph import connected_components
from small_cities import cell_problem, has_plan, square_cells

from grid_planning.planning import exact
from grid_planning.planning.planner import plan_city


def _matching_only(p, leads, monkeypatch) -> np.ndarray | None:
    """The bounds without the disjoint paths (what closed sets before them)."""
    with monkeypatch.context() as m:
        m.setattr(exact, "_disjoint_paths", lambda *_a: True)
        return exact.lead_set_bounds(p, leads)


# 5 x 3 squares less the top row of columns 2-4: three leads on the west edge, one per row, the
# G5 units in the east, where the city is two units wide.
DROP = {12, 13, 14}
NARROW = square_cells(5, 3, DROP)
KEEP = [u for u in range(15) if u not in DROP]
WEST = [KEEP.index(0), KEEP.index(5), KEEP.index(10)]
EAST = [KEEP.index(2), KEEP.index(3), KEEP.index(9)]


def test_three_grids_cannot_reach_g5_through_two_units(monkeypatch):
    p = cell_problem(NARROW, WEST, 3, EAST)
    assert _matching_only(p, (0, 1, 2), monkeypatch) is not None  # each grid has a G5 unit of its own
    assert exact.lead_set_bounds(p, (0, 1, 2)) is None  # but only two paths get through
    assert not has_plan(p, (0, 1, 2))


def test_a_waiver_or_a_third_row_leaves_the_set_open_and_a_plan_exists():
    waived = cell_problem(NARROW, WEST, 3, EAST, waived=[False, False, True])
    full = square_cells(5, 3)
    wide = cell_problem(full, [0, 5, 10], 3, (4, 9, 14))
    for p in (waived, wide):
        assert exact.lead_set_bounds(p, (0, 1, 2)) is not None
        assert has_plan(p, (0, 1, 2))


def test_a_lead_holding_g5_needs_no_path():
    """The top lead's own unit holds G5: the two other grids pass the corridor, a plan exists."""
    p = cell_problem(NARROW, WEST, 3, [KEEP.index(2), KEEP.index(9), WEST[2]])
    assert exact.lead_set_bounds(p, (0, 1, 2)) is not None and has_plan(p, (0, 1, 2))


_CLOSED: list[int] = []


@pytest.mark.parametrize("seed", range(40))
def test_a_set_the_paths_close_never_has_a_plan(seed, monkeypatch):
    """Random small cities (two or three rows, some squares dropped), the candidates and G5
    units anywhere, random residents and tolerances: whatever the paths close that the matching
    leaves, the brute force finds no plan for."""
    rng = np.random.default_rng(seed)
    cols, rows = [(6, 2), (5, 2), (4, 3), (5, 3)][seed % 4]
    drop = set(rng.choice(cols * rows, size=int(rng.integers(0, 3)), replace=False).tolist())
    cells = square_cells(cols, rows, drop)
    n = len(cells)
    k = 3 if n <= 12 else 2
    cand = rng.choice(n, size=k + 1, replace=False).tolist()
    holders = rng.choice(n, size=k + int(rng.integers(-1, 2)), replace=False).tolist()
    p = cell_problem(cells, cand, k, holders, population=rng.integers(1, 6, n),
                     balance=float(rng.choice([0.3, 0.6, 2.0])))
    if connected_components(p.adjacency, directed=False)[0] > 1:
        pytest.skip("the dropped squares cut the city in two")
    closed = 0
    for s in itertools.combinations(range(k + 1), k):
        if _matching_only(p, s, monkeypatch) is None:
            continue
        if exact.lead_set_bounds(p, s) is None:
            closed += 1
            assert not has_plan(p, s), (seed, s)
    _CLOSED.append(closed)


def test_the_random_cities_were_not_all_open():
    """Run after the random cities (pytest keeps file order): the paths closed some of the sets
    the matching left, so the soundness test above checked something."""
    assert sum(_CLOSED) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["strip-200u-k6-cluster8-5%-s6962", "ell-200u-k8-cluster8-15%-s14"])
def test_a_cluster_city_of_the_sweep_is_proven(name):
    """benchmarks/sweep_new_cities.py: every G5 hospital in one corner, 200 units. The planner
    said "not found within 20 s"; the skeleton's tree programs closed every lead set offline in
    222-307 s. The disjoint paths close them all in the bounds (5 paths for 6 grids; 7 for 8):
    a proven refusal at once."""
    case = next(c for s in (3, 4) for c in family((60, 100, 200, 300), 4, seed=s) if c.name == name)
    layers, request = shaped_city(case)
    res = plan_city(layers, request, analyse=False)
    inf = res.infeasible
    assert not res.ok and inf.proven and inf.params["proof"] == "paths", inf.message("en")
    assert res.stats["seconds"] < 20
    paths, grids = inf.params["paths"], inf.params["grids"]
    assert paths < grids == request.k  # no lead waived: every grid needs G5
    assert f"最多 {paths} 条，需要 {grids} 条" in inf.message("zh") and "路径证明" in inf.message("zh")


def test_the_paths_proof_names_the_nearest_set_and_is_none_when_a_set_is_open(monkeypatch):
    """exact.paths_proof: the narrow city's only set, 2 paths for 3 grids; with a third row every
    path gets through and there is nothing to say; a set the other bounds close is not counted."""
    p = cell_problem(NARROW, WEST, 3, EAST)
    assert exact.paths_proof(p) == (2, 3)
    assert exact.paths_proof(cell_problem(square_cells(5, 3), [0, 5, 10], 3, (4, 9, 14))) is None
    waived = cell_problem(NARROW, WEST, 3, EAST, waived=[False, False, True])
    assert exact.paths_proof(waived) is None  # two grids need G5, two paths: open


@pytest.mark.slow
def test_a_refusal_analysed_names_its_leads_as_the_options_do():
    """The planner's refusal after its analysis (the plan page, the CLI): the leads lacking G5
    read as 名称（ID） joined by 、, as the options and the proofs name them."""
    case = next(c for c in family((60, 100, 200, 300), 4, seed=3) if c.name == "strip-200u-k6-cluster8-5%-s6962")
    layers, request = shaped_city(case)
    inf = plan_city(layers, request).infeasible
    assert inf.proven and inf.params["proof"] == "paths"
    text = inf.message("zh")
    assert "牵头医院第0医院（T0）、第2医院（T2）" in text and "T0、" not in text
    assert inf.proven_note("zh") == "（依据上述原因，已按地图上的路径证明不存在满足全部要求的方案。）"
