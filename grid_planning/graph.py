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

import weakref
from collections import OrderedDict
from collections.abc import Hashable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

_ADJ_CACHE: OrderedDict[tuple, sp.csr_matrix] = OrderedDict()
_ADJ_CACHE_SIZE = 8
_GEOM_CACHE: dict[tuple, tuple] = {}


def metric_geometry(gdf: gpd.GeoDataFrame, metric_crs: str) -> np.ndarray:
    """``gdf``'s geometry in ``metric_crs`` as a shapely array, memoised per frame object.

    Reprojecting 20k polygons takes ~0.1 s and the planner needs them in several places; the cache
    holds a weak reference so it never keeps a frame alive, and is keyed by the frame's identity
    (layers are immutable by contract).
    """
    key = (id(gdf), str(metric_crs))
    hit = _GEOM_CACHE.get(key)
    if hit is not None and hit[0]() is gdf and hit[1] == len(gdf):
        return hit[2]
    geoms = np.asarray(gdf.to_crs(metric_crs).geometry.values if gdf.crs else gdf.geometry.values)
    try:
        ref = weakref.ref(gdf)
    except TypeError:
        return geoms
    _GEOM_CACHE[key] = (ref, len(gdf), geoms)
    weakref.finalize(gdf, _GEOM_CACHE.pop, key, None)
    return geoms


def units_fingerprint(units: gpd.GeoDataFrame) -> str:
    """A cheap hash of unit ids and geometry (the adjacency cache key), memoised per frame object."""
    key = (id(units), "fingerprint")
    hit = _GEOM_CACHE.get(key)
    if hit is not None and hit[0]() is units and hit[1] == len(units):
        return hit[2]
    fp = _units_fingerprint(units)
    try:
        _GEOM_CACHE[key] = (weakref.ref(units), len(units), fp)
        weakref.finalize(units, _GEOM_CACHE.pop, key, None)
    except TypeError:
        pass
    return fp


def _units_fingerprint(units: gpd.GeoDataFrame) -> str:
    import hashlib

    h = hashlib.sha256()
    h.update("\x1f".join(map(str, units["id"])).encode())
    h.update(b"".join(shapely.to_wkb(units.geometry.values)))
    return h.hexdigest()[:16]


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
        ``n x n`` boolean-valued (int8) matrix; ``adj[i, j] = 1`` when units ``i`` and ``j`` are
        neighbours. Cached per units fingerprint and parameters.
    """
    key = (
        units_fingerprint(units),
        str(metric_crs),
        contiguity,
        float(min_shared_m),
        link_components,
    )
    hit = _ADJ_CACHE.get(key)
    if hit is not None:
        _ADJ_CACHE.move_to_end(key)
        return hit
    n = len(units)
    geoms = metric_geometry(units, metric_crs)
    if n == 0:
        return sp.csr_matrix((0, 0), dtype=np.int8)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=0.5)
    sel = left < right
    left, right = left[sel], right[sel]
    if contiguity == "rook" and len(left):
        ok = _rook_filter(geoms, left, right, min_shared_m)
        left, right = left[ok], right[ok]
    if link_components:
        left, right = _link_components(geoms, n, left, right)
    data = np.ones(2 * len(left), dtype=np.int8)
    adj = sp.csr_matrix(
        (data, (np.concatenate([left, right]), np.concatenate([right, left]))), shape=(n, n)
    )
    adj.sum_duplicates()
    adj.data[:] = 1
    _ADJ_CACHE[key] = adj
    while len(_ADJ_CACHE) > _ADJ_CACHE_SIZE:
        _ADJ_CACHE.popitem(last=False)
    return adj


def _rook_filter(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, min_shared_m: float
) -> np.ndarray:
    """Which candidate pairs share a boundary segment (rook contiguity).

    Fast path: in a properly noded coverage, polygons sharing an edge share at least two vertices
    (counted exactly with a sparse polygon x vertex product). The remaining pairs are classified by
    their DE-9IM relation: a one-dimensional boundary contact counts, a point contact (corner) does
    not; pairs that do not touch (digitising gaps under 0.5 m) or that overlap are measured with a
    0.5 m buffer around the boundary and must share more than ``min_shared_m`` metres.
    """
    n = len(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    # Integer centimetre keys packed into one int64 -> a fast 1-D unique.
    q = np.round((coords - coords.min(axis=0)) * 100).astype(np.int64)
    _, vid = np.unique(q[:, 0] * (int(q[:, 1].max()) + 1) + q[:, 1], return_inverse=True)
    vid = vid.ravel()
    m = sp.csr_matrix(
        (np.ones(len(vid), dtype=np.int32), (owner, vid)), shape=(n, int(vid.max()) + 1)
    )
    m.sum_duplicates()
    m.data[:] = 1  # a closing vertex repeats the first one; count it once
    shared_v = np.asarray((m[left].multiply(m[right])).sum(axis=1)).ravel()
    ok = shared_v >= 2
    rest = np.flatnonzero(~ok)
    if len(rest):
        # Snap vertices to 1 cm first (pointwise, cheap): reprojection noise otherwise turns corner
        # contacts into microscopic overlaps.
        snapped = shapely.set_precision(geoms, 0.01, mode="pointwise")
        try:
            de9im = shapely.relate(snapped[left[rest]], snapped[right[rest]])
        except shapely.errors.GEOSException:
            de9im = shapely.relate(geoms[left[rest]], geoms[right[rest]])
        codes = np.asarray(de9im, dtype="U9")
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
) -> tuple[np.ndarray, np.ndarray]:
    """Add one edge per component towards its nearest other component until all are connected."""
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    tree = cKDTree(pts)
    left, right = list(left), list(right)
    while True:
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
        for a, b in sorted(added):
            left.append(a)
            right.append(b)
    return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)


def _nearest_outside(
    tree: cKDTree, pts: np.ndarray, members: np.ndarray, comp: np.ndarray, c: int
) -> tuple[int, int] | None:
    """Closest (member, non-member) pair of points, by centroid distance."""
    n = len(pts)
    k = 16
    while True:
        dist, idx = tree.query(pts[members], k=min(k, n))
        dist = np.atleast_2d(dist)
        idx = np.atleast_2d(idx)
        outside = comp[np.minimum(idx, n - 1)] != c
        if outside.any():
            masked = np.where(outside, dist, np.inf)
            flat = int(np.argmin(masked))
            r, col = divmod(flat, masked.shape[1])
            return int(members[r]), int(idx[r, col])
        if k >= n:
            return None
        k = min(n, k * 4)


def facility_units(layers, facilities: gpd.GeoDataFrame | None = None) -> pd.Series:
    """Unit id each facility lies in (the nearest unit when it lies outside every unit).

    Parameters
    ----------
    layers : CityLayers
        City layers (units and metric CRS are used).
    facilities : GeoDataFrame, optional
        Facilities to place; default ``layers.facilities``.

    Returns
    -------
    pandas.Series
        Index: facility id; values: unit id (str).
    """
    fac = layers.facilities if facilities is None else facilities
    idx = facility_unit_index(layers, fac)
    return pd.Series(
        layers.units["id"].astype(str).to_numpy()[idx],
        index=pd.Index(fac["id"].astype(str)),
        name="unit_id",
    )


_FU_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()


def facility_unit_index(layers, facilities: gpd.GeoDataFrame) -> np.ndarray:
    """Positional unit index (into ``layers.units``) of each facility; see :func:`facility_units`.

    Cached per units fingerprint, metric CRS and facility ids/positions.
    """
    if len(facilities) == 0:
        return np.zeros(0, dtype=np.int64)
    import hashlib

    h = hashlib.sha256()
    h.update("\x1f".join(map(str, facilities["id"].to_numpy())).encode())
    h.update(np.ascontiguousarray(shapely.get_coordinates(facilities.geometry.values)).tobytes())
    h.update(str(facilities.crs).encode())
    key = (units_fingerprint(layers.units), str(layers.metric_crs), h.hexdigest())
    hit = _FU_CACHE.get(key)
    if hit is not None:
        _FU_CACHE.move_to_end(key)
        return hit
    out = _facility_unit_index(layers, facilities)
    out.setflags(write=False)
    _FU_CACHE[key] = out
    while len(_FU_CACHE) > 16:
        _FU_CACHE.popitem(last=False)
    return out


def _facility_unit_index(layers, facilities: gpd.GeoDataFrame) -> np.ndarray:
    units = metric_geometry(layers.units, layers.metric_crs)
    pts = np.asarray(facilities.to_crs(layers.metric_crs).geometry.values)
    tree = shapely.STRtree(units)
    fac_i, unit_i = tree.query(pts, predicate="within")
    out = np.full(len(pts), -1, dtype=np.int64)
    # A point on a shared edge lies in no unit ("within" is strict); the first hit otherwise.
    order = np.argsort(fac_i, kind="stable")
    fac_i, unit_i = fac_i[order], unit_i[order]
    first = np.r_[True, fac_i[1:] != fac_i[:-1]] if len(fac_i) else np.zeros(0, bool)
    out[fac_i[first]] = unit_i[first]
    missing = np.flatnonzero(out < 0)
    if len(missing):
        out[missing] = tree.nearest(pts[missing])
    return out


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
    _, comp = connected_components(g, directed=False)
    valid = codes >= 0
    pairs = np.unique(np.column_stack([codes[valid], comp[valid]]), axis=0)
    return np.bincount(pairs[:, 0], minlength=n_labels)
