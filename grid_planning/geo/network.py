"""Road networks as offices have them: noding crossings, grade separation, and chain contraction.

Two steps that :mod:`grid_planning.city.costs` runs before its shortest paths:

Noding (:func:`node_lines`)
    A road layer exported from CAD or drawn in an office GIS often has lines that cross without a
    shared vertex; read as they are, such a network falls apart into pieces and the units on them
    silently fall back to straight-line time. Crossing lines are therefore joined at the crossing,
    *unless* the layer marks grade separation with OpenStreetMap-style columns (``bridge``,
    ``tunnel``, ``layer``): then only lines on the same level are joined (a bridge is level 1, a
    tunnel -1, an explicit ``layer`` wins). A layer without those columns whose crossings already
    share vertices (an OSM extract: the few crossings without a shared vertex are bridges and
    tunnels) is left as it is; :func:`needs_noding` decides from a sample of crossings.
Contraction (:func:`contract`)
    Most vertices of a real road layer only shape a street (70,731 of the 79,927 nodes of the
    Wuhan sample's network have two neighbours). Chains of such vertices are replaced by one edge
    carrying their summed time, keeping every junction and every node a unit or a facility is
    snapped to, so shortest paths are exact and run on a graph several times smaller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

#: Columns that mark grade separation (OpenStreetMap tagging).
GRADE_COLUMNS = ("bridge", "tunnel", "layer")


#: Share of sampled crossings without a shared vertex above which a layer without grade columns
#: is noded (an OSM-derived layer has a few bridges and tunnels, a CAD layer nearly all of them).
UNNODED_SHARE = 0.5


#: Pieces of a road network holding less than this share of its nodes are fragments: units and
#: facilities are not snapped to them (see ``RoadNetwork.snappable`` in ``city/costs.py``).
FRAGMENT_SHARE = 0.01


#: Crossings inspected by :func:`needs_noding` (bounded cost on large layers).
SAMPLE_PAIRS = 400


_TRUE = {"yes", "true", "1", "y", "t", "viaduct", "building_passage", "culvert", "covered"}


def grade_levels(roads: pd.DataFrame) -> np.ndarray | None:
    """Vertical level of every road (int), or None when the layer has no grade column.

    ``layer`` (an integer) when given, else 1 for a ``bridge``, -1 for a ``tunnel``, else 0.
    """
    cols = [c for c in GRADE_COLUMNS if c in roads.columns]
    if not cols:
        return None
    level = np.zeros(len(roads), dtype=np.int64)
    for col, value in (("bridge", 1), ("tunnel", -1)):
        if col in roads.columns:
            flag = roads[col].astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()
            level[flag] = value
    if "layer" in roads.columns:
        given = pd.to_numeric(roads["layer"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(given)
        level[ok] = given[ok].astype(np.int64)
    return level


def _crossing_points(
    lines: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points where lines ``a[i]`` and ``b[i]`` meet: ``(m, 2)`` coordinates and pair positions."""
    if len(a) == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    inter = shapely.intersection(lines[a], lines[b])
    xy, pair = shapely.get_coordinates(inter, return_index=True)
    return xy, pair


def needs_noding(lines: np.ndarray, snap_m: float, seed: int = 0) -> tuple[bool, float]:
    """Whether a layer without grade columns has crossings without a shared vertex (CAD-style).

    Returns the decision and the share of sampled crossing points that lie on no vertex of one of
    the two lines (NaN when no line crosses another).
    """
    n = len(lines)
    if n < 2:
        return False, float("nan")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, size=min(n, SAMPLE_PAIRS), replace=False))
    tree = shapely.STRtree(lines)
    qa, qb = tree.query(lines[pick])
    qa = pick[qa]
    sel = qa != qb
    qa, qb = qa[sel], qb[sel]
    if len(qa) > 4 * SAMPLE_PAIRS:
        keep = np.sort(rng.choice(len(qa), size=4 * SAMPLE_PAIRS, replace=False))
        qa, qb = qa[keep], qb[keep]
    hit = shapely.intersects(lines[qa], lines[qb])
    qa, qb = qa[hit], qb[hit]
    xy, pair = _crossing_points(lines, qa, qb)
    if len(xy) == 0:
        return False, float("nan")
    pts = shapely.points(xy)
    # A crossing is noded when both lines have a vertex there.
    on_a = _on_vertex(lines, qa[pair], pts, snap_m)
    on_b = _on_vertex(lines, qb[pair], pts, snap_m)
    share = float(np.mean(~(on_a & on_b)))
    return share >= UNNODED_SHARE, share


def _on_vertex(lines: np.ndarray, which: np.ndarray, pts: np.ndarray, snap_m: float) -> np.ndarray:
    """Whether each point lies within ``snap_m`` of a vertex of its line ``lines[which]``."""
    # A street crosses many others: take each line's vertices once, not once per crossing.
    line, inv = np.unique(which, return_inverse=True)
    verts = shapely.extract_unique_points(lines[line])[inv.ravel()]
    return shapely.distance(verts, pts) <= max(snap_m, 1e-6)


def node_lines(
    lines: np.ndarray, levels: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Vertices of ``lines`` with every crossing inserted as a vertex of both lines.

    Parameters
    ----------
    lines : ndarray of LineString
        Single-part lines, metric CRS.
    levels : ndarray of int, optional
        Grade level of each line (:func:`grade_levels`); lines on different levels are not joined.

    Returns
    -------
    (ndarray, ndarray, int)
        ``(m, 2)`` coordinates, the line each belongs to (in order along the line), and the number
        of crossing points inserted.
    """
    coords, line_idx = shapely.get_coordinates(lines, return_index=True)
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    sel = a < b
    if levels is not None:
        sel &= levels[a] == levels[b]
    a, b = a[sel], b[sel]
    xy, pair = _crossing_points(lines, a, b)
    if len(xy) == 0:
        return coords, line_idx, 0
    owner = np.concatenate([a[pair], b[pair]])
    pxy = np.vstack([xy, xy])
    m_new = shapely.line_locate_point(lines[owner], shapely.points(pxy))
    # Distance along its line of every existing vertex.
    seg = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    seg[np.r_[True, line_idx[1:] != line_idx[:-1]]] = 0.0
    cum = np.cumsum(seg)
    start = pd.Series(cum).groupby(line_idx).transform("min").to_numpy()
    m_old = cum - start
    all_xy = np.vstack([coords, pxy])
    all_line = np.concatenate([line_idx, owner])
    all_m = np.concatenate([m_old, m_new])
    # Existing vertices first at equal positions, so a crossing at a vertex adds nothing new.
    tie = np.concatenate([np.zeros(len(m_old)), np.ones(len(m_new))])
    order = np.lexsort((tie, all_m, all_line))
    return all_xy[order], all_line[order], int(len(xy))


def contract(
    graph: sp.csr_matrix, keep: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Replace chains of two-neighbour nodes by single edges (exact shortest paths).

    Parameters
    ----------
    graph : csr_matrix
        Symmetric matrix of edge weights (one entry per direction, no parallel edges).
    keep : ndarray of bool
        Nodes that must survive (those units and facilities are snapped to); junctions and dead
        ends (any node without exactly two neighbours) always survive.

    Returns
    -------
    (csr_matrix, ndarray)
        The contracted graph over the surviving nodes, and the new position of every old node
        (-1 for a node contracted away).
    """
    n = graph.shape[0]
    deg = np.diff(graph.indptr)
    kept = np.asarray(keep, dtype=bool) | (deg != 2)
    coo = sp.triu(graph, k=1).tocoo()
    lo, hi, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(float)
    new_pos = np.full(n, -1, dtype=np.int64)
    new_pos[kept] = np.arange(int(kept.sum()))
    both = kept[lo] & kept[hi]
    e_lo, e_hi, e_w = [new_pos[lo[both]]], [new_pos[hi[both]]], [w[both]]
    inner = ~kept[lo] & ~kept[hi]
    if (~kept).any():
        g_in = sp.csr_matrix((np.ones(int(inner.sum())), (lo[inner], hi[inner])), shape=(n, n))
        _, comp = connected_components(g_in, directed=False)
        chain_w = np.bincount(comp[lo[inner]], weights=w[inner], minlength=n)
        edge = kept[lo] ^ kept[hi]  # one end kept, the other inside a chain
        k_end = np.where(kept[lo[edge]], lo[edge], hi[edge])
        c_end = comp[np.where(kept[lo[edge]], hi[edge], lo[edge])]
        order = np.argsort(c_end, kind="stable")
        c_end, k_end, ew = c_end[order], k_end[order], w[edge][order]
        # A path of chain nodes has exactly two edges out to kept nodes (a closed ring has none).
        first = np.r_[True, c_end[1:] != c_end[:-1]]
        starts = np.flatnonzero(first)
        counts = np.diff(np.r_[starts, len(c_end)])
        ok = counts == 2
        s = starts[ok]
        u, v = k_end[s], k_end[s + 1]
        total = chain_w[c_end[s]] + ew[s] + ew[s + 1]
        loop = u == v
        e_lo.append(new_pos[u[~loop]])
        e_hi.append(new_pos[v[~loop]])
        e_w.append(total[~loop])
    a = np.concatenate(e_lo)
    b = np.concatenate(e_hi)
    ww = np.concatenate(e_w)
    m = int(kept.sum())
    return symmetric_min(a, b, ww, m), new_pos


def symmetric_min(a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric ``n x n`` csr matrix of the smallest weight among parallel edges ``a``-``b``."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    lo, hi, w = lo[keep], hi[keep], w[keep]
    order = np.lexsort((w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])] if len(lo) else np.zeros(0, bool)
    lo, hi, w = lo[first], hi[first], np.maximum(w[first], 1e-6)
    return sp.csr_matrix((np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n))


def pieces(graph: sp.csr_matrix) -> np.ndarray:
    """Connected piece of every node."""
    if graph.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return connected_components(graph, directed=False)[1]


def pieces_by_size(graph: sp.csr_matrix) -> np.ndarray:
    """Connected piece of every node, numbered by size (0 = the largest, ties by first node)."""
    comp = pieces(graph)
    if len(comp) == 0:
        return comp
    sizes = np.bincount(comp)
    order = np.lexsort((np.arange(len(sizes)), -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[comp]


def major_nodes(piece: np.ndarray, share: float = FRAGMENT_SHARE) -> np.ndarray:
    """Nodes of pieces holding at least ``share`` of all nodes (the largest piece always)."""
    if len(piece) == 0:
        return np.zeros(0, dtype=bool)
    sizes = np.bincount(piece)
    major = sizes >= share * len(piece)
    major[0] = True
    return major[piece]


def locate_on_segments(
    graph: sp.csr_matrix,
    node_xy: np.ndarray,
    snappable: np.ndarray,
    points: np.ndarray,
    *,
    with_xy: bool = True,
    segments: dict | None = None,
) -> dict[str, np.ndarray]:
    """The nearest road segment of every point (among segments between ``snappable`` nodes).
    ``with_xy=False`` leaves ``xy`` empty (travel times need only ``frac`` and ``dist``).
    ``segments``: a dict kept between calls on graphs sharing their first nodes (a network and
    the same network with points attached, :func:`attach_points`): the segment lines built for
    one are reused by the next (the same lines, hence the same nearest segments).

    Returns
    -------
    dict
        ``edge`` (position among the graph's upper-triangle edges), ``lo``, ``hi`` (its nodes),
        ``w`` (its weight), ``frac`` (where along it, 0 at ``lo``), ``dist`` (metres from the
        point), ``xy`` (the point on the segment); all empty arrays when nothing is snappable.
    """
    coo = sp.triu(graph, k=1).tocoo()
    lo, hi, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(float)
    usable = np.flatnonzero(snappable[lo] & snappable[hi])
    p = len(points)
    if len(usable) == 0 or p == 0:
        return {"edge": np.zeros(0, np.int64), "lo": lo, "hi": hi, "w": w, "frac": np.zeros(0),
                "dist": np.full(p, np.inf), "xy": np.zeros((0, 2)), "all_lo": lo, "all_hi": hi,
                "all_w": w}
    segs = _segment_lines(node_xy, lo[usable], hi[usable], segments)
    pts = shapely.points(points)
    hit, dist = shapely.STRtree(segs).query_nearest(pts, all_matches=False, return_distance=True)
    pt_i, seg_i = hit
    order = np.argsort(pt_i, kind="stable")
    seg_i, dist = seg_i[order], np.asarray(dist, dtype=float)[order]
    frac = shapely.line_locate_point(segs[seg_i], pts, normalized=True)
    on = (
        shapely.get_coordinates(shapely.line_interpolate_point(segs[seg_i], frac, normalized=True))
        if with_xy
        else np.zeros((0, 2))
    )
    edge = usable[seg_i]
    return {"edge": edge, "lo": lo[edge], "hi": hi[edge], "w": w[edge], "frac": frac,
            "dist": dist, "xy": on, "all_lo": lo, "all_hi": hi, "all_w": w}


def _segment_lines(
    node_xy: np.ndarray, lo: np.ndarray, hi: np.ndarray, known: dict | None
) -> np.ndarray:
    """Lines from ``node_xy[lo]`` to ``node_xy[hi]``; with ``known`` (see
    :func:`locate_on_segments`), those between the same two nodes as before are the lines
    already built, and ``known`` then holds this call's lines."""
    if known is None:
        return shapely.linestrings(np.stack([node_xy[lo], node_xy[hi]], axis=1))
    keys = (lo << 32) | hi
    order = np.argsort(keys, kind="stable")
    out = np.empty(len(keys), dtype=object)
    build = np.ones(len(keys), dtype=bool)
    if "keys" in known and len(known["keys"]) and len(keys):
        pos = np.minimum(np.searchsorted(known["keys"], keys), len(known["keys"]) - 1)
        hit = (known["keys"][pos] == keys) & np.all(known["xy"][pos] == np.c_[node_xy[lo], node_xy[hi]],
                                                     axis=1)
        out[hit] = known["lines"][pos[hit]]
        build = ~hit
    if build.any():
        out[build] = shapely.linestrings(np.stack([node_xy[lo[build]], node_xy[hi[build]]], axis=1))
    known["keys"], known["lines"] = keys[order], out[order]
    known["xy"] = np.c_[node_xy[lo], node_xy[hi]][order]
    return out


def attach_points(
    graph: sp.csr_matrix,
    node_xy: np.ndarray,
    snappable: np.ndarray,
    points: np.ndarray,
    *,
    segments: dict | None = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Join points to the network at the nearest point of the nearest road segment.

    Each point becomes a new node (numbered after the network's nodes, in the order given) on its
    nearest segment among those between ``snappable`` nodes; the segment is split there, its
    minutes shared in proportion to length. Snapping to the nearest *vertex* instead sends a
    hospital beside a long straight road to whatever junction happens to be nearest, often on
    another road.

    ``segments``: see :func:`locate_on_segments` (pass the same dict to locate other points on
    the returned graph).

    Returns
    -------
    (csr_matrix, ndarray, ndarray)
        The graph with the points' nodes, each point's distance (m) to its segment, and the
        ``(p, 2)`` coordinates of the new nodes.
    """
    n = graph.shape[0]
    p = len(points)
    loc = locate_on_segments(graph, node_xy, snappable, points, segments=segments)
    if len(loc["edge"]) == 0:
        grown = sp.csr_matrix((graph.data, graph.indices, graph.indptr), shape=(n, n))
        grown.resize((n + p, n + p))
        return grown.tocsr(), loc["dist"], np.asarray(points, dtype=float).reshape(-1, 2)
    lo, hi, w = loc["all_lo"], loc["all_hi"], loc["all_w"]
    edge, frac = loc["edge"], loc["frac"]
    vid = n + np.arange(p)
    # Chain the points along each split segment: lo -> p1 -> ... -> pk -> hi.
    srt = np.lexsort((frac, edge))
    e, f, v = edge[srt], frac[srt], vid[srt]
    first = np.r_[True, e[1:] != e[:-1]]
    last = np.r_[e[1:] != e[:-1], True]
    prev_node = np.where(first, lo[e], np.r_[0, v[:-1]])
    prev_frac = np.where(first, 0.0, np.r_[0.0, f[:-1]])
    split = np.unique(e)
    a = [np.delete(lo, split), prev_node, v[last]]
    b = [np.delete(hi, split), v, hi[e[last]]]
    ww = [np.delete(w, split), w[e] * (f - prev_frac), w[e[last]] * (1.0 - f[last])]
    grown = symmetric_min(np.concatenate(a), np.concatenate(b), np.concatenate(ww), n + p)
    return grown, loc["dist"], loc["xy"]
