"""Unit adjacency (rook/queen, island linking), facility -> unit, contiguity counts."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from grid_planning.city.layers import CityLayers
from grid_planning.city.planview import facility_units
from grid_planning.geo.graph import build_adjacency, is_contiguous, locate_points, unit_adjacency

CRS = "EPSG:32650"


def _grid_units(nx=3, ny=3, size=100.0, extra=()):
    boxes = [
        shapely.box(i * size, j * size, (i + 1) * size, (j + 1) * size)
        for j in range(ny)
        for i in range(nx)
    ]
    boxes += list(extra)
    return gpd.GeoDataFrame(
        {"id": [f"u{i}" for i in range(len(boxes))], "population": 1.0}, geometry=boxes, crs=CRS
    )


def test_rook_and_queen_on_a_3x3_grid():
    units = _grid_units()
    rook = unit_adjacency(units, CRS)
    queen = unit_adjacency(units, CRS, contiguity="queen")
    # centre cell (index 4): 4 rook neighbours, 8 queen neighbours
    assert sorted(rook[4].indices.tolist()) == [1, 3, 5, 7]
    assert len(queen[4].indices) == 8
    assert (rook != rook.T).nnz == 0
    assert rook.nnz == 2 * 12  # 12 shared edges in a 3x3 grid


def test_island_is_linked_to_nearest_unit():
    island = shapely.box(500, 0, 600, 100)  # 200 m east of the grid's right column
    units = _grid_units(extra=[island])
    adj = unit_adjacency(units, CRS)
    nb = adj[9].indices.tolist()
    assert nb == [2]  # nearest cell centroid: u2 at (250, 50)
    raw = unit_adjacency(units, CRS, link_components=False)
    assert raw[9].nnz == 0


def test_is_contiguous_counts_parts():
    units = _grid_units()
    adj = unit_adjacency(units, CRS)
    labels = ["A", "B", "A", "A", "A", "A", "A", "A", "A"]
    assert is_contiguous(adj, labels) == {"A": 1, "B": 1}
    split = ["A", "B", "A", "B", "B", "B", "A", "B", "A"]  # corners 0,2,6,8 of A are isolated
    assert is_contiguous(adj, split) == {"A": 4, "B": 1}


def test_facility_units_inside_and_nearest():
    units = _grid_units()
    fac = gpd.GeoDataFrame(
        {"id": ["f1", "f2"]}, geometry=[shapely.Point(150, 150), shapely.Point(-20, 250)], crs=CRS
    )
    layers = CityLayers("t", units, fac, units[["geometry"]], CRS)
    fu = facility_units(layers)
    assert fu.to_dict() == {"f1": "u4", "f2": "u6"}


def test_index_keeps_adjacency_and_reprojected_input_agrees():
    units = _grid_units()
    a = unit_adjacency(units, CRS)
    b = unit_adjacency(units.to_crs("EPSG:4326"), CRS)
    assert (a != b).nnz == 0
    layers = CityLayers(
        "t", units, units.iloc[0:0][["geometry"]].assign(id=[]), units[["geometry"]], CRS
    )
    assert layers.index.adjacency is layers.index.adjacency  # built once per city
    assert (layers.index.adjacency != a).nnz == 0
    assert np.array_equal(np.asarray(a.sum(axis=1)).ravel(), [2, 3, 2, 3, 4, 3, 2, 3, 2])


def test_island_links_are_listed_with_their_gap():
    island = shapely.box(500, 0, 600, 100)  # 200 m east of the grid's right column
    adj = build_adjacency(np.asarray(_grid_units(extra=[island]).geometry.values))
    assert adj.parts == 2
    assert adj.links[["a", "b"]].values.tolist() == [[2, 9]]
    assert adj.links["distance_m"].tolist() == [200.0]
    plain = build_adjacency(np.asarray(_grid_units().geometry.values))
    assert plain.parts == 1 and plain.links.empty


def test_linked_islands_are_counted_per_grid():
    island = shapely.box(500, 0, 600, 100)
    units = _grid_units(extra=[island])
    layers = CityLayers(
        "t", units, units.iloc[0:0][["geometry"]].assign(id=[]), units[["geometry"]], CRS
    )
    together = ["A"] * 10
    table = layers.index.contiguity(together)
    assert table.loc["A"].tolist() == [1, 1]  # one piece, through one link
    apart = ["A"] * 9 + ["B"]
    table = layers.index.contiguity(apart)
    assert table["linked_islands"].tolist() == [0, 0]


def test_a_point_on_a_shared_border_belongs_to_the_first_unit():
    units = _grid_units()
    geoms = np.asarray(units.geometry.values)
    pts = np.asarray([shapely.Point(100, 50), shapely.Point(100, 100), shapely.Point(-30, 50)])
    unit, dist = locate_points(geoms, pts)
    assert unit.tolist() == [
        0,
        0,
        0,
    ]  # (100, 50) touches u0 and u1; the corner touches u0, u1, u3, u4
    assert dist.tolist() == [0.0, 0.0, 30.0]


def test_units_without_geometry_are_refused_not_mislinked():
    geoms = np.asarray([shapely.box(0, 0, 1, 1), shapely.Polygon(), shapely.box(5, 5, 6, 6)])
    with pytest.raises(ValueError, match="positions \\[1\\]"):
        build_adjacency(geoms)


def test_rook_pairs_found_across_gaps_t_junctions_and_not_at_corners():
    """The candidate search (envelopes grown by 0.5 m, shared vertices, corner-only contacts
    decided without GEOS) keeps every rule of the 0.5 m search: a unit 0.3 m off its neighbour's
    edge (envelopes apart) is its neighbour, a large unit beside two small ones (one shared vertex
    each) touches both, units meeting only at a corner are not neighbours, 0.6 m is too far."""
    gap = shapely.box(300.3, 0, 400, 100)  # 0.3 m east of cell 2
    big = shapely.box(0, -200, 200, 0)  # under cells 0 and 1: T-junction at (100, 0)
    far = shapely.box(-100.6, 0, -0.6, 100)  # 0.6 m west of cell 0
    corner = shapely.box(300, 300, 400, 400)  # meets cell 8 at its corner only
    units = _grid_units(extra=[gap, big, far, corner])
    rook = build_adjacency(np.asarray(units.geometry.values), link_components=False).matrix
    assert sorted(rook[9].indices.tolist()) == [2]
    assert sorted(rook[10].indices.tolist()) == [0, 1]
    assert rook[11].nnz == 0 and rook[12].nnz == 0
    assert sorted(rook[4].indices.tolist()) == [1, 3, 5, 7]
    queen = build_adjacency(
        np.asarray(units.geometry.values), contiguity="queen", link_components=False
    ).matrix
    assert sorted(queen[12].indices.tolist()) == [8]
    assert sorted(queen[4].indices.tolist()) == [0, 1, 2, 3, 5, 6, 7, 8]
    assert queen[11].nnz == 0


def test_snap_cm_rounds_as_geos_snaps_to_a_centimetre():
    # The corner test reads snapped coordinates without building snapped geometries: they must be
    # the coordinates GEOS gives, halves included (GEOS rounds them up, numpy to even).
    from grid_planning.geo.graph import snap_cm

    halves = np.array([0.125, -0.125, 0.375, -0.375, 0.005, -0.005, 2.5, -2.5, 0.0, -0.0])
    rng = np.random.default_rng(7)
    noisy = np.r_[rng.uniform(-4e6, 4e6, 2000), rng.uniform(-50, 50, 2000)]
    values = np.r_[halves, noisy, np.round(noisy, 3), 3.0e6 + halves]
    xy = values.reshape(-1, 2)
    geoms = shapely.linestrings(xy.reshape(-1, 2, 2))
    snapped = shapely.get_coordinates(shapely.set_precision(geoms, 0.01, mode="pointwise"))
    assert snapped.shape == xy.shape
    assert np.array_equal(snap_cm(xy) / 100.0, snapped)
    assert snap_cm(np.array([0.125, -0.125, 0.135]).tolist()).tolist() == [13, -12, 14]


def test_a_large_island_links_to_the_same_pair_with_or_without_the_shortcut(monkeypatch):
    # An island of 81 cells in the middle of a lake 10 cells wide: no cell of the island has a
    # cell of the shore among its 16 or 64 nearest, so the search widens to 256 neighbours,
    # more than the island's cells, where the shortcut (only the cells whose nearest shore cell
    # is the closest are searched) must give the pair the full search gives. The cells are an
    # exact grid: nine island cells are equally close to the shore, and each has shore cells at
    # equal distances, so the tie-breaking must be the same too.
    from scipy.spatial import cKDTree

    from grid_planning.geo import graph

    xy = np.stack(np.meshgrid(np.arange(61.0), np.arange(61.0)), -1).reshape(-1, 2)
    ring = np.abs(xy - 30.0).max(axis=1)
    keep = (ring <= 4) | (ring > 14)
    pts = xy[keep] + np.where(ring[keep] <= 4, 0.0, 0.25)[:, None] * np.array([1.0, 0.0])
    comp = (ring[keep] > 4).astype(int)
    members = np.flatnonzero(comp == 0)
    tree = cKDTree(pts)
    calls = []
    shortcut = graph._nearest_outside_all_found
    monkeypatch.setattr(graph, "_nearest_outside_all_found",
                        lambda *a: calls.append(1) or shortcut(*a))
    monkeypatch.setattr(graph, "OUTSIDE_SHORTCUT", 0)
    fast = graph._nearest_outside(tree, pts, members, comp, 0)
    monkeypatch.setattr(graph, "OUTSIDE_SHORTCUT", 10**12)
    full = graph._nearest_outside(tree, pts, members, comp, 0)
    assert calls == [1]
    assert fast == full
    a, b = full
    assert comp[a] == 0 and comp[b] == 1
    assert np.hypot(*(pts[a] - pts[b])) == pytest.approx(11.0 - 0.25)
