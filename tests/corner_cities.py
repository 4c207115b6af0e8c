"""Cities where G5 and balance fight: few secondary hospitals, pushed into the corners.

Not :mod:`grid_planning.city.synthetic` (the planner is tuned on it). A corner city is a Voronoi
tessellation of a 30 x 20 km rectangle (irregular units, 3 to 9 neighbours each, like 街道 units),
populations drawn lognormal around a dense centre, ``k + extra`` eligible tertiary hospitals
spread over the populated part, and exactly ``n_g5`` secondary general hospitals in the units
nearest to the rectangle's corners (then the middles of its long sides). Everything is seeded.
Facilities are illustrative.

:func:`reference_feasible` is an exact reference model written here, independently of
:mod:`grid_planning.planning.exact`: scipy ``milp`` with the assignment, G5, balance and locks, and
contiguity by one single-commodity flow per candidate (Shirabe 2009). It answers "does a plan
exist", nothing more, and is used on cities small enough for it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from grid_planning.city.layers import load_city

CRS = "EPSG:32650"
_X0, _Y0 = 520_000.0, 3_370_000.0
_W, _H = 30_000.0, 20_000.0


def corner_city(n_units: int, k: int, seed: int, *, n_g5: int | None = None, extra: int = 2,
                central: float = 0.75, edge: bool = False):
    """A corner city (see the module docstring), as validated layers."""
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(0, _W, n_units), rng.uniform(0, _H, n_units)])
    pts += [_X0, _Y0]
    frame = shapely.box(_X0, _Y0, _X0 + _W, _Y0 + _H)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=frame)
    polys = [shapely.intersection(c, frame) for c in shapely.get_parts(cells)]
    # voronoi_polygons does not keep the input order: match each cell to its seed point
    seeds = shapely.points(pts)
    order = [int(np.flatnonzero(shapely.contains(p, seeds))[0]) for p in polys]
    geoms = [None] * n_units
    for poly, i in zip(polys, order, strict=True):
        geoms[i] = poly
    centre = np.array([_X0 + _W * rng.uniform(0.35, 0.65), _Y0 + _H * rng.uniform(0.35, 0.65)])
    d = np.hypot(*(pts - centre).T) / 10_000.0
    pop = np.round(2000 + 40_000 * np.exp(-d * d) * rng.lognormal(0, 0.5, n_units))
    units = gpd.GeoDataFrame(
        {"id": [f"J{i:03d}" for i in range(n_units)], "name": [f"街道{i}" for i in range(n_units)],
         "population": pop.astype(float)},
        geometry=geoms,
        crs=CRS,
    ).to_crs(4326)

    rows = []
    # leads: farthest-point spread among the more populated half of the units
    pool = np.flatnonzero(pop >= np.quantile(pop, central))
    chosen = [int(rng.choice(pool))]
    while len(chosen) < k + extra:
        dist = np.min([np.hypot(*(pts[pool] - pts[c]).T) for c in chosen], axis=0)
        chosen.append(int(pool[np.argmax(dist * rng.uniform(0.7, 1.0, len(pool)))]))
    for i, u in enumerate(chosen):
        owner = ("municipal", "district")[i % 2]
        rows.append((f"L{i}", f"第{i}人民医院", "tertiary", "general", owner, 800.0, pts[u]))
    corners = [(0, 0), (_W, _H), (_W, 0), (0, _H), (_W / 2, 0), (_W / 2, _H), (0, _H / 2), (_W, _H / 2)]
    n_g5 = k if n_g5 is None else n_g5
    if edge:  # all along the bottom side, evenly spaced
        corners = [((i + 0.5) * _W / n_g5, 0.0) for i in range(n_g5)]
    taken = set(chosen)
    for i in range(n_g5):
        cx, cy = corners[i % len(corners)]
        dist = np.hypot(pts[:, 0] - _X0 - cx, pts[:, 1] - _Y0 - cy)
        u = next(int(j) for j in np.argsort(dist) if int(j) not in taken)
        taken.add(u)
        rows.append((f"S{i}", f"第{i}区医院", "secondary", "general", "district", 200.0, pts[u]))
    for i in range(n_units // 10):
        u = int(rng.integers(n_units))
        rows.append((f"C{i}", f"社区卫生服务中心{i}", "primary", "community_health_center",
                     "district", 0.0, pts[u]))
    fac = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "type": [r[3] for r in rows],
            "owner_level": [r[4] for r in rows],
            "beds": [r[5] for r in rows],
            "source": "illustrative",
        },
        geometry=[shapely.Point(*r[6]) for r in rows],
        crs=CRS,
    ).to_crs(4326)
    return load_city(units, fac, name=f"corner-{n_units}-{k}-{seed}")


def planted_city(n_units: int, k: int, seed: int, *, spread: float = 0.04, extra: int = 2):
    """A corner city with a plan planted in it: ``k`` contiguous regions grown from ``k`` of the
    leads in random order, each region's only secondary hospital in its unit farthest from the
    lead, populations scaled so that every region holds the mean within ``spread``. So a plan
    meeting G5 at a tolerance of ``spread`` exists (returned as the witness: unit id -> lead id),
    while the nearest-lead regions break G5 and balance. ``extra`` more eligible leads lie in
    the populated part of the city."""
    rng = np.random.default_rng(10_000 + seed)
    base = corner_city(n_units, k, seed, n_g5=0, extra=extra)
    units = base.units.copy()
    fac = base.facilities.copy()
    idx = base.index
    n = idx.n
    leads = fac[fac["id"].str.startswith("L")]
    lead_unit = idx.locate(leads).unit[:k]
    region = np.full(n, -1)
    region[lead_unit] = np.arange(k)
    frontier = [[int(u)] for u in lead_unit]
    nbrs = idx.neighbours
    while (region < 0).any():
        g = int(rng.integers(k))
        cand = [v for u in frontier[g] for v in nbrs[u] if region[v] < 0]
        if not cand:
            if not any(region[v] < 0 for f in frontier for u in f for v in nbrs[u]):
                region[region < 0] = 0  # units unreachable from every lead (cannot happen on
                break  # a Voronoi tessellation)
            continue
        v = int(cand[int(rng.integers(len(cand)))])
        region[v] = g
        frontier[g].append(v)
    pop = units["population"].to_numpy(float).copy()
    total = pop.sum()
    cent = np.asarray(shapely.get_coordinates(
        gpd.GeoSeries(units.geometry).to_crs(CRS).centroid))
    rows = []
    for g in range(k):
        members = np.flatnonzero(region == g)
        target = total / k * (1 + rng.uniform(-spread, spread) * 0.9)
        pop[members] *= target / pop[members].sum()
        far = members[np.argmax(np.hypot(*(cent[members] - cent[lead_unit[g]]).T))]
        if far == lead_unit[g] and len(members) > 1:
            far = members[members != lead_unit[g]][0]
        rows.append((f"S{g}", f"第{g}区医院", far))
    # the total must not move: the last region absorbs the rounding
    units["population"] = np.round(pop)
    pts = gpd.GeoSeries(gpd.points_from_xy(cent[[r[2] for r in rows], 0],
                                           cent[[r[2] for r in rows], 1]), crs=CRS).to_crs(4326)
    g5 = gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [r[1] for r in rows], "level": "secondary",
         "type": "general", "owner_level": "district", "beds": 200.0, "source": "illustrative"},
        geometry=list(pts), crs=4326,
    )
    fac = gpd.GeoDataFrame(pd.concat([fac, g5], ignore_index=True), crs=4326)
    witness = {str(idx.unit_ids[u]): str(leads["id"].iloc[int(region[u])]) for u in range(n)}
    return load_city(units, fac, name=f"planted-{n_units}-{k}-{seed}"), witness


def reference_feasible(
    adjacency: sp.spmatrix,
    population: np.ndarray,
    cand_unit: np.ndarray,
    k: int,
    g5: np.ndarray,
    balance: float | None,
    time_limit: float = 120.0,
) -> bool | None:
    """Whether a contiguous plan with ``k`` leads among the candidates exists where every grid
    holds a G5 member and (with ``balance``) every grid's population is within the tolerance.
    None when scipy ran out of time."""
    n, m = len(population), len(cand_unit)
    w = np.asarray(population, float)
    a = sp.coo_matrix(sp.triu(adjacency, 1))
    arcs = np.concatenate([np.column_stack([a.row, a.col]), np.column_stack([a.col, a.row])])
    na = len(arcs)
    nx = n * m  # x[u, c] at m + u*m + c; y[c] at c; flow f[c, a] after
    nv = m + nx + m * na
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0

    def con(idx, coef, low, high):
        nonlocal r
        rows.extend([r] * len(idx))
        cols.extend(idx)
        vals.extend(coef)
        lo.append(low)
        hi.append(high)
        r += 1

    def x(u, c):
        return m + u * m + c

    def f(c, e):
        return m + nx + c * na + e

    for u in range(n):
        con([x(u, c) for c in range(m)], [1.0] * m, 1, 1)
        for c in range(m):
            con([x(u, c), c], [1, -1], -np.inf, 0)
    con(list(range(m)), [1.0] * m, k, k)
    for c in range(m):
        con([x(int(cand_unit[c]), c), c], [1, -1], 0, 0)
        con([x(u, c) for u in range(n) if g5[u] > 0] + [c],
            [float(g5[u]) for u in range(n) if g5[u] > 0] + [-1.0], 0, np.inf)
        if balance is not None:
            mean = w.sum() / k
            con([x(u, c) for u in range(n)] + [c], list(w) + [-(1 + balance) * mean], -np.inf, 0)
            con([x(u, c) for u in range(n)] + [c], list(w) + [-(1 - balance) * mean], 0, np.inf)
        root = int(cand_unit[c])
        for u in range(n):
            if u == root:
                continue
            ins = [f(c, e) for e in np.flatnonzero(arcs[:, 1] == u)]
            outs = [f(c, e) for e in np.flatnonzero(arcs[:, 0] == u)]
            con(ins + outs + [x(u, c)], [1.0] * len(ins) + [-1.0] * len(outs) + [-1.0], 0, 0)
        for e, (uu, vv) in enumerate(arcs):
            con([f(c, e), x(int(vv), c)], [1, -(n - 1)], -np.inf, 0)
            con([f(c, e), x(int(uu), c)], [1, -(n - 1)], -np.inf, 0)
    mat = sp.csr_matrix((vals, (rows, cols)), shape=(r, nv))
    integrality = np.r_[np.ones(m + nx), np.zeros(m * na)]
    ub = np.r_[np.ones(m + nx), np.full(m * na, n - 1.0)]
    res = milp(
        np.zeros(nv),
        constraints=LinearConstraint(mat, lo, hi),
        integrality=integrality,
        bounds=Bounds(np.zeros(nv), ub),
        options={"time_limit": time_limit},
    )
    if res.status == 0:
        return True
    if res.status == 2:
        return False
    return None
