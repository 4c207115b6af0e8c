"""The planar separation argument (issue 15, grid_planning/planning/planar.py): a lock that drags a
grid across the city closes lead sets, only where the geometry makes it a proof.

The cities are hand-made grids of 1 km squares (position ``row * cols + col``, row 0 at the
bottom), adjacency as the planner builds it (``geo.graph.build_adjacency``). The truth about a
lead set comes from a brute force here (every assignment of the other units; locks, G5 and
contiguity checked with this file's own search), never from the module under test.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import weakref

import numpy as np
import oracle
import pytest
import scipy.sparse as sp
import shapely
from reference_cities import family, planar_proof_problems, shaped_city
from small_cities import has_plan, square_cells

from grid_planning.city.costs import travel_costs
from grid_planning.domain.request import Infeasible
from grid_planning.geo.graph import build_adjacency
from grid_planning.planning import exact, planar, run
from grid_planning.planning.planner import plan_city


def _problem(n: int, adjacency, cand_unit, k, locks, holders, waived=None) -> exact.ExactProblem:
    g5 = np.zeros(n, np.int64)
    g5[list(holders)] = 1
    m = len(cand_unit)
    return exact.ExactProblem(
        minutes=np.zeros((n, m)), population=np.ones(n), cand_unit=np.asarray(cand_unit), k=k,
        adjacency=sp.csr_matrix(adjacency), locks=tuple(locks), g5=g5,
        g5_waived=np.zeros(m, bool) if waived is None else np.asarray(waived),
    )




#: Random small cities the soundness test draws.
SEEDS = 30


# The disk city: 5 x 3 squares. Lead 0 sits at the top middle (unit 12) and unit 2 (bottom middle)
# is locked to it; lead 1 sits on the west edge (unit 5); the G5 units are on the east edge.
COLS, ROWS = 5, 3
DISK = square_cells(COLS, ROWS)


def _disk(holders=(4, 9), cells=DISK, contiguity="rook"):
    adjacency = build_adjacency(cells, contiguity=contiguity).matrix
    return _problem(len(cells), adjacency, [12, 5], 2, [(2, 0)], holders), cells


def test_the_cut_closes_the_lead_set_and_no_plan_has_it():
    p, cells = _disk()
    outline = planar.outline_of(cells, p.adjacency)
    assert outline.applies and outline.length == pytest.approx(16_000.0)
    cut = planar.close(p, outline, (0, 1))
    assert cut == planar.Cut(lead=0, ends=(12, 2), locked=(2,), cut_off=(1,), holders=(4, 9))
    assert not has_plan(p, (0, 1))


def test_a_g5_unit_on_the_lead_s_side_leaves_the_set_open_and_a_plan_exists():
    p, cells = _disk(holders=(4, 9, 0))
    assert planar.close(p, planar.outline_of(cells, p.adjacency), (0, 1)) is None
    assert has_plan(p, (0, 1))


def test_a_waiver_or_a_g5_member_in_the_lead_s_own_unit_leaves_the_set_open():
    p, cells = _disk(holders=(4, 9, 5))  # lead 1's own unit holds a G5 member
    outline = planar.outline_of(cells, p.adjacency)
    assert planar.close(p, outline, (0, 1)) is None and has_plan(p, (0, 1))
    p, _ = _disk()
    waived = exact.ExactProblem(**{**p.__dict__, "g5_waived": np.array([False, True])})
    assert planar.close(waived, outline, (0, 1)) is None and has_plan(waived, (0, 1))


def test_a_lock_off_the_edge_leaves_the_set_open():
    p, cells = _disk()
    inner = exact.ExactProblem(**{**p.__dict__, "locks": ((7, 0),)})  # the middle unit, not on the edge
    assert planar.close(inner, planar.outline_of(cells, p.adjacency), (0, 1)) is None
    assert has_plan(inner, (0, 1))


def test_a_city_with_a_hole_gets_no_claim():
    p, _ = _disk()
    cells = square_cells(COLS, ROWS, drop={8})  # unit 8 (row 1, column 3) is a lake: the city has a hole
    adjacency = build_adjacency(cells).matrix
    keep = [u for u in range(COLS * ROWS) if u != 8]
    pos = {u: i for i, u in enumerate(keep)}
    holed = _problem(len(cells), adjacency, [pos[12], pos[5]], 2, [(pos[2], 0)], [pos[4], pos[9]])
    outline = planar.outline_of(cells, adjacency)
    assert not outline.applies and "holes" in outline.why_not
    assert planar.close(holed, outline, (0, 1)) is None


def test_a_point_contact_gets_no_claim_and_there_the_plan_exists():
    """With corner contacts counted as adjacency (queen), lead 1's grid crosses lead 0's at a
    corner: the cut is no proof, and indeed a plan exists."""
    p, cells = _disk(contiguity="queen")
    outline = planar.outline_of(cells, p.adjacency)
    assert not outline.applies and "without a shared border" in outline.why_not
    assert planar.close(p, outline, (0, 1)) is None
    assert has_plan(p, (0, 1))


def test_an_island_link_gets_no_claim():
    cells = np.concatenate([DISK, [shapely.box(8000.0, 0.0, 9000.0, 1000.0)]])  # an island east
    adjacency = build_adjacency(cells).matrix  # linked to the nearest unit
    assert adjacency[15].nnz == 1
    outline = planar.outline_of(cells, adjacency)
    assert not outline.applies


@pytest.mark.parametrize("seed", range(SEEDS))
def test_a_closed_set_never_has_a_plan_and_sets_with_plans_stay_open(seed):
    """Random small grid cities (leads, locks and G5 units on or off the edge, k = 2 or 3): every
    set the argument closes has no plan (brute force), and it closes some sets while others have
    plans (the check is not vacuous over the seeds: see the next test)."""
    for claims, plans in _random_city(seed):
        assert not (claims and plans)


def test_the_random_cities_hold_closed_sets_and_planned_sets():
    outcomes = [o for seed in range(SEEDS) for o in _random_city(seed)]
    assert sum(c for c, _ in outcomes) >= 5
    assert sum(p for _, p in outcomes) >= 50


def _random_city(seed: int) -> list[tuple[bool, bool]]:
    rng = np.random.default_rng(seed)
    cols, rows, k = [(4, 3, 2), (5, 3, 2), (3, 3, 3)][seed % 3]
    n = cols * rows
    cells = square_cells(cols, rows)
    adjacency = build_adjacency(cells).matrix
    edge = [u for u in range(n) if u // cols in (0, rows - 1) or u % cols in (0, cols - 1)]
    units = rng.permutation(edge).tolist()
    cand_unit = units[: k + 2]
    lock_unit = units[k + 2] if seed % 4 else int(rng.choice([u for u in range(n) if u not in units[: k + 2]]))
    holders = rng.choice(n, size=rng.integers(k, k + 2), replace=False).tolist()
    p = _problem(n, adjacency, cand_unit, k, [(lock_unit, 0)], holders)
    outline = planar.outline_of(cells, adjacency)
    assert outline.applies
    out = []
    for leads in itertools.combinations(range(len(cand_unit)), k):
        if 0 not in leads:
            continue
        out.append((planar.close(p, outline, leads) is not None, has_plan(p, leads)))
    return out


def test_close_sets_drops_closed_sets_and_bounds_the_rest():
    p, cells = _disk()
    # a third candidate on the east edge (unit 14): the set {0, 2} is not cut, {0, 1} is
    three = _problem(p.n, p.adjacency, [12, 5, 14], 2, [(2, 0)], [4, 9])
    outline = planar.outline_of(cells, p.adjacency)
    closed = planar.close_sets(three, outline, [(0, 1), (0, 2)])
    assert closed.sets == [(0, 2)] and closed.closed == [(0, 1)]
    assert has_plan(three, (0, 2)) and not has_plan(three, (0, 1))
    bounds = exact.lead_set_bounds(three, (0, 2), exact.reach(three)[0])
    assert np.array_equal(closed.union[[0, 2]], bounds) and not closed.union[1].any()
    nothing = planar.close_sets(exact.ExactProblem(**{**three.__dict__, "locks": ()}), outline, [(0, 1)])
    assert nothing.sets == [(0, 1)] and nothing.union is None and nothing.closed == []


def test_the_outline_is_computed_once_per_city():
    class City:
        geometry = DISK
        adjacency = build_adjacency(DISK).matrix

    city = City()
    first = planar.city_outline(city)
    assert planar.city_outline(city) is first and first.applies
    gone = weakref.ref(first)
    del city, first
    gc.collect()
    assert gone() is None  # it lives with its city


def test_the_refusal_says_why_in_both_languages():
    p, cells = _disk()
    cut = planar.close(p, planar.outline_of(cells, p.adjacency), (0, 1))
    names = {12: "北街道", 2: "南街道", 4: "东南街道", 9: "东街道"}
    words = planar.proof_words(
        exact.ExactProblem(**{**p.__dict__, "required": (0,)}), [cut],
        lambda u, lang: f"U{u}（{names[u]}）" if lang == "zh" else f"U{u} ({names[u]})",
        lambda c, lang: ["市一医院", "市二医院"][c],
    )
    assert (words["planar_lead"], words["planar_ends"], words["planar_cut"], words["planar_holders"]) == (
        0, [12, 2], [1], [4, 9])
    inf = Infeasible("no_plan", {"k": 2, **words}, proven=True)
    zh, en = inf.message("zh"), inf.message("en")
    assert "U12（北街道）、U2（南街道）" in zh and "市域边界" in zh and "牵头医院市二医院在其中一侧" in zh
    assert "U4（东南街道）、U9（东街道）" in zh and "每一组满足固定和锁定要求的牵头医院组合中都至少有其中一家" in zh
    stripped = zh
    for value in ("U12", "U2", "U4", "U9"):
        stripped = stripped.replace(value, "")
    assert not any(ch.isascii() and ch.isalpha() for ch in stripped.replace("G5", ""))
    assert "cuts the city in two" in en and "The leads 市二医院 lie on one side" in en
    # proven from the map, and said so: never "by exact search"
    assert "已根据地图的几何关系证明" in zh and "精确求解" not in zh
    assert "proven from the map's geometry" in en and "exact search" not in en
    assert "精确求解" in Infeasible("no_plan", {"k": 2}, proven=True).message("zh")
    assert "Every set of leads that meets the fixed leads and the locks includes one of them." in en
    # the analysis may name the binding rules instead of no_plan: the reason stays
    assert "cuts the city in two" in Infeasible("locks_prevent_plan", inf.params, proven=True).message("en")
    # a third candidate never cut off: the words say the other sets are ruled out otherwise
    three = _problem(p.n, p.adjacency, [12, 5, 14], 2, [(2, 0)], [4, 9])
    rest = planar.proof_words(three, [cut], lambda u, lang: str(u), lambda c, lang: str(c))
    assert "ruled out too" in Infeasible("no_plan", {"k": 2, **rest}).message("en")


@pytest.mark.parametrize("name", ["strip-40u-k3-edge4-8%-lock-s6322", "rect-40u-k2-cluster4-15%-lock-s7648",
                                  "ell-60u-k3-corners5-15%-lock-s4609"])
def test_a_planned_city_with_a_lock_never_has_its_plan_s_lead_set_closed(name):
    """Reference cities with a lock that the planner plans (each plan passing the tests'
    independent checker): the argument applies to their outlines and leaves the plan's set open."""
    case = next(c for c in family((20, 40, 60, 100), 5, seed=0) if c.name == name)
    layers, request = shaped_city(case)
    costs = travel_costs(layers)
    res = plan_city(layers, request, costs=costs, analyse=False)
    assert res.ok and oracle.problems(layers, request, res.plan, costs) == []
    r = run._Run(layers, request, costs, lambda _f, _k: None)
    p = r.exact_problem()
    assert p.locks
    leads = tuple(sorted(r.cand_ids.index(str(f)) for f in res.plan.leads))
    outline = planar.city_outline(layers.index)
    assert outline.applies
    assert planar.close(p, outline, leads) is None


def test_the_planner_s_step_keeps_the_open_sets_and_proves_when_none_is_left():
    """On ell-200u-lock (every lead but T1 on the north arm, every G5 unit on the south edge) a G5
    waiver for T0 and T2 leaves the set T0 T1 T2 open (the others each hold a cut-off lead): the
    step keeps it with its own bounds. A waiver for T0 alone leaves none: a proven refusal that
    says why."""
    case = next(c for c in family((200, 300), 4, seed=1) if c.name == "ell-200u-k3-corners5-8%-lock-s3118")
    layers, request = shaped_city(case)
    costs = travel_costs(layers)
    two = dataclasses.replace(request, g5_waivers=(("T0", "测试理由"), ("T2", "测试理由")))
    r = run._Run(layers, two, costs, lambda _f, _k: None)
    p = r.exact_problem()
    sets = exact.lead_sets(p)
    assert len(sets[0]) == 6
    left, union = r.fallback(p).planar(sets)
    ids = {tuple(sorted(r.cand_ids[c] for c in s)) for s in left}
    assert ids == {("T0", "T1", "T2")}
    expected = np.zeros_like(union)
    expected[list(left[0])] = exact.lead_set_bounds(p, left[0], exact.reach(p)[0])
    assert np.array_equal(union, expected)
    one = dataclasses.replace(request, g5_waivers=(("T0", "测试理由"),))
    res = plan_city(layers, one, costs=costs, analyse=False)
    inf = res.infeasible
    assert inf.code == "no_plan" and inf.proven and inf.params["proof"] == "planar"
    assert "T0" not in inf.params["planar_cut"] and {"T2", "T3", "T4"} <= set(inf.params["planar_cut"])
    m = oracle.model(layers, one, costs)
    assert planar_proof_problems(layers, m, inf.params) == []


def test_the_analysed_refusal_names_the_conflicting_rules_in_the_reader_s_language():
    """With the analysis, ell-200u-lock's proof becomes "these requirements conflict" (G5 and the
    locks): the Chinese text names them in Chinese, joined by the enumeration comma, and keeps the
    reason."""
    case = next(c for c in family((200, 300), 4, seed=1) if c.name == "ell-200u-k3-corners5-8%-lock-s3118")
    layers, request = shaped_city(case)
    inf = plan_city(layers, request, costs=travel_costs(layers)).infeasible
    assert inf.code == "constraints_conflict" and inf.proven
    zh, en = inf.message("zh"), inf.message("en")
    assert "无法同时满足：G5 成员单位、锁定单元。" in zh and "把全市分成两部分" in zh
    assert "members" not in zh and "locked" not in zh
    assert "not all together: G5 members, locked units." in en and "cuts the city in two" in en
