"""The data page's water and crossings slots (issue 17): uploaded as ``--water`` / ``--crossings``
take them, validated with clear messages, planned on by the same path as the CLI, drawn on maps.

The city is a river city with one bridge that the code was not tuned on: 60 square units in two
banks of three rows, a river between them, the bridge at the east end, a lead on each bank.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from grid_planning.city.costs import travel_costs
from grid_planning.cli import main
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.planfile import read_plan
from grid_planning.maps.mapview import map_html
from grid_planning.maps.overview import city_overview_map
from grid_planning.maps.planmap import plan_map
from grid_planning.session.data_page import water_line
from grid_planning.session.ui_state import UPLOAD_SLOTS, load_uploads, upload_layers
from grid_planning.session.workspace import Workspace

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_380_000.0


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """The river city as an office would upload it: GeoJSON units and outline, a facilities CSV,
    the river as a GeoJSON polygon, the bridge as a CSV with Chinese headers."""
    d = tmp_path_factory.mktemp("river")
    cells = [(x, y) for y in [*range(0, 3000, 1000), *range(4000, 7000, 1000)] for x in range(0, 10_000, 1000)]
    units = gpd.GeoDataFrame(
        {"id": [f"U{i:02d}" for i in range(len(cells))], "name": "cell", "population": 1000.0},
        geometry=[shapely.box(X0 + x, Y0 + y, X0 + x + 1000, Y0 + y + 1000) for x, y in cells], crs=CRS)
    units.to_crs(4326).to_file(d / "units.geojson")
    # a lead on each bank (west of the south bank, east of the north bank), a secondary hospital
    # beside each (G5)
    fac = gpd.GeoDataFrame(
        {"id": ["WEST", "EAST", "S2", "N2"], "name": ["west", "east", "south two", "north two"],
         "level": ["tertiary", "tertiary", "secondary", "secondary"]},
        geometry=[shapely.Point(X0 + 500, Y0 + 1500), shapely.Point(X0 + 8500, Y0 + 5500),
                  shapely.Point(X0 + 2500, Y0 + 500), shapely.Point(X0 + 6500, Y0 + 6500)], crs=CRS).to_crs(4326)
    fac.assign(lon=fac.geometry.x, lat=fac.geometry.y, type="general", owner_level="municipal",
               beds=800.0).drop(columns="geometry").to_csv(d / "fac.csv", index=False)
    gpd.GeoDataFrame({"name": ["city"]}, geometry=[shapely.box(X0, Y0, X0 + 10_000, Y0 + 7000)],
                     crs=CRS).to_crs(4326).to_file(d / "outline.geojson")
    gpd.GeoDataFrame({"name": ["长河"]}, geometry=[shapely.box(X0 - 100, Y0 + 3000, X0 + 10_100, Y0 + 4000)],
                     crs=CRS).to_crs(4326).to_file(d / "water.geojson")
    bridge = gpd.GeoSeries([shapely.Point(X0 + 9000, Y0 + 3500)], crs=CRS).to_crs(4326)
    pd.DataFrame({"名称": ["长河大桥"], "经度": bridge.x, "纬度": bridge.y}).to_csv(d / "bridge.csv", index=False)
    pd.DataFrame({"名称": ["长河大桥"]}).to_csv(d / "bridge_no_xy.csv", index=False)
    return {p.stem: p for p in d.iterdir()}


def _upload(files, **extra):
    slots = {"units": files["units"], "facilities": files["fac"], "boundary": files["outline"], **extra}
    return load_uploads({slot: (path.name, path.read_bytes()) for slot, path in slots.items()})


def test_the_page_offers_water_and_crossings_slots_as_the_cli_takes_them():
    assert UPLOAD_SLOTS["water"][0] is False and UPLOAD_SLOTS["crossings"][0] is False
    assert "geojson" in UPLOAD_SLOTS["water"][1] and "csv" not in UPLOAD_SLOTS["water"][1]
    assert {"csv", "xlsx", "geojson"} <= set(UPLOAD_SLOTS["crossings"][1])  # points or a lon/lat table


def test_uploaded_water_is_planned_on_exactly_as_the_cli_plans_it(files, tmp_path):
    dry = _upload(files)
    wet = _upload(files, water=files["water"], crossings=files["bridge"])
    assert wet.usable, wet.report.format()
    assert wet.layers.water["name"].tolist() == ["长河"]
    assert wet.layers.crossings["name"].tolist() == ["长河大桥"]
    # travel across the river goes over the bridge: the north-west unit's nearer lead is EAST
    params = CostParams(mode="straight")
    for result, nearer in ((dry, "WEST"), (wet, "EAST")):
        m = travel_costs(result.layers, params)
        row = m.minutes[m.unit_ids.get_loc("U30")]
        west, east = row[m.facility_ids.get_loc("WEST")], row[m.facility_ids.get_loc("EAST")]
        assert (west < east) == (nearer == "WEST")
    ws = Workspace(wet.layers, request=PlanRequest(k=2, cost=params))
    assert ws.run().ok
    out = tmp_path / "cli.gpkg"
    code = main(["plan", "--units", str(files["units"]), "--facilities", str(files["fac"]),
                 "--boundary", str(files["outline"]), "--water", str(files["water"]),
                 "--crossings", str(files["bridge"]), "-k", "2", "--cost-mode", "straight",
                 "--out", str(out), "--lang", "en"])
    assert code in (0, 1)
    _, cli_plan = read_plan(out)
    assert ws.plan.assignment.astype(str).to_dict() == cli_plan.assignment.astype(str).to_dict()
    assert dict(ws.plan.leads.items()) == dict(cli_plan.leads.items())
    # the river splits the banks: every north-bank unit goes to the north-bank lead, which the
    # plan without water (straight across the river) does not do
    north = [f"U{i:02d}" for i in range(30, 60)]
    assert ws.plan.assignment[north].map(dict(ws.plan.leads.items())).eq("EAST").all()
    ws_dry = Workspace(dry.layers, request=PlanRequest(k=2, cost=params))
    assert ws_dry.run().ok
    assert not ws_dry.plan.assignment[north].map(dict(ws_dry.plan.leads.items())).eq("EAST").all()


def test_bad_water_uploads_get_clear_messages(files):
    no_xy = _upload(files, water=files["water"], crossings=files["bridge_no_xy"])
    assert not no_xy.usable
    text = no_xy.report.format(lang="en")
    assert "bridge_no_xy.csv" in text and "lon" in text and "经度" in text
    only_water = _upload(files, water=files["water"])
    assert only_water.usable and "water_needs_crossings" in only_water.report.codes()
    assert "water.geojson" in only_water.report.format(lang="en")
    # a table in the water slot: refused, naming the file and the geometry wanted
    table = _upload(files, water=files["bridge"])
    assert not table.usable
    assert "bridge.csv" in table.report.format(lang="en")
    assert upload_layers("water", "water.geojson", files["water"].read_bytes()) == []


def test_the_data_page_line_says_how_the_river_is_understood(files):
    wet = _upload(files, water=files["water"], crossings=files["bridge"])
    assert water_line(wet.layers, "en") == (
        "Water: 1 features, 1 crossings; the units lie on 2 banks, with 1 links between banks at the "
        "crossings (straight-line travel crosses water only there, and units on two banks are "
        "neighbours only at a crossing)")
    assert water_line(wet.layers, "zh").startswith("水系：1 个河湖要素，1 个过江通道；人口单元分布在 2 个岸区")
    assert water_line(_upload(files).layers, "en") is None
    only = _upload(files, water=files["water"]).layers
    assert water_line(only, "en") == "Water: 1 features, 0 crossings"


def test_the_maps_draw_the_water_and_name_the_crossings(files):
    wet = _upload(files, water=files["water"], crossings=files["bridge"])
    ws = Workspace(wet.layers, request=PlanRequest(k=2, cost=CostParams(mode="straight")))
    assert ws.run().ok
    dry = _upload(files).layers
    for html in (map_html(plan_map(wet.layers, ws.plan, lang="zh")), map_html(city_overview_map(wet.layers, lang="zh"))):
        assert "水系与过江通道" in html and "长河大桥" in html
    assert "水系与过江通道" not in map_html(city_overview_map(dry, lang="zh"))
