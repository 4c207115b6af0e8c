"""Road networks as offices have them: noding, grade separation, exact chain contraction, and a
river city with one bridge planned from a noded and from a CAD-style layer."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from grid_planning.city.costs import road_network, travel_costs
from grid_planning.city.layers import CityLayers
from grid_planning.domain.request import CostParams
from grid_planning.geo import network

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_380_000.0  # UTM 50N, near Wuhan


def _path_graph(weights):
    n = len(weights) + 1
    a = np.arange(n - 1)
    return network.symmetric_min(a, a + 1, np.asarray(weights, float), n)


def test_contract_keeps_exact_distances():
    rng = np.random.default_rng(3)
    # A ring of 40 shape vertices with three spurs and a chord: junctions, chains and dead ends.
    a = np.r_[np.arange(40), 0, 10, 20, 5]
    b = np.r_[(np.arange(40) + 1) % 40, 20, 41, 42, 43]
    w = rng.uniform(0.1, 2.0, len(a))
    g = network.symmetric_min(a, b, w, 44)
    keep = np.zeros(44, dtype=bool)
    keep[[3, 17, 33]] = True  # where units and facilities are snapped
    small, pos = network.contract(g, keep)
    assert small.shape[0] < 15  # junctions, dead ends and the three kept nodes only
    full = dijkstra(g, directed=False)
    kept = np.flatnonzero(pos >= 0)
    short = dijkstra(small, directed=False)
    np.testing.assert_allclose(short[np.ix_(pos[kept], pos[kept])], full[np.ix_(kept, kept)])


def test_contract_path_and_parallel_edges():
    g = _path_graph([1.0, 2.0, 3.0])
    small, pos = network.contract(g, np.zeros(4, dtype=bool))
    assert pos.tolist() == [0, -1, -1, 1]
    assert small[0, 1] == pytest.approx(6.0)
    # parallel edges keep the fastest
    m = network.symmetric_min(np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([5.0, 2.0, 9.0]), 2)
    assert m[0, 1] == 2.0 and m.nnz == 2


def _streets(noded: bool, bridge: bool = True) -> gpd.GeoDataFrame:
    """Streets on both banks of an east-west river (y 3,000-4,000 m) and one bridge at x = 9,000.

    ``noded``: every street is split where it meets another (OSM style); else each street is one
    line and crossings share no vertex (CAD style)."""
    lines = []
    xs = np.arange(0, 10_001, 1000.0)
    bank_rows = {"south": np.arange(0, 3001, 1000.0), "north": np.arange(4000, 7001, 1000.0)}
    for rows in bank_rows.values():
        lo, hi = rows.min(), rows.max()
        for y in rows:  # east-west streets
            pts = [(x, y) for x in xs] if noded else [(xs[0], y), (xs[-1], y)]
            lines.append(pts)
        for x in xs:  # north-south streets on this bank
            pts = [(x, y) for y in rows] if noded else [(x, lo), (x, hi)]
            lines.append(pts)
    if bridge:
        lines.append([(9000.0, 3000.0), (9000.0, 4000.0)])
    geoms = []
    for pts in lines:
        pts = [(X0 + x, Y0 + y) for x, y in pts]
        if noded:
            geoms += [shapely.LineString(pts[i : i + 2]) for i in range(len(pts) - 1)]
        else:
            geoms.append(shapely.LineString(pts))
    return gpd.GeoDataFrame({"highway": ["residential"] * len(geoms)}, geometry=geoms, crs=CRS)


def _river_city(roads):
    cells = [(x, y) for y in [*range(0, 3000, 1000), *range(4000, 7000, 1000)]
             for x in range(0, 10_000, 1000)]
    units = gpd.GeoDataFrame(
        {
            "id": [f"U{i:02d}" for i in range(len(cells))],
            "name": [f"cell {i}" for i in range(len(cells))],
            "population": 1000.0,
        },
        geometry=[shapely.box(X0 + x, Y0 + y, X0 + x + 1000, Y0 + y + 1000) for x, y in cells],
        crs=CRS,
    )
    # Two leads, both on the south bank: west and east (near the bridge).
    fac = gpd.GeoDataFrame(
        {"id": ["WEST", "EAST"], "name": ["west", "east"]},
        geometry=[shapely.Point(X0 + 500, Y0 + 1500), shapely.Point(X0 + 8500, Y0 + 1500)],
        crs=CRS,
    )
    return CityLayers("river", units, fac, units[["geometry"]], CRS, roads=roads)


def test_cad_layer_is_noded_and_osm_layer_left_alone():
    cad = road_network(_streets(noded=False), CostParams())
    osm = road_network(_streets(noded=True), CostParams())
    assert cad.noding == "all" and cad.crossings_joined > 0 and cad.unnoded_share > 0.5
    assert osm.noding == "none" and osm.crossings_joined == 0
    # the same network: one piece, the same junctions
    assert network.pieces(cad.graph).max() == 0 and network.pieces(osm.graph).max() == 0
    assert cad.graph.shape == osm.graph.shape


def test_grade_columns_keep_a_bridge_above_the_streets():
    roads = _streets(noded=False, bridge=False)
    # an east-west flyover over all north-south streets of the south bank, marked as a bridge
    fly = gpd.GeoDataFrame(
        {"highway": ["primary"], "bridge": ["yes"]},
        geometry=[shapely.LineString([(X0 - 500, Y0 + 500), (X0 + 10_500, Y0 + 500)])],
        crs=CRS,
    )
    with_flyover = pd.concat([roads.assign(bridge="no"), fly], ignore_index=True)
    net = road_network(with_flyover, CostParams())
    assert net.noding == "levels"
    assert network.pieces(net.graph).max() == 2  # two banks and the flyover, not joined
    # without the grade column the flyover is an at-grade street joined at every crossing
    flat = road_network(with_flyover.drop(columns="bridge"), CostParams())
    assert network.pieces(flat.graph).max() == 1


def _nearest_lead(layers, params):
    m = travel_costs(layers, params)
    return pd.Series(np.asarray(m.facility_ids)[m.minutes.argmin(axis=1)], index=m.unit_ids)


def test_river_city_same_grids_from_noded_and_cad_layers():
    params = CostParams(mode="roads")
    noded = _nearest_lead(_river_city(_streets(noded=True)), params)
    cad = _nearest_lead(_river_city(_streets(noded=False)), params)
    pd.testing.assert_series_equal(noded, cad)
    # the north-west corner crosses the river at the bridge, so it belongs to the east lead,
    # which straight-line travel would not give it
    north_west = "U30"  # cell (0, 4000)
    assert noded[north_west] == "EAST"
    straight = _nearest_lead(_river_city(None), CostParams(mode="straight"))
    assert straight[north_west] == "WEST"
    m_noded = travel_costs(_river_city(_streets(noded=True)), params).minutes
    m_cad = travel_costs(_river_city(_streets(noded=False)), params).minutes
    np.testing.assert_allclose(m_noded, m_cad, rtol=1e-5)


def test_costs_shared_between_two_loads_of_the_same_city():
    a = travel_costs(_river_city(_streets(noded=True)), CostParams(mode="roads"))
    b = travel_costs(_river_city(_streets(noded=True)), CostParams(mode="roads"))
    assert a is b  # another session's layers: the same matrix, computed once
    c = travel_costs(_river_city(_streets(noded=False)), CostParams(mode="roads"))
    assert c is not a


def test_symmetric_min_empty():
    g = network.symmetric_min(np.zeros(0, int), np.zeros(0, int), np.zeros(0), 3)
    assert isinstance(g, sp.csr_matrix) and g.nnz == 0


def test_fallback_share_reported_without_the_bridge():
    from grid_planning.city.costs import network_report

    with_bridge = _river_city(_streets(noded=True))
    rep = network_report(with_bridge.index, with_bridge.facilities)
    assert rep["pieces"] == 1 and rep["fallback_units"] == 0 and rep["fallback_share"] == 0.0
    cut = _river_city(_streets(noded=False, bridge=False))
    rep = network_report(cut.index, cut.facilities)
    # the north bank (30 of 60 equal units) has no facility and no way across
    assert rep["pieces"] == 2 and rep["noding"] == "all" and rep["crossings_joined"] > 0
    assert rep["fallback_units"] == 30 and rep["fallback_share"] == pytest.approx(0.5)
    assert rep["fallback_residents"] == pytest.approx(30_000)


def test_validate_reports_cad_noding_and_fallback(tmp_path):
    from grid_planning.city.layers import format_summary, load_city, summarise

    city = _river_city(_streets(noded=False, bridge=False))
    units = city.units.to_crs(4326)
    fac = city.facilities.to_crs(4326)
    fac = fac.assign(lon=fac.geometry.x, lat=fac.geometry.y, level="tertiary", type="general",
                     owner_level="municipal", beds=500.0)
    units.to_file(tmp_path / "units.geojson")
    fac.drop(columns="geometry").to_csv(tmp_path / "fac.csv", index=False)
    city.roads.to_crs(4326).to_file(tmp_path / "roads.geojson")
    layers = load_city(tmp_path / "units.geojson", tmp_path / "fac.csv",
                       roads=tmp_path / "roads.geojson")
    codes = layers.report.codes()
    assert "roads_noded" in codes and "roads_fallback" in codes
    finding = next(f for f in layers.report.findings if f.code == "roads_fallback")
    assert "30" in finding.message("en") and "50.0%" in finding.message("en")
    text = format_summary(summarise(layers), "en")
    assert "2 pieces" in text and "50.0%" in text


def test_segment_lines_built_once_locate_the_same_segments():
    """``attach_points`` and the next ``locate_on_segments`` share the segment lines (a dict):
    the nearest segments, fractions and distances are those found with lines built anew."""
    net = road_network(_streets(noded=False), CostParams())
    rng = np.random.default_rng(3)
    fac = np.c_[X0 + rng.uniform(0, 10_000, 7), Y0 + rng.uniform(0, 7_000, 7)]
    units = np.c_[X0 + rng.uniform(-500, 10_500, 300), Y0 + rng.uniform(-500, 7_500, 300)]
    # a unit exactly between two parallel streets: a tie the shared lines must break the same way
    units = np.vstack([units, [X0 + 500.0, Y0 + 500.0]])
    shared: dict = {}
    grown, dist, fxy = network.attach_points(net.graph, net.node_xy, net.snappable, fac,
                                             segments=shared)
    fresh = network.attach_points(net.graph, net.node_xy, net.snappable, fac)
    assert (grown != fresh[0]).nnz == 0 and np.array_equal(dist, fresh[1])
    assert len(shared["lines"]) > 0
    xy = np.vstack([net.node_xy, fxy])
    snappable = np.r_[net.snappable, np.ones(len(fac), dtype=bool)]
    reused = network.locate_on_segments(grown, xy, snappable, units, segments=shared)
    built = network.locate_on_segments(grown, xy, snappable, units)
    for key in ("edge", "lo", "hi", "w", "frac", "dist", "xy"):
        assert np.array_equal(reused[key], built[key]), key
