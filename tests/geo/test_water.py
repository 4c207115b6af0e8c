"""Water and crossings without roads: straight-line travel crosses the river only at the bridge."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from grid_planning.city.costs import travel_costs
from grid_planning.city.layers import CityLayers, load_city
from grid_planning.domain.request import CostParams
from grid_planning.geo import water as water_mod

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_380_000.0


def _city(water=None, crossings=None):
    cells = [(x, y) for y in [*range(0, 3000, 1000), *range(4000, 7000, 1000)]
             for x in range(0, 10_000, 1000)]
    units = gpd.GeoDataFrame(
        {"id": [f"U{i:02d}" for i in range(len(cells))], "name": "cell", "population": 1000.0},
        geometry=[shapely.box(X0 + x, Y0 + y, X0 + x + 1000, Y0 + y + 1000) for x, y in cells],
        crs=CRS,
    )
    fac = gpd.GeoDataFrame(
        {"id": ["WEST", "EAST"], "name": ["west", "east"]},
        geometry=[shapely.Point(X0 + 500, Y0 + 1500), shapely.Point(X0 + 8500, Y0 + 1500)],
        crs=CRS,
    )
    outline = gpd.GeoDataFrame(
        {"name": ["river city"]}, geometry=[shapely.box(X0, Y0, X0 + 10_000, Y0 + 7000)], crs=CRS
    )
    return CityLayers("river", units, fac, outline, CRS, water=water, crossings=crossings)


def _river(as_line: bool):
    geom = (shapely.LineString([(X0 - 100, Y0 + 3500), (X0 + 10_100, Y0 + 3500)]) if as_line
            else shapely.box(X0 - 100, Y0 + 3000, X0 + 10_100, Y0 + 4000))
    return gpd.GeoDataFrame({"name": ["river"]}, geometry=[geom], crs=CRS)


def _bridge():
    return gpd.GeoDataFrame({"name": ["bridge"]}, geometry=[shapely.Point(X0 + 9000, Y0 + 3500)],
                            crs=CRS)


@pytest.mark.parametrize("as_line", [False, True])
def test_travel_across_the_river_goes_over_the_bridge(as_line):
    plain = travel_costs(_city(), CostParams(mode="straight"))
    wet = travel_costs(_city(_river(as_line), _bridge()), CostParams(mode="straight"))
    nw = plain.unit_ids.get_loc("U30")  # cell (0, 4000): north bank, west end
    west = plain.facility_ids.get_loc("WEST")
    # unit centre (500, 4500) -> bridge (9000, 3500) -> west lead (500, 1500)
    via = np.hypot(8500, 1000) + np.hypot(8500, 2000)
    assert wet.minutes[nw, west] == pytest.approx(via * 1.3 / 30_000 * 60, rel=1e-4)
    assert plain.minutes[nw, west] == pytest.approx(3000 * 1.3 / 30_000 * 60, rel=1e-4)
    # the north-west unit's nearest lead is now the east one, beside the bridge
    near = np.asarray(wet.facility_ids)[wet.minutes.argmin(axis=1)]
    assert near[nw] == "EAST"
    assert np.asarray(plain.facility_ids)[plain.minutes.argmin(axis=1)][nw] == "WEST"
    # same bank: unchanged
    south = plain.unit_ids.get_loc("U00")
    assert wet.minutes[south, west] == pytest.approx(plain.minutes[south, west])


def test_banks_and_crossing_reach():
    outline = shapely.box(0, 0, 10_000, 7000)
    banks = water_mod.banks(outline, np.array([shapely.box(-100, 3000, 10_100, 4000)]))
    assert len(banks) == 2
    joins = water_mod.crossing_banks(banks, shapely.points([[9000, 3500], [9000, 500]]))
    assert sorted(joins[0].tolist()) == [0, 1]  # mid-river: both banks
    assert len(joins[1]) == 1  # on land, far from the other bank


def test_loaded_from_files(tmp_path):
    city = _city()
    city.units.to_crs(4326).to_file(tmp_path / "units.geojson")
    fac = city.facilities.to_crs(4326)
    fac.assign(lon=fac.geometry.x, lat=fac.geometry.y, level="tertiary", type="general",
               owner_level="municipal", beds=500.0).drop(columns="geometry").to_csv(
        tmp_path / "fac.csv", index=False)
    city.boundary.to_crs(4326).to_file(tmp_path / "outline.geojson")
    _river(False).to_crs(4326).to_file(tmp_path / "water.geojson")
    b = _bridge().to_crs(4326)
    pd.DataFrame({"名称": ["桥"], "经度": b.geometry.x, "纬度": b.geometry.y}).to_csv(
        tmp_path / "crossings.csv", index=False)
    layers = load_city(tmp_path / "units.geojson", tmp_path / "fac.csv", tmp_path / "outline.geojson",
                       water=tmp_path / "water.geojson", crossings=tmp_path / "crossings.csv")
    assert layers.ok, layers.report.format()
    assert len(layers.water) == 1 and layers.crossings["name"].tolist() == ["桥"]
    m = travel_costs(layers, CostParams(mode="straight"))
    near = np.asarray(m.facility_ids)[m.minutes.argmin(axis=1)]
    assert near[m.unit_ids.get_loc("U30")] == "EAST"
    # a crossings table without coordinates is refused naming the column
    pd.DataFrame({"name": ["x"]}).to_csv(tmp_path / "bad.csv", index=False)
    bad = load_city(tmp_path / "units.geojson", tmp_path / "fac.csv", crossings=tmp_path / "bad.csv")
    assert "missing_column" in bad.report.codes()


def test_water_without_crossings_is_said(tmp_path):
    city = _city()
    city.units.to_crs(4326).to_file(tmp_path / "units.geojson")
    fac = city.facilities.to_crs(4326)
    fac.assign(lon=fac.geometry.x, lat=fac.geometry.y, level="tertiary", type="general",
               owner_level="municipal").drop(columns="geometry").to_csv(tmp_path / "fac.csv",
                                                                     index=False)
    _river(True).to_crs(4326).to_file(tmp_path / "water.geojson")
    layers = load_city(tmp_path / "units.geojson", tmp_path / "fac.csv",
                       water=tmp_path / "water.geojson")
    assert layers.ok and "water_needs_crossings" in layers.report.codes()


def test_units_across_the_river_are_neighbours_only_at_the_bridge():
    dry = _city().index
    wet = _city(_river(False), _bridge()).index
    # without water the two banks hang together by the island link nearest in a straight line,
    # with water and a bridge by a link at the bridge
    links = wet.links
    assert len(links) == 1
    xs = [wet.points[links["a"].iloc[0], 0] - X0, wet.points[links["b"].iloc[0], 0] - X0]
    assert all(8000 <= x <= 10_000 for x in xs)
    assert len(dry.links) == 1
    # a grid holding both banks is contiguous only through that link (the checks say so)
    labels = ["G1"] * dry.n
    assert wet.contiguity(labels).loc["G1", "linked_islands"] == 1
