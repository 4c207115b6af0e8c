"""G10 conversion suggestions on a city built for them: a west half rich in secondary general
hospitals and without continuing care, an east half with none; the CLI lists them and turns one
into a what-if."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from grid_planning.assess.checks import check_policy
from grid_planning.assess.conversion import (
    conversion_candidates,
    conversion_edit,
    conversions_of,
    grid_secondary_capacity,
)
from grid_planning.city.layers import load_city
from grid_planning.cli import main
from grid_planning.domain.plan import effective_layers
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.planfile import read_plan
from grid_planning.planning.planner import plan_city
from grid_planning.prints.report_pdf import plan_report

CRS = "EPSG:32650"
X0, Y0 = 230_000.0, 3_380_000.0

#: id, name, level, type, owner, beds, (column, row) of the 1 km cell it lies in
FACILITIES = [
    ("W0", "西区中心医院", "tertiary", "general", "municipal", 1200, (1, 1)),
    ("E0", "东区中心医院", "tertiary", "general", "municipal", 1100, (6, 1)),
    ("S1", "西一医院", "secondary", "general", "district", 300, (0, 0)),
    ("S2", "西二医院", "secondary", "general", "district", 200, (2, 2)),
    ("S3", "西三医院", "secondary", "general", "district", 150, (3, 3)),
    ("N1", "东区护理院", "secondary", "nursing", "district", 120, (7, 3)),
    ("C1", "东区社区卫生服务中心", "primary", "community_health_center", "district", 20, (5, 0)),
]


@pytest.fixture(scope="module")
def city_files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("g10city")
    rows, geoms = [], []
    for r in range(4):
        for c in range(8):
            rows.append({"id": f"U{c}{r}", "name": f"街道{c}{r}", "population": 10_000})
            geoms.append(box(X0 + c * 1000, Y0 + r * 1000, X0 + (c + 1) * 1000, Y0 + (r + 1) * 1000))
    gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs(4326).to_file(d / "units.gpkg")
    frows, fgeoms = [], []
    for fid, name, level, type_, owner, beds, (c, r) in FACILITIES:
        frows.append({"id": fid, "name": name, "level": level, "type": type_, "owner_level": owner,
                      "beds": beds})
        fgeoms.append(Point(X0 + (c + 0.5) * 1000, Y0 + (r + 0.5) * 1000))
    fac = gpd.GeoDataFrame(frows, geometry=fgeoms, crs=CRS).to_crs(4326)
    fac.to_file(d / "facilities.gpkg")
    fac.assign(source="illustrative").to_file(d / "facilities_illustrative.gpkg")
    return d


@pytest.fixture(scope="module")
def city(city_files):
    return load_city(city_files / "units.gpkg", city_files / "facilities.gpkg")


REQUEST = PlanRequest(k=2, balance=0.2, cost=CostParams(mode="straight"))


@pytest.fixture(scope="module")
def plan(city):
    result = plan_city(city, REQUEST)
    assert result.ok
    return result.plan


def _grid_of(plan, fid):
    return str(plan.roles.loc[fid, "home_grid"])


def test_rich_grid_yields_candidates_and_empty_grid_none(city, plan):
    west, east = _grid_of(plan, "S1"), _grid_of(plan, "N1")
    assert west != east and _grid_of(plan, "W0") == west
    cap = grid_secondary_capacity(city, plan)
    assert cap.loc[west, "count"] == 3 and cap.loc[east, "count"] == 0
    assert cap.loc[west, "beds"] == 650 and cap.loc[west, "care"] == 0 and cap.loc[east, "care"] == 1
    candidates = conversion_candidates(city, plan)
    assert {c.facility_id for c in candidates} == {"S1", "S2", "S3"}
    # the leads, the nursing home and the east grid's facilities are never candidates
    assert all(c.grid_id == west for c in candidates)
    # smallest first within the grid; the grid lacks continuing care
    assert [c.facility_id for c in candidates] == ["S3", "S2", "S1"]
    assert all(c.lacks_continuing_care for c in candidates)


def test_reason_names_the_figures(city, plan):
    c = conversion_candidates(city, plan)[0]
    west = c.grid_id
    pop = grid_secondary_capacity(city, plan).loc[west, "population"]
    per_1000 = 650 / pop * 1000
    assert c.grid_per_1000 == pytest.approx(per_1000)
    assert c.median_count == 1.5 and c.median_per_1000 == pytest.approx(per_1000 / 2)
    en = c.reason("en")
    assert f"{west} has 3 secondary general hospitals" in en
    assert "median grid 1.5" in en and f"{per_1000:.2f}" in en and f"(median {per_1000 / 2:.2f})" in en
    assert "no rehabilitation hospital or nursing home" in en
    zh = c.reason("zh")
    assert "二级综合医院 3 家" in zh and "无康复医院或护理院" in zh and "illustrative" not in zh
    assert "示意" not in zh  # real beds are not called illustrative


def test_no_candidate_when_grids_are_even(city, plan):
    # with two of the west's three converted, 1 secondary general hospital against 0 is not "at
    # least two": no grid is rich, so nothing is suggested
    edits = (conversion_edit("S1", "nursing"), conversion_edit("S2", "rehabilitation"))
    converted = plan_city(city, PlanRequest(k=2, balance=0.2, cost=CostParams(mode="straight"),
                                            edits=edits)).plan
    assert conversions_of(converted) == [("S1", "nursing"), ("S2", "rehabilitation")]
    assert conversion_candidates(city, converted) == []
    fac = effective_layers(city, converted.edits).facilities.set_index("id")
    assert fac.loc["S1", "type"] == "nursing" and fac.loc["S3", "type"] == "general"


def test_illustrative_beds_are_marked(city_files):
    city = load_city(city_files / "units.gpkg", city_files / "facilities_illustrative.gpkg")
    plan = plan_city(city, REQUEST).plan
    c = conversion_candidates(city, plan)[0]
    assert c.illustrative
    assert "示意数据" in c.reason("zh") and "illustrative" in c.reason("en")


def _plan_args(d: Path, out: Path, *extra: str) -> list[str]:
    return ["plan", "--units", str(d / "units.gpkg"), "--facilities", str(d / "facilities.gpkg"),
            "--grids", "2", "--balance", "0.2", "--cost-mode", "straight", "--out", str(out),
            "--lang", "en", *extra]


def _section(printed: str) -> str:
    """The printed G10 suggestions, up to the what-if hint (the checks follow it)."""
    assert "Re-plan with --convert ID=rehabilitation" in printed
    return printed.split("G10 conversion suggestions", 1)[1].split("Re-plan with --convert", 1)[0]


def test_cli_plan_and_check_list_the_suggestions(city_files, tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    main(_plan_args(city_files, out))
    printed = capsys.readouterr().out
    assert "G10 conversion suggestions" in printed
    section = _section(printed)
    for fid in ("S1", "S2", "S3"):
        assert f"  {fid} " in section
    assert "E0" not in section and "N1" not in section
    main(["check", str(out), "--lang", "en"])
    checked = capsys.readouterr().out
    assert "G10 conversion suggestions" in checked and "  S3 西三医院 (150 beds)" in checked


def test_cli_convert_makes_the_what_if(city_files, tmp_path, capsys):
    out = tmp_path / "plan.gpkg"
    main(_plan_args(city_files, out, "--convert", "S3=rehabilitation"))
    printed = capsys.readouterr().out
    assert "What-if: S3 西三医院 converted into rehabilitation" in printed
    # the west grid now has continuing care; S3 is no longer a candidate, the others still are
    section = _section(printed)
    assert "  S3 " not in section and "  S1 " in section
    assert "already has 1 rehabilitation" in section
    layers, plan = read_plan(out)
    assert conversions_of(plan) == [("S3", "rehabilitation")]
    # the checks see the converted hospital: it is the west grid's G5 member by its new type
    fac = effective_layers(layers, plan.edits).facilities.set_index("id")
    assert fac.loc["S3", "type"] == "rehabilitation"
    assert all(r.status != "fail" for r in check_policy(layers, plan) if r.rule == "G5"
               and r.grid_id == str(plan.roles.loc["S3", "home_grid"]))


@pytest.mark.parametrize(
    ("value", "needle"),
    [("S3=hotel", "ID=rehabilitation"), ("X9=nursing", "no facility with id X9"),
     ("W0=nursing", "not a secondary general hospital")],
)
def test_cli_convert_refuses_bad_values(city_files, tmp_path, capsys, value, needle):
    rc = main(_plan_args(city_files, tmp_path / "p.gpkg", "--convert", value))
    assert rc == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "p.gpkg").exists()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_has_the_g10_section(city, tmp_path, lang):
    edits = (conversion_edit("S3", "rehabilitation"),)
    plan = plan_city(city, PlanRequest(k=2, balance=0.2, cost=CostParams(mode="straight"),
                                       edits=edits)).plan
    path = tmp_path / "report.pdf"
    path.write_bytes(plan_report(city, plan, lang=lang))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = "".join(text.split())
    if lang == "zh":
        assert "G10二级医院转型建议" in flat
        assert "本方案已作为假设情景将下列医院转型：S3西三医院转为康复医院" in flat
        assert "S2西二医院" in flat and "二级综合医院2家" in flat and "已有康复医院或护理院1家" in flat
    else:
        assert "G10: secondary hospital conversion suggestions" in " ".join(text.split())
        assert "S3西三医院convertedintorehabilitation" in flat.replace("What-if:", "")
        assert "S2西二医院" in flat and "has2secondarygeneralhospitals" in flat and "alreadyhas1" in flat
