"""Travel costs: straight-line formula, road network minutes by hand, fallbacks and caching."""

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely

from grid_planning.city.costs import road_graph, road_minutes, straight_minutes, travel_costs
from grid_planning.city.index import SHARED_COSTS
from grid_planning.city.layers import CityLayers
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.planner import plan_city

CRS = "EPSG:32650"


def _layers(roads=None):
    units = gpd.GeoDataFrame(
        {"id": ["A", "B", "C"], "population": [1.0, 2.0, 3.0]},
        geometry=[
            shapely.box(-50, 0, 50, 100),
            shapely.box(950, 900, 1050, 1000),
            shapely.box(5000, 0, 5100, 100),
        ],
        crs=CRS,
    )
    fac = gpd.GeoDataFrame(
        {"id": ["F1", "F2"]}, geometry=[shapely.Point(1010, 1000), shapely.Point(0, 50)], crs=CRS
    )
    return CityLayers("t", units, fac, units[["geometry"]], CRS, roads=roads)


def test_straight_line_minutes():
    m = travel_costs(_layers(), CostParams(mode="straight", detour=1.3, speed_kmh=30))
    # A's centroid (0, 50) to F1 (1010, 1000)
    d = np.hypot(1010, 950)
    assert m.minutes[0, 0] == pytest.approx(d * 1.3 / 30000 * 60, rel=1e-5)
    assert m.minutes[0, 1] == pytest.approx(0.0, abs=1e-4)
    assert m.minutes.dtype == np.float32 and m.mode == "straight"
    assert m.cols(["F2", "F1"]).tolist() == m.minutes[:, [1, 0]].tolist()


def _roads():
    return gpd.GeoDataFrame(
        {"highway": ["primary", "residential", "primary"], "speed_kmh": [np.nan, np.nan, np.nan]},
        geometry=[
            shapely.LineString([(0, 0), (1000, 0)]),
            shapely.LineString([(1001, 1), (1000, 1000)]),  # starts 1.4 m off the node: snapped
            shapely.LineString([(5000, -500), (5000, -900)]),  # separate component
        ],
        crs=CRS,
    )


def test_road_minutes_by_hand():
    layers = _layers(_roads())
    p = CostParams(mode="auto", access_speed_kmh=15)
    m = travel_costs(layers, p)
    assert m.mode == "roads"
    access_a = 50 / 15000 * 60  # centroid (0,50) to node (0,0)
    primary = 1000 / 45000 * 60
    # snapped node is the mean of (1000,0) and (1001,1); the residential edge runs from it to (1000,1000)
    resid = np.hypot(1000 - 1001, 1000 - 1) / 20000 * 60
    access_f1 = 10 / 15000 * 60
    assert m.minutes[0, 0] == pytest.approx(access_a + primary + resid + access_f1, rel=1e-4)
    # C is only near the separate road piece: no path, so straight-line fallback
    straight = travel_costs(layers, CostParams(mode="straight"))
    assert m.minutes[2, 0] == pytest.approx(straight.minutes[2, 0])
    assert np.isfinite(m.minutes).all()


def test_speed_column_overrides_class():
    roads = _roads()
    roads["speed_kmh"] = [90.0, np.nan, np.nan]
    g, _ = road_graph(roads, CostParams())
    assert g.max() == pytest.approx(np.hypot(1, 999) / 20000 * 60, rel=1e-6)
    assert np.isclose(g.data, 1000 / 90000 * 60).sum() == 2  # the 90 km/h edge, both directions
    assert np.isclose(g.data, 400 / 45000 * 60).sum() == 2  # class speed where no speed is given


def test_roads_mode_needs_roads_and_cache_hits():
    layers = _layers()
    with pytest.raises(ValueError, match="road layer"):
        travel_costs(layers, CostParams(mode="roads"))
    a = travel_costs(layers, CostParams(mode="straight"))
    assert travel_costs(layers, CostParams(mode="straight")) is a
    assert travel_costs(layers, CostParams(mode="straight", detour=1.5)) is not a


def test_bad_params_rejected():
    with pytest.raises(ValueError):
        CostParams(mode="fly")
    with pytest.raises(ValueError):
        CostParams(speed_kmh=0)


def test_columns_are_computed_on_demand_and_equal_the_whole_matrix():
    """A plan computes the columns it reads (candidate leads, the roles' few facilities), not
    every facility's; a column reached alone is the same numbers as in the whole matrix, which
    is the matrix ``road_minutes`` gives for every facility at once."""
    city = synthetic_city(600, 60, 8, seed=3, with_roads=True)
    for mode in ("roads", "straight"):
        SHARED_COSTS.clear()
        fresh = dataclasses.replace(city)
        res = plan_city(fresh, PlanRequest(k=4, cost=CostParams(mode=mode)))
        assert res.ok
        costs = travel_costs(fresh, CostParams(mode=mode))
        known = costs.computed
        assert 8 <= known < len(costs.facility_ids) // 2
        ids = list(costs.facility_ids[::-7])
        alone = costs.cols(ids)
        assert alone.flags["C_CONTIGUOUS"] and alone.dtype == np.float32
        whole = costs.minutes
        assert not whole.flags.writeable and np.isfinite(whole).all()
        assert costs.computed == len(costs.facility_ids)
        assert np.array_equal(alone, whole[:, costs.col_index(ids)])
        index = fresh.index
        fpts = shapely.get_coordinates(fresh.facilities.to_crs(index.metric_crs).geometry.values)
        if mode == "roads":
            every = road_minutes(index.road_network(CostParams(mode=mode)), index.points, fpts,
                                 CostParams(mode=mode))
            fine = np.isfinite(every)
            assert fine.mean() > 0.5
            assert np.array_equal(whole[fine], every[fine])
        else:
            assert np.array_equal(whole, straight_minutes(index.points, fpts, CostParams()))


def test_road_times_reach_near_facilities_directly_as_the_whole_rule_says():
    """The direct-reach rule (a facility nearer than the roads both would join is reached
    directly) is tested only for units a KD-tree finds within reach: the minutes are those of the
    rule applied to every unit and facility (a sparse road grid: many units off-road)."""
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial.distance import cdist

    from grid_planning.city.costs import RoadTimes

    city = synthetic_city(600, 60, 8, seed=4, with_roads=True, road_spacing_m=400.0)
    index = city.index
    params = CostParams(mode="roads")
    fpts = shapely.get_coordinates(city.facilities.to_crs(index.metric_crs).geometry.values)
    rt = RoadTimes(index.road_network(params), index.points, fpts, params)
    got = rt.columns(np.arange(len(fpts)))
    dist = dijkstra(rt.small, directed=True, indices=rt.nf).astype(np.float32)
    block = np.minimum(dist[:, rt.ua] + rt.along_a, dist[:, rt.ub] + rt.along_b).T
    want = block + rt.ufix[:, None] + rt.ffix[None, :]
    direct = cdist(rt.upts, rt.fpts)
    near = direct <= rt.du[:, None] + rt.df[None, :]
    want = np.where(near, np.minimum(want, (direct * rt.access).astype(np.float32)), want)
    assert near.sum() >= 10 and (got < block + rt.ufix[:, None] + rt.ffix[None, :]).sum() >= 5
    assert np.array_equal(got, want)
