"""Straight-line travel that crosses water only at a crossing (a city with rivers and no road layer).

Water (polygons, or centrelines given :data:`LINE_WIDTH_M`) cuts the city outline into *banks*.
Two places on the same bank are joined by a straight line; two places on different banks by the
shortest chain of straight lines through crossings (bridges, tunnels, ferries): place -> crossing
-> ... -> crossing -> place, where each crossing joins the banks within :data:`CROSSING_REACH_M` of
its nearest bank (crossing coordinates are often given to a few hundred metres). A pair with no
chain of crossings between its banks keeps the plain straight line (the report says water and
crossings, not the planner, decide who is cut off).
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import cdist

from grid_planning.geo.graph import locate_points

#: Width given to water drawn as lines (river centrelines), in metres.
LINE_WIDTH_M = 60.0


#: A crossing joins every bank within this distance beyond its nearest bank (metres).
CROSSING_REACH_M = 1500.0


def banks(outline: shapely.Geometry, water: np.ndarray) -> np.ndarray:
    """The pieces of ``outline`` left when the water is taken out (metric geometries)."""
    polys = [g for g in water if shapely.get_type_id(g) in (3, 6)]
    lines = [g for g in water if shapely.get_type_id(g) in (1, 5)]
    parts = list(polys) + [shapely.buffer(g, LINE_WIDTH_M / 2) for g in lines]
    if not parts:
        return np.array([outline], dtype=object)
    land = shapely.difference(outline, shapely.union_all(parts))
    pieces = shapely.get_parts(land)
    pieces = pieces[shapely.area(pieces) > 0]
    return pieces if len(pieces) else np.array([outline], dtype=object)


def crossing_banks(bank_geoms: np.ndarray, crossings: np.ndarray) -> list[np.ndarray]:
    """The banks each crossing joins (positions in ``bank_geoms``)."""
    out = []
    for c in crossings:
        d = shapely.distance(bank_geoms, c)
        out.append(np.flatnonzero(d <= d.min() + CROSSING_REACH_M))
    return out


def water_distance(
    upts: np.ndarray,
    fpts: np.ndarray,
    outline: shapely.Geometry,
    water: np.ndarray,
    crossings_xy: np.ndarray,
) -> np.ndarray:
    """Metres from every unit point to every facility point, crossing water only at a crossing.

    Parameters
    ----------
    upts, fpts : ndarray
        ``(n, 2)`` and ``(m, 2)`` metric coordinates.
    outline : shapely geometry
        The city outline (metric).
    water : ndarray of geometries
        Water polygons and lines (metric).
    crossings_xy : ndarray
        ``(c, 2)`` metric coordinates of the crossings.

    Returns
    -------
    ndarray
        ``(n, m)`` float64 distances; the plain straight line where no crossing joins the banks.
    """
    straight = cdist(upts, fpts)
    bank_geoms = banks(outline, water)
    if len(bank_geoms) < 2 or len(crossings_xy) == 0 or len(upts) == 0 or len(fpts) == 0:
        return straight
    bu, _ = locate_points(bank_geoms, shapely.points(upts))
    bf, _ = locate_points(bank_geoms, shapely.points(fpts))
    joins = crossing_banks(bank_geoms, shapely.points(crossings_xy))
    n_b, n_c = len(bank_geoms), len(crossings_xy)
    on = np.zeros((n_c, n_b), dtype=bool)
    for c, bs in enumerate(joins):
        on[c, bs] = True
    # Crossing to crossing: a straight line when they share a bank; then shortest chains.
    share = (on.astype(np.int64) @ on.T.astype(np.int64)) > 0
    cc = np.where(share, cdist(crossings_xy, crossings_xy), 0.0)
    chain = shortest_path(cc, directed=False)
    # Unit -> crossing c2 by the best first crossing c1 on the unit's bank.
    reach = np.where(on[:, bu].T, cdist(upts, crossings_xy), np.inf)  # (n, c)
    best = np.min(reach[:, :, None] + chain[None, :, :], axis=1)  # (n, c)
    arrive = np.where(on[:, bf].T, cdist(fpts, crossings_xy), np.inf)  # (m, c)
    out = straight.copy()
    step = max(1, int(2e7 // max(1, n_c * len(fpts))))
    for s in range(0, len(upts), step):
        block = np.min(best[s : s + step, :, None] + arrive.T[None, :, :], axis=1)  # (b, m)
        other = bu[s : s + step, None] != bf[None, :]
        ok = other & np.isfinite(block)
        out[s : s + step][ok] = block[ok]
    return out


def unit_sides(
    points: np.ndarray, outline: shapely.Geometry, water: np.ndarray, crossings_xy: np.ndarray
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The bank of every unit point, and the unit pairs each crossing joins (the unit nearest the
    crossing on each bank it reaches), for adjacency across water."""
    bank_geoms = banks(outline, water)
    side, _ = locate_points(bank_geoms, shapely.points(points))
    pairs: list[tuple[int, int]] = []
    if len(bank_geoms) < 2 or len(crossings_xy) == 0:
        return side, pairs
    joins = crossing_banks(bank_geoms, shapely.points(crossings_xy))
    d = cdist(crossings_xy, points)
    for c, bs in enumerate(joins):
        near = []
        for b in bs:
            members = np.flatnonzero(side == b)
            if len(members):
                near.append(int(members[np.argmin(d[c, members])]))
        pairs += [(near[i], near[j]) for i in range(len(near)) for j in range(i + 1, len(near))]
    return side, pairs
