"""Territory: the units' polygons extended so that together they tile the city's boundary.

Population units rarely cover a city: census or raster units leave out lakes, forests, farmland
and other land where nobody lives, so grids dissolved from units alone leave holes in the map and
their areas do not add up to the city's. Each unit's *territory* is its own polygon plus the
unpopulated land (boundary minus units) nearest to it:

1. the land no unit covers is split by the Voronoi cells of the units' representative points;
2. each piece goes to the unit whose cell it lies in when it touches that unit, else to the unit it
   shares the longest border with (the same rook adjacency the planner uses), else to the nearest
   unit (an empty island).

A grid's territory is then the union of its units' territories, which is why every map, the plan
file and the grid areas use it: residents, travel times and the planner's adjacency are unchanged
(they stay the units'), only unpopulated land is added to the grid that surrounds it.
"""

from __future__ import annotations

import numpy as np
import shapely

#: Pieces of unpopulated land smaller than this (m²) are slivers of numeric noise, not land.
MIN_PIECE_M2 = 1.0


def _union(parts: np.ndarray) -> shapely.Geometry:
    try:
        shape = shapely.coverage_union_all(parts)
        if shape.is_valid:
            return shape
    except shapely.errors.GEOSException:
        pass
    return shapely.make_valid(shapely.union_all(shapely.make_valid(parts)))


def _polygons(shape: shapely.Geometry) -> list[shapely.Geometry]:
    """The polygons of a geometry (collections flattened, lines and points dropped)."""
    parts = shapely.get_parts(shapely.make_valid(shape))
    out: list[shapely.Geometry] = []
    for p in parts:
        if p.geom_type == "Polygon":
            out.append(p)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygons(p))
    return out


def land_pieces(units: np.ndarray, boundary: shapely.Geometry | None) -> tuple[np.ndarray, np.ndarray]:
    """The unpopulated land of ``boundary`` cut into pieces, each with the unit it goes to.

    Parameters
    ----------
    units : ndarray of shapely polygons
        The units' polygons in a metric CRS (valid, non-overlapping).
    boundary : shapely geometry or None
        The city's outline in the same CRS.

    Returns
    -------
    pieces : ndarray of shapely polygons
        The land no unit covers, split by the units' Voronoi cells (none without a boundary).
    owner : ndarray of int
        For each piece, the position in ``units`` of the unit it goes to.
    """
    none = (np.empty(0, dtype=object), np.empty(0, dtype=np.int64))
    units = np.asarray(units, dtype=object)
    if boundary is None or shapely.is_empty(boundary) or not len(units):
        return none
    usable = ~shapely.is_empty(units)
    if not usable.any():
        return none
    idx = np.flatnonzero(usable)
    geoms = units[idx]
    rest = shapely.difference(shapely.make_valid(boundary), _union(geoms))
    pieces = [p for p in _polygons(rest) if p.area >= MIN_PIECE_M2]
    if not pieces:
        return none

    # Voronoi cells of the units' representative points split large empty areas between the
    # units around them (a lake bordered by three units goes to all three, not to one).
    points = shapely.point_on_surface(geoms)
    extent = shapely.box(*shapely.total_bounds(np.append(geoms, boundary))).buffer(1000.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent))
    cell_of = np.full(len(cells), -1, dtype=np.int64)
    c_idx, p_idx = shapely.STRtree(points).query(cells, predicate="contains")
    cell_of[c_idx] = p_idx  # duplicate points share one cell: any of them owns it

    rest_parts = np.asarray(pieces, dtype=object)
    r_idx, c_hit = shapely.STRtree(cells).query(rest_parts, predicate="intersects")
    fragments = shapely.intersection(rest_parts[r_idx], cells[c_hit])
    # Their polygons, in order: the overlay's results are valid, and flat but for collections
    # (taken apart as _polygons does, for the few there are).
    parts, which = shapely.get_parts(fragments, return_index=True)
    nested = np.flatnonzero(shapely.get_type_id(parts) >= 4)
    if len(nested):
        lists = [[p] for p in parts]
        for i in nested:
            lists[i] = _polygons(parts[i])
        sizes = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        parts = np.asarray([p for x in lists for p in x], dtype=object)
        which = np.repeat(which, sizes)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_PIECE_M2)
    if not keep.any():
        return none
    frags = parts[keep]
    owner = cell_of[c_hit[which[keep]]]

    tree = shapely.STRtree(geoms)
    # A fragment that does not touch its cell's unit goes to the unit it borders most.
    touches_own = np.zeros(len(frags), dtype=bool)
    has_owner = owner >= 0
    touches_own[has_owner] = shapely.distance(frags[has_owner], geoms[owner[has_owner]]) < 1e-6
    for i in np.flatnonzero(~touches_own):
        near = tree.query(frags[i], predicate="intersects")
        if len(near):
            shared = shapely.length(shapely.intersection(shapely.boundary(geoms[near]), frags[i]))
            owner[i] = int(near[int(np.argmax(shared))])
        else:
            owner[i] = int(tree.query_nearest(frags[i])[0])
    return frags, idx[owner]


def _groups(owner: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(unit position, positions of its pieces) for every unit that receives land."""
    if not len(owner):
        return []
    order = np.argsort(owner, kind="stable")
    owners, starts = np.unique(owner[order], return_index=True)
    return [(int(u), group) for u, group in zip(owners, np.split(order, starts[1:]), strict=True)]


def tile(units: np.ndarray, boundary: shapely.Geometry | None,
         pieces: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Each unit's territory, so that the territories tile ``boundary`` together with the units.

    Parameters
    ----------
    units : ndarray of shapely polygons
        The units' polygons in a metric CRS (valid, non-overlapping).
    boundary : shapely geometry or None
        The city's outline in the same CRS. Without one, the units are their own territory.
    pieces : (pieces, owner), optional
        :func:`land_pieces` of the same units and boundary, when the caller has them.

    Returns
    -------
    ndarray of shapely geometries
        One (Multi)Polygon per unit: the unit plus the unpopulated land assigned to it. Their union
        is the boundary together with any part of a unit lying outside it; they do not overlap.
    """
    units = np.asarray(units, dtype=object)
    frags, owner = land_pieces(units, boundary) if pieces is None else pieces
    out = units.copy()
    for u, group in _groups(owner):
        polys = _polygons(_union(np.append(frags[group], units[u])))
        out[u] = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    return out


def land(units: np.ndarray, pieces: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The unpopulated land each unit's territory adds to it (an empty polygon for most units):
    the union of its :func:`land_pieces`, without the unit. A grid's territory is its units'
    coverage union plus their land, the same area as the union of their territories."""
    frags, owner = pieces
    out = np.full(len(units), shapely.Polygon(), dtype=object)
    for u, group in _groups(owner):
        out[u] = frags[group[0]] if len(group) == 1 else shapely.make_valid(shapely.union_all(frags[group]))
    return out
