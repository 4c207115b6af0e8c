"""Unit adjacency: which population units touch, so that grids can be kept spatially contiguous.

Two units are neighbours when their boundaries share a segment longer than ``min_shared_m`` metres
("rook" contiguity, the default: corner-only contacts do not count, so a grid never hangs together by
a single point) or when they touch at all ("queen"). Units that touch nothing (islands, exclaves,
units across a lake or a river) would make contiguity impossible, so each separate component of the
graph is linked to its nearest neighbouring component by one edge between the closest pair of unit
centroids (Borůvka-style, repeated until the graph is connected). Those links are how "islands and
exclaves are linked to their nearest neighbour" in the planner's rules.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Adjacency:
    """Which units touch, and the links added so that the city is one connected graph.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        ``n x n`` symmetric int8 matrix, 1 where two units are neighbours (including the links).
    links : pandas.DataFrame
        One row per added link: ``a``, ``b`` (unit positions), ``distance_m`` (the gap between the
        two units' polygons). Empty when the units already form one connected piece.
    parts : int
        Number of separate pieces the units form before linking (1 = no island).
    """

    matrix: sp.csr_matrix
    links: pd.DataFrame
    parts: int


def metric_geometry(gdf: gpd.GeoDataFrame, metric_crs: str) -> np.ndarray:
    """``gdf``'s geometry in ``metric_crs`` as a shapely array (no caching: see
    :class:`grid_planning.city.index.CityIndex`, which keeps it per city)."""
    return np.asarray(gdf.to_crs(metric_crs).geometry.values if gdf.crs else gdf.geometry.values)


def unit_adjacency(
    units: gpd.GeoDataFrame,
    metric_crs: str,
    *,
    contiguity: str = "rook",
    min_shared_m: float = 1.0,
    link_components: bool = True,
) -> sp.csr_matrix:
    """Symmetric adjacency matrix of the units (in the order of ``units``), connected.

    Parameters
    ----------
    units : GeoDataFrame
        Population units (any CRS; reprojected to ``metric_crs``).
    metric_crs : str
        Projected CRS in metres.
    contiguity : {"rook", "queen"}
        ``rook``: boundaries share a segment longer than ``min_shared_m``; ``queen``: any contact
        (within 0.5 m, so that tiny digitising gaps still count).
    min_shared_m : float
        Minimum shared boundary length for rook contiguity.
    link_components : bool
        Link separate components (islands, exclaves) to their nearest component so the graph is
        connected.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n x n`` int8 matrix; ``adj[i, j] = 1`` when units ``i`` and ``j`` are neighbours. The
        city's :class:`~grid_planning.city.index.CityIndex` keeps it (``layers.index.adjacency``).
    """
    geoms = metric_geometry(units, metric_crs)
    return build_adjacency(
        geoms, contiguity=contiguity, min_shared_m=min_shared_m, link_components=link_components
    ).matrix


def build_adjacency(
    geoms: np.ndarray,
    *,
    contiguity: str = "rook",
    min_shared_m: float = 1.0,
    link_components: bool = True,
) -> Adjacency:
    """:func:`unit_adjacency` on metric geometries, with the island links it added.

    Raises
    ------
    ValueError
        When a unit has no geometry (validated layers never have one: see ``layers.read_units``).
    """
    n = len(geoms)
    if n == 0:
        return Adjacency(sp.csr_matrix((0, 0), dtype=np.int8), _links_frame([], []), 0)
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    if empty.any():
        raise ValueError(f"units without geometry at positions {np.flatnonzero(empty)[:10].tolist()}")
    xy = shapely.get_coordinates(geoms, return_index=True)  # read once for both vertex tests
    left, right, shared_v = _near_pairs(geoms, xy)
    if contiguity == "rook" and len(left):
        ok = _rook_filter(geoms, left, right, min_shared_m, shared_v, xy=xy)
        left, right = left[ok], right[ok]
    parts = _n_components(n, left, right)
    link_a: list[int] = []
    link_b: list[int] = []
    if link_components and parts > 1:
        link_a, link_b = _link_components(geoms, n, left, right)
        left = np.concatenate([left, np.asarray(link_a, dtype=np.int64)])
        right = np.concatenate([right, np.asarray(link_b, dtype=np.int64)])
    return _adjacency(geoms, left, right, link_a, link_b, parts)


def connect_across(
    geoms: np.ndarray,
    adjacency: Adjacency,
    side: np.ndarray,
    bridges: list[tuple[int, int]],
) -> Adjacency:
    """Adjacency where units on different sides of water touch only at a crossing.

    Parameters
    ----------
    geoms : ndarray
        Unit geometries (metric).
    adjacency : Adjacency
        The units' adjacency (:func:`build_adjacency`).
    side : ndarray of int
        The bank of every unit (:func:`grid_planning.geo.water.banks`).
    bridges : list of (int, int)
        Unit pairs joined at a crossing (the nearest unit on each bank it joins).

    Returns
    -------
    Adjacency
        Contacts and links between banks removed, one link per crossing added (listed in
        ``links`` like the island links, so the checks say a grid hangs on it), then any piece
        still apart linked to its nearest neighbour as :func:`build_adjacency` does.
    """
    n = len(geoms)
    coo = sp.triu(adjacency.matrix, k=1).tocoo()
    same = side[coo.row] == side[coo.col]
    left, right = coo.row[same].astype(np.int64), coo.col[same].astype(np.int64)
    links = adjacency.links
    keep = side[links["a"].to_numpy()] == side[links["b"].to_numpy()] if len(links) else []
    link_a = links["a"].to_numpy()[keep].tolist() if len(links) else []
    link_b = links["b"].to_numpy()[keep].tolist() if len(links) else []
    for a, b in sorted({tuple(sorted(p)) for p in bridges if p[0] != p[1]}):
        link_a.append(int(a))
        link_b.append(int(b))
    left = np.concatenate([left, np.asarray(link_a, dtype=np.int64)])
    right = np.concatenate([right, np.asarray(link_b, dtype=np.int64)])
    parts = _n_components(n, left, right)
    if parts > 1:
        more_a, more_b = _link_components(geoms, n, left, right)
        link_a += more_a
        link_b += more_b
        left = np.concatenate([left, np.asarray(more_a, dtype=np.int64)])
        right = np.concatenate([right, np.asarray(more_b, dtype=np.int64)])
    return _adjacency(geoms, left, right, link_a, link_b, adjacency.parts)


def _adjacency(
    geoms: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    link_a: list[int],
    link_b: list[int],
    parts: int,
) -> Adjacency:
    """The symmetric 0/1 adjacency of the pairs ``(left, right)`` (links included), with the links
    listed and their lengths."""
    n = len(geoms)
    data = np.ones(2 * len(left), dtype=np.int8)
    adj = sp.csr_matrix(
        (data, (np.concatenate([left, right]), np.concatenate([right, left]))), shape=(n, n)
    )
    adj.sum_duplicates()
    adj.data[:] = 1
    dist = shapely.distance(geoms[link_a], geoms[link_b]) if link_a else np.zeros(0)
    return Adjacency(adj, _links_frame(link_a, link_b, dist), parts)


def _links_frame(a, b, dist=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": np.asarray(a, dtype=np.int64),
            "b": np.asarray(b, dtype=np.int64),
            "distance_m": np.asarray(dist if dist is not None else [], dtype=float),
        }
    )


def _n_components(n: int, left: np.ndarray, right: np.ndarray) -> int:
    g = sp.csr_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    return int(connected_components(g, directed=False)[0])


def _near_pairs(geoms: np.ndarray, xy=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of units within 0.5 m of each other, and how many vertices each pair
    shares (:func:`_shared_vertices`).

    Candidates are the pairs whose envelopes, grown by 0.5 m, intersect; a pair sharing a vertex
    (to the centimetre) is within 0.5 m, and the exact test (GEOS distance) runs only on the
    others. Querying the tree with the distance predicate instead took ~1 s per 100,000 units.
    ``xy``: the units' vertices and their owners (``shapely.get_coordinates(geoms,
    return_index=True)``) when the caller has them.
    """
    tree = shapely.STRtree(geoms)
    box = shapely.bounds(geoms)
    grown = shapely.box(box[:, 0] - 0.5, box[:, 1] - 0.5, box[:, 2] + 0.5, box[:, 3] + 0.5)
    left, right = tree.query(grown)
    sel = left < right
    left, right = left[sel], right[sel]
    if not len(left):
        return left.astype(np.int64), right.astype(np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((right, left))
    left, right = left[order].astype(np.int64), right[order].astype(np.int64)
    shared = _shared_vertices(geoms, left, right, xy)
    near = shared >= 1
    test = np.flatnonzero(~near)
    near[test] = shapely.dwithin(geoms[left[test]], geoms[right[test]], 0.5)
    return left[near], right[near], shared[near]


def _vertex_matrix(geoms: np.ndarray, xy=None) -> sp.csr_matrix:
    """Units x vertices (centimetre keys) 0/1 matrix: which units have a vertex there."""
    n = len(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True) if xy is None else xy
    # Integer centimetre keys packed into one int64, numbered by a hash table (factorize: the
    # vertices' numbers differ from a sorted unique's, what each unit holds does not).
    q = np.round((coords - coords.min(axis=0)) * 100).astype(np.int64)
    vid, keys = pd.factorize(q[:, 0] * (int(q[:, 1].max()) + 1) + q[:, 1])
    m = sp.csr_matrix(
        (np.ones(len(vid), dtype=np.int32), (owner, vid)), shape=(n, len(keys))
    )
    m.sum_duplicates()
    m.data[:] = 1  # a closing vertex repeats the first one; count it once
    return m


def _shared_vertices(geoms: np.ndarray, left: np.ndarray, right: np.ndarray, xy=None) -> np.ndarray:
    """How many vertices (to the centimetre) each pair has in common."""
    m = _vertex_matrix(geoms, xy)
    return np.asarray((m[left].multiply(m[right])).sum(axis=1)).ravel()


def snap_cm(values: np.ndarray) -> np.ndarray:
    """Metres to whole centimetres, rounded as GEOS rounds to a 1 cm precision grid (halves
    upwards, as ``java.lang.Math.round``): ``snap_cm(x) / 100`` is the coordinate
    ``shapely.set_precision(g, 0.01, mode="pointwise")`` gives (checked in the tests)."""
    v = np.asarray(values, dtype=float) * 100.0
    whole = np.trunc(v)
    frac = np.abs(v - whole)
    up = np.where(v >= 0, frac >= 0.5, frac > 0.5)
    return (whole + np.where(v >= 0, up, -up.astype(float))).astype(np.int64)


def _corner_only(geoms: np.ndarray, left: np.ndarray, right: np.ndarray, xy=None) -> np.ndarray:
    """Pairs of polygons that, snapped to 1 cm, meet at exactly one point: their envelopes meet at
    a single point and both have a vertex exactly there. Their boundaries share that point and
    nothing else and their interiors are apart, so their DE-9IM relation is ``F***0****``: a
    corner, which rook contiguity rejects; this says so without GEOS (the diagonal neighbours of
    a grid of cells are half of all candidate pairs). Snapping is done on the coordinates
    (:func:`snap_cm`, integer centimetres), not by building snapped geometries."""
    box = snap_cm(shapely.bounds(geoms))
    bl, br = box[left], box[right]
    x0 = np.maximum(bl[:, 0], br[:, 0])
    y0 = np.maximum(bl[:, 1], br[:, 1])
    point = (x0 == np.minimum(bl[:, 2], br[:, 2])) & (y0 == np.minimum(bl[:, 3], br[:, 3]))
    out = np.zeros(len(left), dtype=bool)
    idx = np.flatnonzero(point)
    if not len(idx):
        return out
    coords, owner = shapely.get_coordinates(geoms, return_index=True) if xy is None else xy
    q = snap_cm(coords)
    lo = q.min(axis=0)
    span = int(q[:, 1].max() - lo[1]) + 1
    keys = (q[:, 0] - lo[0]) * span + (q[:, 1] - lo[1])
    vid, ukeys = pd.factorize(keys)  # a hash table: ~4x faster than a sorted unique
    m = sp.csr_matrix(
        (np.ones(len(vid), dtype=np.int8), (owner, vid)), shape=(len(geoms), len(ukeys))
    )
    ck = (x0[idx] - lo[0]) * span + (y0[idx] - lo[1])
    pos = pd.Index(ukeys).get_indexer(ck)
    found = pos >= 0
    pos = np.where(found, pos, 0)
    has_l = np.asarray(m[left[idx], pos] != 0).ravel()
    has_r = np.asarray(m[right[idx], pos] != 0).ravel()
    out[idx] = found & has_l & has_r
    return out


def _rook_filter(
    geoms: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    min_shared_m: float,
    shared_v: np.ndarray | None = None,
    *,
    xy=None,
) -> np.ndarray:
    """Which candidate pairs share a boundary segment (rook contiguity).

    Fast path: in a properly noded coverage, polygons sharing an edge share at least two vertices
    (counted exactly with a sparse polygon x vertex product). The remaining pairs are classified by
    their DE-9IM relation: a one-dimensional boundary contact counts, a point contact (corner) does
    not (pairs that can only meet at one corner are recognised without GEOS, :func:`_corner_only`);
    pairs that do not touch (digitising gaps under 0.5 m) or that overlap are measured with a
    0.5 m buffer around the boundary and must share more than ``min_shared_m`` metres.
    """
    if shared_v is None:
        shared_v = _shared_vertices(geoms, left, right, xy)
    ok = shared_v >= 2
    rest = np.flatnonzero(~ok)
    if len(rest):
        # Snap vertices to 1 cm first (pointwise, cheap): reprojection noise otherwise turns corner
        # contacts into microscopic overlaps. Only the units of the pairs GEOS is asked about
        # are snapped as geometries (the corners are found on snapped coordinates).
        codes = np.full(len(rest), "F***0****", dtype="U9")
        ask = ~_corner_only(geoms, left[rest], right[rest], xy)
        a, b = left[rest[ask]], right[rest[ask]]
        used = np.unique(np.concatenate([a, b]))
        snapped = shapely.set_precision(geoms[used], 0.01, mode="pointwise")
        try:
            codes[ask] = shapely.relate(
                snapped[np.searchsorted(used, a)], snapped[np.searchsorted(used, b)]
            )
        except shapely.errors.GEOSException:
            codes = np.asarray(shapely.relate(geoms[left[rest]], geoms[right[rest]]), dtype="U9")
        line = np.array([c[4] == "1" for c in codes.tolist()], dtype=bool)
        ok[rest[line]] = True
        # Gaps (no contact) and overlaps (interiors meet, e.g. slivers or a corner that overlaps by
        # a rounding error) are measured.
        unsure = np.array([c[4] == "F" or c[0] == "2" for c in codes.tolist()], dtype=bool)
        gap = rest[unsure & ~line]
        if len(gap):
            a = shapely.buffer(shapely.boundary(geoms[left[gap]]), 0.5)
            near = shapely.intersection(a, shapely.boundary(geoms[right[gap]]))
            # The buffer adds up to about 1 m at the ends, hence the margin.
            ok[gap] = shapely.length(near) - 1.0 > min_shared_m
    return ok


def _link_components(
    geoms: np.ndarray, n: int, left: np.ndarray, right: np.ndarray
) -> tuple[list[int], list[int]]:
    """Add one edge per component towards its nearest other component until all are connected.

    Returns the added edges as two lists of unit positions (``a < b``), in a deterministic order.
    """
    surface = shapely.point_on_surface(geoms)
    pts = np.column_stack([shapely.get_x(surface), shapely.get_y(surface)])
    tree = cKDTree(pts)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    added_a: list[int] = []
    added_b: list[int] = []
    while True:
        # arrays, not lists: a list of 200,000 numpy integers takes ~0.05 s to become a matrix
        g = sp.csr_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
        ncomp, comp = connected_components(g, directed=False)
        if ncomp <= 1:
            break
        added: set[tuple[int, int]] = set()
        sizes = np.bincount(comp)
        # The largest component need not look outwards: every other one links towards something.
        for c in range(ncomp):
            if c == int(np.argmax(sizes)):
                continue
            members = np.flatnonzero(comp == c)
            best = _nearest_outside(tree, pts, members, comp, c)
            if best is not None:
                a, b = sorted(best)
                added.add((a, b))
        if not added:  # pragma: no cover - a finite point set always has an outside neighbour
            break
        new_a, new_b = [a for a, _b in sorted(added)], [b for _a, b in sorted(added)]
        left = np.concatenate([left, np.asarray(new_a, dtype=np.int64)])
        right = np.concatenate([right, np.asarray(new_b, dtype=np.int64)])
        added_a += new_a
        added_b += new_b
    return added_a, added_b


def _nearest_outside(
    tree: cKDTree, pts: np.ndarray, members: np.ndarray, comp: np.ndarray, c: int
) -> tuple[int, int] | None:
    """Closest (member, non-member) pair of points, by representative-point distance.

    Each member's ``k`` nearest points are searched, ``k`` widening (16, 64, 256, ...) until some
    member has a non-member among them; the first member (in order) whose nearest non-member is
    closest wins, with the first such point of its list."""
    n = len(pts)
    k = 16
    while True:
        kk = min(k, n)
        if kk > len(members) and len(members) * kk > OUTSIDE_SHORTCUT:
            return _nearest_outside_all_found(tree, pts, members, comp, c, kk)
        dist, idx = tree.query(pts[members], k=kk)
        dist = np.atleast_2d(dist).reshape(len(members), -1)
        idx = np.atleast_2d(idx).reshape(len(members), -1)
        outside = comp[np.minimum(idx, n - 1)] != c
        if outside.any():
            return _first_closest(members, dist, idx, outside)
        if k >= n:
            return None
        k = min(n, k * 4)


#: Members x k above which :func:`_nearest_outside` takes the shortcut of
#: :func:`_nearest_outside_all_found` (an island of 900 units, k = 1,024: ~0.13 s otherwise).
OUTSIDE_SHORTCUT = 200_000


def _first_closest(members, dist, idx, outside) -> tuple[int, int]:
    masked = np.where(outside, dist, np.inf)
    flat = int(np.argmin(masked))
    r, col = divmod(flat, masked.shape[1])
    return int(members[r]), int(idx[r, col])


def _nearest_outside_all_found(tree, pts, members, comp, c, kk) -> tuple[int, int] | None:
    """What :func:`_nearest_outside` finds with ``kk`` neighbours when ``kk`` exceeds the number
    of members: every member's list then holds a non-member, and its nearest non-member (the
    first one in a list sorted by distance). So only the members whose nearest non-member is the
    closest (to a relative 1e-9, found in a tree of the non-members) can win; their lists are
    searched exactly as for every member, in member order: the same pair."""
    others = np.flatnonzero(comp != c)
    if not len(others):
        return None
    d_out, _ = cKDTree(pts[others]).query(pts[members], k=1)
    d_out = np.atleast_1d(d_out)
    best = float(d_out.min())
    near = members[d_out <= best * (1 + 1e-9) + 1e-9]
    dist, idx = tree.query(pts[near], k=kk)
    dist = np.atleast_2d(dist).reshape(len(near), -1)
    idx = np.atleast_2d(idx).reshape(len(near), -1)
    outside = comp[np.minimum(idx, len(pts) - 1)] != c
    return _first_closest(near, dist, idx, outside)


def locate_points(unit_geoms: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unit each point lies in, and how far outside every unit it is.

    Parameters
    ----------
    unit_geoms : ndarray of shapely geometries
        Units, metric CRS.
    points : ndarray of shapely Points
        Same CRS.

    Returns
    -------
    (ndarray of int, ndarray of float)
        Position of the unit that covers the point (a point exactly on a shared border belongs to
        the first unit, in layer order, that touches it), else of the nearest unit; and the
        distance in metres to that unit (0 inside). The one rule used by the planner, the checks,
        the rosters and the maps.
    """
    n = len(points)
    out = np.full(n, -1, dtype=np.int64)
    dist = np.zeros(n)
    if n == 0 or len(unit_geoms) == 0:
        return out, np.full(n, np.inf)
    tree = shapely.STRtree(unit_geoms)
    pt_i, unit_i = tree.query(points, predicate="intersects")
    if len(pt_i):
        order = np.lexsort((unit_i, pt_i))
        pt_i, unit_i = pt_i[order], unit_i[order]
        first = np.r_[True, pt_i[1:] != pt_i[:-1]]
        out[pt_i[first]] = unit_i[first]
    missing = np.flatnonzero(out < 0)
    if len(missing):
        near = tree.nearest(points[missing])
        out[missing] = near
        dist[missing] = shapely.distance(points[missing], unit_geoms[near])
    return out, dist


def is_contiguous(adj: sp.csr_matrix, labels: Sequence[Hashable] | pd.Series | np.ndarray) -> dict:
    """Number of connected parts of each grid.

    Parameters
    ----------
    adj : csr_matrix
        Unit adjacency (from :func:`unit_adjacency`).
    labels : sequence
        Grid label of every unit, in the same order as the adjacency rows.

    Returns
    -------
    dict
        ``{label: number of connected parts}``; a contiguous grid has 1.
    """
    lab = pd.Series(np.asarray(labels, dtype=object))
    codes, uniques = pd.factorize(lab, sort=True)
    parts = component_counts(adj, codes, len(uniques))
    return {uniques[i]: int(parts[i]) for i in range(len(uniques))}


def component_counts(adj: sp.csr_matrix, codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Connected parts per integer label (``codes`` in ``0..n_labels-1``; negative codes ignored)."""
    coo = adj.tocoo()
    same = (codes[coo.row] == codes[coo.col]) & (codes[coo.row] >= 0)
    n = adj.shape[0]
    g = sp.csr_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(n, n))
    n_comp, comp = connected_components(g, directed=False)
    valid = codes >= 0
    # Edges join units of one label only, so every part has one label: count the parts by the
    # label of their units (the distinct (label, part) pairs, without sorting 100,000 rows).
    label_of = np.full(n_comp, -1, dtype=np.int64)
    label_of[comp[valid]] = codes[valid]
    return np.bincount(label_of[label_of >= 0], minlength=n_labels)


def linked_islands(links: pd.DataFrame, codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Island links inside each label: how many of a grid's pieces hang on an added link.

    A grid that holds both ends of a link is contiguous only through that link (an island, an
    exclave, a unit across a river); the checks say so instead of calling it plainly contiguous.
    """
    if links.empty or n_labels == 0:
        return np.zeros(n_labels, dtype=np.int64)
    a = codes[links["a"].to_numpy()]
    b = codes[links["b"].to_numpy()]
    inside = (a == b) & (a >= 0)
    return np.bincount(a[inside], minlength=n_labels).astype(np.int64)
