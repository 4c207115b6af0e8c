"""The data page's water and crossings slots (issue 17): uploaded as ``--water`` / ``--crossings``
take them, validated with clear messages, planned on by the same path as the CLI, drawn on maps.

The city is a river city with one bridge that the code was not tuned on: 60 square units in two
banks of three rows, a river between them, the bridge at the east end, a lead on each bank.
"""

from __future__ import annotations

import pandas as pd
import pytest
from river_fixtures import river_city_files

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


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    return river_city_files(tmp_path_factory.mktemp("river"))


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


def test_a_crossing_name_is_text_on_the_map(files, tmp_path):
    hostile = '<img src=x onerror="alert(1)">桥'
    path = tmp_path / "bridge.csv"
    pd.read_csv(files["bridge"]).assign(名称=hostile).to_csv(path, index=False)
    wet = _upload(files, water=files["water"], crossings=path)
    assert wet.usable and wet.layers.crossings["name"].tolist() == [hostile]
    html = map_html(city_overview_map(wet.layers, lang="zh"))
    assert "<img src=x" not in html  # sent as data, shown through gpText (escaped) on hover
