"""Awkward cities of many shapes, and an exact reference model that decides them (issue 15).

Neither the generator nor the model is the planner's: the cities are not
:mod:`grid_planning.city.synthetic` (the planner is tuned on it) nor the corner cities the refusal
work was measured on, and the model is written here with scipy's ``milp``, sharing no code with
:mod:`grid_planning.planning.exact`. Its input is :func:`oracle.model`, the tests' own reading
of the policy (who may lead, which members count for G5, where each facility lies); only the
adjacency graph and the travel minutes come from the library.

:func:`shaped_city` draws a Voronoi city inside one of four outlines (a rectangle, a long strip
along a river, an L, a ring around a lake), populations lognormal around a dense centre,
``k + extra`` eligible tertiary leads in the populated part, and a few G5 hospitals (secondary
general, or a rehabilitation or nursing hospital) in the outline's far corners, along one edge or
clustered together, with a tight tolerance. Everything is seeded; facilities are illustrative.

:func:`reference_decide` answers "is there a plan meeting G5, balance, beds, contiguity, the locks
and the required leads", as ``"plan"`` (with one), ``"none"`` (HiGHS proved it) or ``"unknown"``
(out of time). Any plan will do: it stops at the first.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import oracle
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from grid_planning.city.layers import load_city
from grid_planning.domain.request import PlanRequest, balance_band
from grid_planning.geo.graph import is_contiguous
from grid_planning.planning import exact, run

CRS = "EPSG:32650"
X0, Y0 = 600_000.0, 3_300_000.0
SHAPES = ("rect", "strip", "ell", "ring")
G5_PLACES = ("corners", "edge", "cluster")


def outline(shape: str) -> shapely.Geometry:
    """The city's outline in metres (about 600 km2 each)."""
    if shape == "rect":
        geom = shapely.box(0, 0, 30_000, 20_000)
    elif shape == "strip":  # a city strung along a river valley
        geom = shapely.box(0, 0, 75_000, 8_000)
    elif shape == "ell":
        geom = shapely.union(shapely.box(0, 0, 30_000, 10_000), shapely.box(0, 0, 10_000, 30_000))
    elif shape == "ring":  # a lake in the middle
        geom = shapely.difference(shapely.box(0, 0, 30_000, 24_000),
                                  shapely.box(9_000, 8_000, 21_000, 16_000))
    else:
        raise ValueError(shape)
    return shapely.affinity.translate(geom, X0, Y0)


@dataclass(frozen=True)
class Case:
    """One city and request of the family: ``shaped_city(**city)`` planned with ``request``."""

    n: int
    k: int
    seed: int
    shape: str
    place: str
    n_g5: int
    balance: float
    lock: bool = False

    @property
    def name(self) -> str:
        lock = "-lock" if self.lock else ""
        return (f"{self.shape}-{self.n}u-k{self.k}-{self.place}{self.n_g5}-"
                f"{self.balance:.0%}{lock}-s{self.seed}")


def family(sizes: tuple[int, ...], per_size: int, seed: int = 0) -> list[Case]:
    """``per_size`` cases for each size, drawn from ``seed``: every shape and G5 placement in
    turn, k from 2 to 8 (at most one grid per 12 units), G5 hospitals as many as the grids or one
    or two more, tolerances from 3 % to 15 %, one case in three with a locked unit."""
    rng = np.random.default_rng(seed)
    out = []
    i = 0
    for n in sizes:
        for _ in range(per_size):
            k = int(rng.integers(2, min(8, max(2, n // 12)) + 1))
            out.append(Case(
                n=n, k=k, seed=int(rng.integers(10_000)),
                shape=SHAPES[i % len(SHAPES)],
                place=G5_PLACES[(i // len(SHAPES)) % len(G5_PLACES)],
                n_g5=k + int(rng.integers(0, 3)),
                balance=float(rng.choice([0.03, 0.05, 0.08, 0.10, 0.15])),
                lock=i % 3 == 2,
            ))
            i += 1
    return out


def shaped_city(case: Case):
    """The city and request of ``case`` (see the module docstring)."""
    rng = np.random.default_rng(case.seed)
    shape = outline(case.shape)
    x0, y0, x1, y1 = shape.bounds
    pts: list[tuple[float, float]] = []
    while len(pts) < case.n:
        p = (rng.uniform(x0, x1), rng.uniform(y0, y1))
        if shapely.contains_xy(shape, *p) and all(np.hypot(p[0] - q[0], p[1] - q[1]) > 200
                                                  for q in pts[-50:]):
            pts.append(p)
    xy = np.asarray(pts)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(xy), extend_to=shape))
    seeds = shapely.points(xy)
    geoms: list = [None] * case.n
    for cell in cells:
        i = int(np.flatnonzero(shapely.contains(cell, seeds))[0])
        part = shapely.intersection(cell, shape)
        # a cell cut in two by the lake or the L's notch keeps the piece around its seed
        pieces = [g for g in shapely.get_parts(part) if g.area > 0]
        geoms[i] = next((g for g in pieces if g.intersects(seeds[i])), max(pieces, key=lambda g: g.area))
    centre = xy[int(rng.integers(case.n))]
    d = np.hypot(*(xy - centre).T) / 12_000.0
    pop = np.round(3000 + 45_000 * np.exp(-d * d) * rng.lognormal(0, 0.5, case.n))
    units = gpd.GeoDataFrame(
        {"id": [f"Q{i:03d}" for i in range(case.n)], "name": [f"街道{i}" for i in range(case.n)],
         "population": pop},
        geometry=geoms, crs=CRS,
    ).to_crs(4326)

    k = case.k
    pool = np.flatnonzero(pop >= np.quantile(pop, 0.6))
    chosen = [int(rng.choice(pool))]
    while len(chosen) < k + 2:
        dist = np.min([np.hypot(*(xy[pool] - xy[c]).T) for c in chosen], axis=0)
        chosen.append(int(pool[np.argmax(dist * rng.uniform(0.6, 1.0, len(pool)))]))
    rows = []
    for i, u in enumerate(chosen):
        owner = ("municipal", "district", "county")[i % 3]
        typ = "tcm" if i == 3 else "general"
        rows.append((f"T{i}", f"第{i}医院", "tertiary", typ, owner, 900.0, xy[u]))
    # a provincial hospital and an enterprise one: neither may lead, neither counts for G5
    rows.append(("P0", "省人民医院", "tertiary", "general", "provincial", 1500.0, xy[chosen[0]]))
    rows.append(("E0", "矿务局医院", "secondary", "general", "enterprise", 300.0, xy[chosen[1]]))
    taken = set(chosen)
    if case.place == "corners":
        poly = np.asarray(shape.exterior.coords)[:-1]
        targets = [poly[i % len(poly)] for i in range(case.n_g5)]
    elif case.place == "edge":
        targets = [(x0 + (i + 0.5) * (x1 - x0) / case.n_g5, y0) for i in range(case.n_g5)]
    else:  # all near one far corner
        targets = [(x1, y1)] * case.n_g5
    kinds = [("secondary", "general"), ("secondary", "tcm"), ("secondary", "rehabilitation"),
             ("primary", "nursing")]
    for i, (tx, ty) in enumerate(targets):
        u = next(int(j) for j in np.argsort(np.hypot(xy[:, 0] - tx, xy[:, 1] - ty))
                 if int(j) not in taken)
        taken.add(u)
        level, typ = kinds[i % len(kinds)]
        rows.append((f"G{i}", f"第{i}区医院", level, typ, "district", 150.0, xy[u]))
    for i in range(case.n // 8):
        rows.append((f"C{i}", f"社区卫生服务中心{i}", "primary", "community_health_center",
                     "district", 0.0, xy[int(rng.integers(case.n))]))
    fac = gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [r[1] for r in rows], "level": [r[2] for r in rows],
         "type": [r[3] for r in rows], "owner_level": [r[4] for r in rows],
         "beds": [r[5] for r in rows], "source": "illustrative"},
        geometry=[shapely.Point(*r[6]) for r in rows], crs=CRS,
    ).to_crs(4326)
    layers = load_city(units, fac, name=case.name)
    locks: tuple = ()
    if case.lock:  # the unit of a G5 hospital pinned to the grid of the second lead
        g5_id = f"G{int(rng.integers(case.n_g5))}"
        loc = layers.facilities.set_index("id").geometry[g5_id]
        hit = layers.units[layers.units.intersects(loc)]
        if len(hit):
            locks = ((str(hit["id"].iloc[0]), "T1"),)
    return layers, PlanRequest(k=k, balance=case.balance, locks=locks)


@dataclass(frozen=True)
class Verdict:
    """The reference's answer: ``"plan"`` (``labels``: candidate position per unit), ``"none"``
    (proved) or ``"unknown"`` (out of time)."""

    status: str
    labels: np.ndarray | None = None
    seconds: float = 0.0


def reference_decide(m: oracle.Model, time_limit: float = 120.0) -> Verdict:
    """Decide ``m`` exactly (see the module docstring).

    Variables: ``z[c]`` (candidate c leads), ``a[u, c]`` (unit u in c's grid), and for each
    candidate a flow on each directed adjacency arc. The flow leaves c's unit and each other unit
    of c's grid keeps one unit of it; an arc carries flow only between two units of the grid.
    A unit holds one grid; a grid exists only where its lead does and holds the lead's unit.
    """
    import time

    t0 = time.perf_counter()
    n, m_, k = m.n, len(m.cand), m.k
    if m_ < k:
        return Verdict("none", seconds=time.perf_counter() - t0)
    arcs = np.array([(u, v) for u in range(n) for v in sorted(m.nbrs[u]) if v != u], dtype=int)
    arcs = arcs.reshape(-1, 2)
    na = len(arcs)

    def z(c):
        return c

    def a(u, c):
        return m_ + c * n + u  # candidate-major (the tool's model is unit-major)

    def f(c, e):
        return m_ + n * m_ + c * na + e

    nv = m_ + n * m_ + m_ * na
    lower = np.zeros(nv)
    upper = np.r_[np.ones(m_ + n * m_), np.full(m_ * na, float(n - 1))]
    allowed, most = reach(m)
    for c in range(m_):
        if not allowed[c].any():
            upper[z(c)] = 0
        for u in np.flatnonzero(~allowed[c]):
            upper[a(int(u), c)] = 0
        live = allowed[c][arcs[:, 0]] & allowed[c][arcs[:, 1]]
        upper[f(c, 0) : f(c, 0) + na] = np.where(live, float(most), 0.0)
    for c in m.required:
        lower[z(c)] = 1
    for u, c in m.locks.items():
        lower[a(u, c)] = 1
    rows: list[tuple[list[int], list[float], float, float]] = []
    rows.append(([z(c) for c in range(m_)], [1.0] * m_, k, k))
    for u in range(n):
        rows.append(([a(u, c) for c in range(m_)], [1.0] * m_, 1, 1))
    w = m.w
    mean = w.sum() / k
    has_g5 = [u for u in range(n) if m.g5[u] > 0]
    for c in range(m_):
        root = int(m.cand_unit[c])
        rows.append(([a(root, c), z(c)], [1.0, -1.0], 0, 0))
        for u in range(n):
            rows.append(([a(u, c), z(c)], [1.0, -1.0], -np.inf, 0))
        if c not in m.waived:
            rows.append(([a(u, c) for u in has_g5] + [z(c)], [1.0] * len(has_g5) + [-1.0], 0, np.inf))
        if m.balance is not None:
            idx = [a(u, c) for u in range(n)] + [z(c)]
            rows.append((idx, list(w) + [-(1 + m.balance) * mean - 1e-6], -np.inf, 0))
            rows.append((idx, list(w) + [-(1 - m.balance) * mean + 1e-6], 0, np.inf))
        if m.min_beds is not None:
            rows.append(([a(u, c) for u in range(n)], list(1000.0 * m.beds - m.min_beds * w), 0, np.inf))
        for u in range(n):
            if u == root:
                continue
            ins = np.flatnonzero(arcs[:, 1] == u)
            outs = np.flatnonzero(arcs[:, 0] == u)
            rows.append(([f(c, e) for e in ins] + [f(c, e) for e in outs] + [a(u, c)],
                         [1.0] * len(ins) + [-1.0] * len(outs) + [-1.0], 0, 0))
        for e, (u, v) in enumerate(arcs):
            if upper[f(c, e)] > 0:
                rows.append(([f(c, e), a(int(u), c)], [1.0, -float(most)], -np.inf, 0))
                rows.append(([f(c, e), a(int(v), c)], [1.0, -float(most)], -np.inf, 0))
    ri = np.concatenate([np.full(len(r[0]), i) for i, r in enumerate(rows)])
    ci = np.concatenate([np.asarray(r[0], dtype=int) for r in rows])
    vi = np.concatenate([np.asarray(r[1], dtype=float) for r in rows])
    mat = sp.csr_array((vi, (ri, ci)), shape=(len(rows), nv))
    # Any plan decides the question, but a search with no objective wanders: compact grids
    # (residents' minutes to their lead) guide it, and the first plan found ends it.
    cost = np.zeros(nv)
    cost[m_ : m_ + n * m_] = (m.w[:, None] * m.minutes).T.ravel()
    res = milp(
        cost,
        constraints=LinearConstraint(mat, [r[2] for r in rows], [r[3] for r in rows]),
        integrality=np.r_[np.ones(m_ + n * m_), np.zeros(m_ * na)],
        bounds=Bounds(lower, upper),
        options={"time_limit": float(time_limit), "mip_rel_gap": 1.0},
    )
    seconds = time.perf_counter() - t0
    if res.status == 0 and res.x is not None:
        sol = res.x[m_ : m_ + n * m_].reshape(m_, n)
        return Verdict("plan", np.argmax(sol, axis=0), seconds)
    if res.status == 2:
        return Verdict("none", seconds=seconds)
    return Verdict("unknown", seconds=seconds)


def reach(m: oracle.Model) -> tuple[np.ndarray, int]:
    """Which units each candidate's grid can hold at all, and the most units another unit's
    flow may pass to (a grid's units but its lead).

    A grid is connected, so it holds a path between any two of its units, and a path's residents
    count in full: a unit whose lightest path to the lead (residents of every unit on it, both
    ends included) already passes the balance's upper bound cannot be in that grid, nor one
    farther than that from every G5 unit the grid could hold. The most units a grid can hold is
    the longest run of the least populated units under the bound."""
    n, m_ = m.n, len(m.cand)
    if m.balance is None:
        return np.ones((m_, n), bool), n - 1
    high = (1 + m.balance) * m.w.sum() / m.k + 1e-6
    w = np.maximum(m.w, 0.0) + 1e-9  # csgraph drops explicit zeros
    src, dst = zip(*[(u, v) for u in range(n) for v in m.nbrs[u] if v != u], strict=True)
    g = sp.csr_array((w[list(dst)], (list(src), list(dst))), shape=(n, n))
    roots = sorted(set(m.cand_unit.tolist()) | {u for u in range(n) if m.g5[u] > 0})
    from scipy.sparse.csgraph import dijkstra

    dist = dijkstra(g, directed=True, indices=roots) + w[roots][:, None]
    row = {r: i for i, r in enumerate(roots)}
    holders = [row[u] for u in range(n) if m.g5[u] > 0]
    allowed = np.zeros((m_, n), bool)
    for c in range(m_):
        dc = dist[row[int(m.cand_unit[c])]]
        ok = dc <= high
        if c not in m.waived:
            near = [h for h in holders if dc[roots[h]] <= high]
            ok &= np.any(dist[near] <= high, axis=0) if near else False
        allowed[c] = ok
    most = int(np.searchsorted(np.cumsum(np.sort(m.w)), high, side="right")) - 1
    return allowed, max(min(most, n - 1), 0)


def reference_plan_ok(m: oracle.Model, labels: np.ndarray) -> list[str]:
    """What a reference plan breaks (empty: none), checked by plain counting, so that a bug in
    :func:`reference_decide` cannot pass as a plan."""
    out = []
    leads = sorted(set(labels.tolist()))
    if len(leads) != m.k:
        out.append(f"{len(leads)} grids")
    mean = m.w.sum() / m.k
    for c in leads:
        members = [u for u in range(m.n) if labels[u] == c]
        if labels[m.cand_unit[c]] != c:
            out.append(f"lead {m.cand[c]} outside")
        if not oracle._connected(members, m.nbrs):
            out.append(f"grid {m.cand[c]} in pieces")
        if c not in m.waived and m.g5[members].sum() < 1:
            out.append(f"grid {m.cand[c]} lacks G5")
        if m.balance is not None and abs(m.w[members].sum() / mean - 1) > m.balance + 1e-6:
            out.append(f"grid {m.cand[c]} off balance")
    for u, c in m.locks.items():
        if labels[u] != c:
            out.append(f"lock {u}")
    return out


def planner_problem(name: str):
    """The planner's run, exact problem and lead sets (those the exact bounds leave) for one
    city of ``family((20, 40, 60, 100), 5, seed=0)``."""
    case = next(c for c in family((20, 40, 60, 100), 5, seed=0) if c.name == name)
    layers, request = shaped_city(case)
    r = run._Run(layers, request, None, lambda _f, _k: None)
    problem = r.exact_problem()
    sets, _ = exact.lead_sets(problem)
    return r, problem, sets


def partition_problems(problem, leads, labels: np.ndarray) -> list[str]:
    """What a plan of the planner's exact problem breaks (empty: none): balance, G5 in every
    grid, each lead in its own grid, every grid in one piece."""
    k = len(leads)
    out = []
    pops = np.bincount(labels, weights=problem.population, minlength=k)
    low, high = balance_band(problem.population.sum() / k, problem.balance)
    if not ((pops >= low - 1e-6) & (pops <= high + 1e-6)).all():
        out.append(f"off balance: {pops.round().tolist()} outside [{low:.0f}, {high:.0f}]")
    if not (np.bincount(labels, weights=problem.g5, minlength=k) >= 1).all():
        out.append("a grid without G5")
    if not (labels[problem.cand_unit[list(leads)]] == np.arange(k)).all():
        out.append("a lead outside its grid")
    if set(is_contiguous(problem.adjacency, labels).values()) != {1}:
        out.append("a grid in pieces")
    return out


def frame(cases: list[Case]) -> pd.DataFrame:
    """The cases as a table (for the benchmark's printout)."""
    return pd.DataFrame([c.__dict__ | {"name": c.name} for c in cases])


def planar_proof_problems(layers, m: oracle.Model, params: dict) -> list[str]:
    """What is wrong with a refusal proven by the planar argument (empty: the proof holds), read
    with this file's own geometry and the oracle's reading of the request (``m``), never the
    library's: the city is one polygon without holes whose units do not overlap, every adjacent
    pair (the oracle's neighbours) shares a border of at least 0.5 m, the two ends
    (``planar_ends``) are the lead's own unit or units locked to it, each meeting the city's edge
    along a piece; the middles of their longest pieces split the edge into two open arcs. Then
    every set of ``k`` leads the request allows (required and locked-to leads included, distinct
    units) must hold a lead of ``planar_cut`` whose unit meets one arc only, with no waiver, no
    G5 member in its unit and no lock, while every G5 unit it could use (not another lead's unit,
    not locked) meets the other arc. (The grid of the lock's lead is a curve between the ends that
    no other grid crosses, so that lead's grid cannot reach a G5 unit: no plan has the set.)"""
    cells = np.asarray(layers.units.to_crs(layers.metric_crs).geometry.values)
    unit_ids = layers.units["id"].astype(str).tolist()
    city = shapely.union_all(cells)
    if city.geom_type != "Polygon" or len(city.interiors):
        return ["the city is not one polygon without holes"]
    if sum(c.area for c in cells) > city.area * (1 + 1e-6):
        return ["units overlap"]
    out = []
    for u in range(m.n):
        for v in m.nbrs[u]:
            if u < v and cells[u].boundary.intersection(cells[v].boundary).length < 0.5:
                out.append(f"units {unit_ids[u]} and {unit_ids[v]} touch without a border")
    ring = city.exterior
    lead = m.cand.index(params["planar_lead"])
    ends = [unit_ids.index(u) for u in params["planar_ends"]]
    for e in ends:
        if e != m.cand_unit[lead] and m.locks.get(e) != lead:
            out.append(f"end {unit_ids[e]} is not in the grid of {m.cand[lead]}")

    def middle(u):
        lines = [g for g in shapely.get_parts(shapely.line_merge(ring.intersection(cells[u])))
                 if g.length > 0]
        return ring.project(max(lines, key=lambda g: g.length).interpolate(0.5, normalized=True))

    if any(not ring.intersection(cells[e]).length for e in ends):
        return out + ["an end does not meet the edge along a piece"]
    s0, s1 = sorted(middle(e) for e in ends)

    def arcs(u):
        found = set()
        for g in shapely.get_parts(ring.intersection(cells[u])):
            s = ring.project(g.interpolate(0.5, normalized=True) if g.length else g)
            if abs(s - s0) > 1e-3 and abs(s - s1) > 1e-3:
                found.add("in" if s0 < s < s1 else "out")
        return found

    cut = {m.cand.index(c) for c in params["planar_cut"]}
    must = m.required | set(m.locks.values())
    for leads in itertools.combinations(range(len(m.cand)), m.k):
        if not must <= set(leads) or len({int(m.cand_unit[c]) for c in leads}) < m.k:
            continue
        taken = {int(m.cand_unit[c]) for c in leads} | set(m.locks)
        usable = [int(h) for h in np.flatnonzero(m.g5 > 0) if int(h) not in taken]
        closed = False
        for c in sorted(cut & set(leads) - {lead}):
            side = arcs(int(m.cand_unit[c]))
            if c in m.waived or m.g5[m.cand_unit[c]] > 0 or c in m.locks.values() or len(side) != 1:
                continue
            other = {"in", "out"} - side
            closed |= all(other <= arcs(h) for h in usable)
        if not closed:
            out.append(f"no lead of {[m.cand[c] for c in leads]} is cut off")
    return out


def sections_proof_problems(layers, m: oracle.Model, time_limit: float = 60.0) -> list[str]:
    """What is wrong with a refusal proven by the cross-sections (empty: the proof holds),
    re-derived here with this file's own geometry, the oracle's reading of the request (``m``),
    :func:`reach` and scipy ``milp``, never the library's code: every unit is one polygon, every
    pair of neighbours lies within 1 m; each unit's projection on x (and on y) is widened by
    0.5 m, outwards to whole centimetres. Then, for every set of ``k`` leads the request allows
    (required and locked-to leads included, distinct units), these rows must be infeasible (a
    grid's projection is one run of the pieces between the widened ends; it covers its units'
    pieces; where it covers a piece it holds a unit whose widened projection covers it; every
    unit in one grid; a grid's other units each next to one of its units; the lead's unit and
    locked units in place; units within :func:`reach`; balance, beds and G5 as the oracle reads
    them). Every plan satisfies them, so no plan has the set."""
    cells = np.asarray(layers.units.to_crs(layers.metric_crs).geometry.values)
    if any(c.geom_type != "Polygon" for c in cells):
        return ["a unit is not one polygon"]
    out = []
    for u in range(m.n):
        for v in m.nbrs[u]:
            if u < v and cells[u].distance(cells[v]) > 1.0:
                out.append(f"neighbours {u} and {v} lie more than 1 m apart")
    if out:
        return out
    box = np.array([c.bounds for c in cells])
    axes = [(np.floor((box[:, i] - 0.5) * 100) / 100, np.ceil((box[:, i + 2] + 0.5) * 100) / 100)
            for i in (0, 1)]
    reachable, _ = reach(m)
    must = m.required | set(m.locks.values())
    mean = m.w.sum() / m.k
    for leads in itertools.combinations(range(len(m.cand)), m.k):
        roots = [int(m.cand_unit[c]) for c in leads]
        if not must <= set(leads) or len(set(roots)) < m.k:
            continue
        k, n = m.k, m.n
        ok = reachable[list(leads)].copy()
        ok[:, roots] = False
        ok[np.arange(k), roots] = True
        for u, c in m.locks.items():
            ok[:, u] = False
            ok[leads.index(c), u] = True
        col: dict[tuple, int] = {("a", u, g): i for i, (g, u) in enumerate(zip(*np.nonzero(ok), strict=True))}
        rows: list[tuple[dict[int, float], float, float]] = []
        for u in range(n):
            rows.append(({col["a", u, g]: 1.0 for g in range(k) if ok[g, u]}, 1.0, 1.0))
        for g, c in enumerate(leads):
            for u in np.flatnonzero(ok[g]):
                if u != roots[g]:
                    row = {col["a", v, g]: -1.0 for v in m.nbrs[u] if v != u and ok[g, v]}
                    rows.append((row | {col["a", u, g]: 1.0}, -np.inf, 0.0))
            us = np.flatnonzero(ok[g])
            if m.balance is not None:
                rows.append(({col["a", u, g]: m.w[u] for u in us},
                             (1 - m.balance) * mean - 1e-6, (1 + m.balance) * mean + 1e-6))
            if m.min_beds is not None:
                rows.append(({col["a", u, g]: 1000.0 * m.beds[u] - m.min_beds * m.w[u] for u in us}, 0.0, np.inf))
            if c not in m.waived:
                rows.append(({col["a", u, g]: 1.0 for u in us if m.g5[u] > 0}, 1.0, np.inf))
        for axis, (lo, hi) in enumerate(axes):
            ends = np.unique(np.r_[lo, hi])
            mids = (ends[:-1] + ends[1:]) / 2
            cover = [[u for u in range(n) if lo[u] < t < hi[u]] for t in mids]
            if min(len(c) for c in cover) >= k:
                continue
            for g in range(k):
                for j in range(len(mids)):
                    col["z", axis, g, j] = len(col)
                    col["s", axis, g, j] = len(col)
                rows.append(({col["s", axis, g, j]: 1.0 for j in range(len(mids))}, 0.0, 1.0))
                for j in range(len(mids)):
                    step = {col["z", axis, g, j]: 1.0, col["s", axis, g, j]: -1.0}
                    if j:
                        step[col["z", axis, g, j - 1]] = -1.0
                    rows.append((step, -np.inf, 0.0))
                    holds = {col["a", u, g]: -1.0 for u in cover[j] if ok[g, u]}
                    rows.append((holds | {col["z", axis, g, j]: 1.0}, -np.inf, 0.0))
                for u in np.flatnonzero(ok[g]):
                    for j in np.flatnonzero((mids > lo[u]) & (mids < hi[u]))[[0, -1]]:
                        rows.append(({col["a", u, g]: 1.0, col["z", axis, g, j]: -1.0}, -np.inf, 0.0))
        nv = len(col)
        lower = np.zeros(nv)
        for g, r in enumerate(roots):
            lower[col["a", r, g]] = 1
        for u, c in m.locks.items():
            lower[col["a", u, leads.index(c)]] = 1
        mat = sp.csr_array(([v for r in rows for v in r[0].values()],
                            ([i for i, r in enumerate(rows) for _ in r[0]], [j for r in rows for j in r[0]])),
                           shape=(len(rows), nv))
        res = milp(np.zeros(nv), constraints=LinearConstraint(mat, [r[1] for r in rows], [r[2] for r in rows]),
                   integrality=np.ones(nv), bounds=Bounds(lower, np.ones(nv)),
                   options={"time_limit": float(time_limit)})
        if res.status != 2:
            out.append(f"the rows of {[m.cand[c] for c in leads]} are not infeasible ({res.message})")
    return out
