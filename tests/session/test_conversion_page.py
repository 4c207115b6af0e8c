"""The plan page's G10 list (issue 17): one click turns a conversion suggestion into the what-if
``plan --convert`` makes and re-plans; the what-if shows as such in the list of what-ifs, the undo
label, the G10 list itself, the plan file and the report.

The city (built here, not the sample): a west half rich in secondary general hospitals and
without continuing care, an east half with one lead and a nursing home.
"""

from __future__ import annotations

import subprocess

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from grid_planning.assess.conversion import conversions_of
from grid_planning.city.layers import load_city
from grid_planning.cli import main
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.planfile import read_plan
from grid_planning.prints.report_pdf import plan_report
from grid_planning.session import conversion_page as g10
from grid_planning.session.workspace import Workspace, WorkspaceError

CRS = "EPSG:32650"
X0, Y0 = 230_000.0, 3_380_000.0
FACILITIES = [  # id, name, level, type, owner, beds, (column, row)
    ("W0", "西区中心医院", "tertiary", "general", "municipal", 1200, (1, 1)),
    ("E0", "东区中心医院", "tertiary", "general", "municipal", 1100, (6, 1)),
    ("S1", "西一医院", "secondary", "general", "district", 300, (0, 0)),
    ("S2", "西二医院", "secondary", "general", "district", 200, (2, 2)),
    ("S3", "西三医院", "secondary", "general", "district", 150, (3, 3)),
    ("N1", "东区护理院", "secondary", "nursing", "district", 120, (7, 3)),
]
REQUEST = PlanRequest(k=2, balance=0.2, cost=CostParams(mode="straight"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("g10page")
    rows, geoms = [], []
    for r in range(4):
        for c in range(8):
            rows.append({"id": f"U{c}{r}", "name": f"街道{c}{r}", "population": 10_000})
            geoms.append(box(X0 + c * 1000, Y0 + r * 1000, X0 + (c + 1) * 1000, Y0 + (r + 1) * 1000))
    gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs(4326).to_file(d / "units.gpkg")
    fac = gpd.GeoDataFrame(
        [{"id": f, "name": n, "level": lv, "type": ty, "owner_level": o, "beds": b}
         for f, n, lv, ty, o, b, _ in FACILITIES],
        geometry=[Point(X0 + (c + 0.5) * 1000, Y0 + (r + 0.5) * 1000) for *_, (c, r) in FACILITIES], crs=CRS)
    fac.to_crs(4326).to_file(d / "facilities.gpkg")
    return d


@pytest.fixture()
def ws(files):
    w = Workspace(load_city(files / "units.gpkg", files / "facilities.gpkg"), request=REQUEST)
    assert w.run().ok
    return w


def test_the_list_offers_each_suggestion_with_a_button_per_target(ws):
    rows = g10.suggestions(ws.layers, ws.plan, "zh")
    assert [r.facility_id for r in rows] == ["S3", "S2", "S1"]  # smaller hospitals first
    assert [label for _, label in rows[0].targets] == ["转为护理院", "转为康复医院"]
    assert "西三医院" in rows[0].text and "无康复医院或护理院" in rows[0].text
    assert g10.applied(ws.layers, ws.plan, "zh") == []


def test_one_click_makes_the_cli_what_if_and_replans(ws, files, tmp_path):
    before = ws.revision
    result = ws.convert_facility("S3", "rehabilitation")
    assert result is not None and result.ok and ws.revision > before
    assert conversions_of(ws.plan) == [("S3", "rehabilitation")]
    # the same plan as `plan --convert S3=rehabilitation`
    out = tmp_path / "cli.gpkg"
    assert main(["plan", "--units", str(files / "units.gpkg"), "--facilities", str(files / "facilities.gpkg"),
                 "-k", "2", "--balance", "0.2", "--cost-mode", "straight", "--convert", "S3=rehabilitation",
                 "--out", str(out), "--lang", "en"]) in (0, 1)
    _, cli_plan = read_plan(out)
    assert cli_plan.edits == ws.plan.edits
    assert ws.plan.assignment.astype(str).to_dict() == cli_plan.assignment.astype(str).to_dict()
    # the converted hospital now counts as continuing care: no longer suggested, and its grid
    # "already has" it
    rows = g10.suggestions(ws.layers, ws.plan, "en")
    assert "S3" not in [r.facility_id for r in rows] and rows
    assert all("already has 1 rehabilitation" in r.text for r in rows)


def test_the_what_if_shows_as_a_conversion_everywhere(ws, tmp_path):
    ws.convert_facility("S3", "nursing")
    edits = ws.describe_edits("zh")
    assert edits[["action", "facility_id", "name", "detail"]].values.tolist() == [
        ["G10 转型", "S3", "西三医院", "护理院"]]
    assert ws.undo_label("zh") == "G10 转型（假设）：西三医院"
    done = g10.applied(ws.layers, ws.plan, "zh")
    assert [(r.facility_id, r.text, r.edit_index) for r in done] == [("S3", "假设情景：S3 西三医院 转为护理院", 0)]
    # saved with the plan, read back as a conversion
    path = ws.export_file("gpkg", "zh")
    (tmp_path / path.filename).write_bytes(path.data)
    _, back = read_plan(tmp_path / path.filename)
    assert conversions_of(back) == [("S3", "nursing")]
    # the report names it in words, never the program's type code
    if subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0:
        pdf = tmp_path / "r.pdf"
        pdf.write_bytes(plan_report(ws.layers, ws.plan, ws.costs(), lang="zh"))
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
        assert "S3 西三医院 转为护理院" in text and "nursing" not in text
    # taken back from the list: the plan is without it, the suggestion is back
    ws.remove_edit(done[0].edit_index)
    assert conversions_of(ws.plan) == [] and "S3" in [r.facility_id for r in g10.suggestions(ws.layers, ws.plan, "en")]
    ws.undo()
    assert conversions_of(ws.plan) == [("S3", "nursing")]


@pytest.mark.parametrize(("fid", "target"), [("W0", "nursing"), ("N1", "rehabilitation"), ("S3", "hotel")])
def test_a_conversion_the_cli_would_refuse_is_refused(ws, fid, target):
    with pytest.raises(WorkspaceError) as err:
        ws.convert_facility(fid, target)
    assert err.value.code == "not_convertible"
    assert fid in err.value.message("en")
    assert ws.plan.edits == ()
