"""Layers: readers for every format, validation findings for each bad case, the sample city."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geo_reference import haversine_m
from shapely.geometry import LineString, Point, Polygon

from grid_planning.city import layers
from grid_planning.city.layers import load_city, summarise
from grid_planning.city.provenance import load_sample_city
from grid_planning.geo.coords import convert_geometry, gcj02_to_wgs84
from grid_planning.io import readers, rows, units
from grid_planning.io.findings import ValidationReport
from grid_planning.io.inputs import read_table
from grid_planning.io.readers import read_boundary, read_districts, read_facilities, read_roads
from grid_planning.io.rows import LayerError
from grid_planning.io.units import aggregate_points_to_cells, read_units

FIX = Path(__file__).parents[1] / "fixtures" / "layers"
TOWN_IDS = [f"F0{k}" for k in range(1, 9)]
GOOD_CSV = """id,name,level,type,owner_level,beds,lon,lat
F1,甲医院,三级甲等,综合医院,市属,500,114.30,30.58
F2,乙医院,三级,综合医院,区属,400,114.25,30.55
F3,丙中心,一级,社区卫生服务中心,区属,20,114.35,30.56
"""


def _write(tmp_path: Path, text: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _facilities(tmp_path: Path, text: str, **kw) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    report = ValidationReport()
    return read_facilities(_write(tmp_path, text), report=report, **kw), report


def _one(report: ValidationReport, code: str):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.format()
    return found[0]



# --- formats and encodings ---------------------------------------------------------------------
def test_gbk_csv_with_chinese_headers():
    table = read_table(FIX / "town_facilities_gbk.csv")
    assert table.attrs["encoding"] == "gb18030"
    report = ValidationReport()
    fac = read_facilities(FIX / "town_facilities_gbk.csv", report=report)
    assert report.findings == []
    assert fac["id"].tolist() == TOWN_IDS
    assert fac.loc[0, "name"] == "示例市第一医院"
    assert fac["level"].tolist()[:4] == ["tertiary", "tertiary", "tertiary", "secondary"]
    assert fac["type"].tolist()[5] == "community_health_center"
    assert fac["owner_level"].tolist()[:3] == ["municipal", "district", "provincial"]
    assert fac["beds"].sum() == 4220
    assert (fac.loc[0, "lon"], fac.loc[0, "lat"]) == (114.30, 30.58)
    assert str(fac.crs) == "EPSG:4326"


def test_utf8_bom_csv_header_is_recognised():
    assert read_table(FIX / "town_facilities_bom.csv").attrs["encoding"] == "utf-8-sig"
    fac = read_facilities(FIX / "town_facilities_bom.csv")  # no report: would raise on an error
    assert fac["id"].tolist() == TOWN_IDS
    assert fac["source"].unique().tolist() == ["user"]
    assert fac["level_source"].unique().tolist() == ["data"]


def test_xlsx_with_chinese_headers():
    fac = read_facilities(FIX / "town_facilities_zh.xlsx")
    assert fac["id"].tolist() == TOWN_IDS
    assert fac.loc[3, "type"] == "tcm"
    assert fac["beds"].tolist()[:2] == [1200.0, 800.0]


@pytest.mark.parametrize(
    "name", ["town_facilities.geojson", "town_facilities.gpkg", "town_facilities_shp.zip"]
)
def test_gis_facility_formats_match_the_csv(name):
    report = ValidationReport()
    fac = read_facilities(FIX / name, report=report)
    assert report.findings == []
    ref = read_facilities(FIX / "town_facilities_gbk.csv")
    assert fac["id"].tolist() == TOWN_IDS
    for col in ("level", "type", "owner_level", "beds", "name"):
        assert fac[col].tolist() == ref[col].tolist(), col
    assert np.allclose(fac.geometry.x, ref.geometry.x) and np.allclose(
        fac.geometry.y, ref.geometry.y
    )


@pytest.mark.parametrize(
    "name",
    ["town_units.geojson", "town_units_zh.gpkg", "town_units_shp.zip", "town_units_utm.gpkg"],
)
def test_unit_formats_agree(name):
    report = ValidationReport()
    units = read_units(FIX / name, report=report)
    ref = gpd.read_file(FIX / "town_units.geojson")
    assert report.findings == []
    assert units["id"].tolist() == ref["id"].tolist()
    assert units["population"].tolist() == ref["population"].tolist()
    assert units["pop_65plus"].tolist() == ref["pop_65plus"].tolist()
    assert str(units.crs) == "EPSG:4326"  # the UTM GeoPackage is reprojected
    area = units.to_crs("EPSG:32650").area.to_numpy()
    assert np.allclose(area, ref.to_crs("EPSG:32650").area.to_numpy(), rtol=1e-6)


def test_zh_unit_headers_become_canonical():
    units = read_units(FIX / "town_units_zh.gpkg")
    assert {"id", "name", "population", "pop_65plus"} <= set(units.columns)
    assert units.loc[0, "name"] == "单元1"


def test_missing_crs_with_degrees_is_assumed_wgs84():
    report = ValidationReport()
    units = read_units(FIX / "town_units_noprj_shp.zip", report=report)
    assert report.codes() == ["crs_assumed_wgs84"]
    assert report.ok and len(units) == 92 and str(units.crs) == "EPSG:4326"


def test_projected_numbers_without_crs_are_an_error():
    report = ValidationReport()
    units = read_units(FIX / "town_units_utm_noprj_shp.zip", report=report)
    f = _one(report, "projected_without_crs")
    assert f.severity == "error" and f.file == "town_units_utm_noprj_shp.zip"
    assert len(units) == 0


def test_projected_numbers_in_a_csv_are_an_error(tmp_path):
    text = "id,name,x,y\nA,甲医院,230000,3380000\nB,乙医院,231000,3381000\n"
    _, report = _facilities(tmp_path, text)
    f = _one(report, "projected_without_crs")
    assert f.column == "x/y"


def test_gcj02_facilities_match_reference_wgs84():
    report = ValidationReport()
    fac = read_facilities(FIX / "weibo_pois_gcj02.csv", coords="gcj02", report=report)
    err = haversine_m(
        fac.geometry.x,
        fac.geometry.y,
        fac["ref_wgs84_lon"].astype(float),
        fac["ref_wgs84_lat"].astype(float),
    )
    assert err.max() < 1.0
    assert np.allclose(fac["lon"], fac.geometry.x)  # lon/lat columns hold the WGS84 position
    raw = read_facilities(FIX / "weibo_pois_gcj02.csv", report=ValidationReport())
    assert haversine_m(raw.geometry.x, raw.geometry.y, fac.geometry.x, fac.geometry.y).min() > 300


def test_bd09_facilities_match_reference_wgs84():
    fac = read_facilities(FIX / "weibo_pois_bd09.csv", coords="bd09", report=ValidationReport())
    err = haversine_m(
        fac.geometry.x,
        fac.geometry.y,
        fac["ref_wgs84_lon"].astype(float),
        fac["ref_wgs84_lat"].astype(float),
    )
    assert err.max() < 3.0


def test_gcj02_polygons_are_shifted(tmp_path):
    truth = gpd.read_file(FIX / "town_boundary.geojson")
    convert_geometry(truth, from_="wgs84", to="gcj02").to_file(
        tmp_path / "b.geojson", driver="GeoJSON"
    )
    back = read_boundary(tmp_path / "b.geojson", coords="gcj02")
    assert back.geometry.iloc[0].hausdorff_distance(truth.geometry.iloc[0]) < 1e-7
    raw = read_boundary(tmp_path / "b.geojson")
    assert raw.geometry.iloc[0].hausdorff_distance(truth.geometry.iloc[0]) > 0.003


def test_per_layer_coordinate_systems():
    city = load_city(
        FIX / "town_units.geojson",
        FIX / "weibo_pois_gcj02.csv",
        FIX / "town_boundary.geojson",
        coords={"facilities": "gcj02"},
    )
    expect_lon, _ = gcj02_to_wgs84(114.29853, 30.53515)
    assert city.facilities.loc[0, "lon"] == pytest.approx(expect_lon, abs=1e-9)
    # The units were not shifted.
    assert city.units.geometry.iloc[0].equals_exact(
        gpd.read_file(FIX / "town_units.geojson").geometry.iloc[0], 1e-12
    )


# --- point population ----------------------------------------------------------------------------
def test_points_csv_aggregated_onto_cells_preserving_total():
    boundary = read_boundary(FIX / "town_boundary.geojson")
    report = ValidationReport()
    cells = read_units(FIX / "town_pop_points.csv", report=report, boundary=boundary)
    raw = pd.read_csv(FIX / "town_pop_points.csv")
    assert cells["population"].sum() == raw["population"].sum()
    assert report.codes() == ["points_aggregated"]
    assert cells["id"].is_unique and len(cells) < len(raw)
    area = cells.to_crs("EPSG:32650").area
    assert area.max() <= 1e6 * (1 + 1e-9)
    # Clipped to the outline: no cell sticks out.
    outline = boundary.to_crs("EPSG:32650").geometry.iloc[0]
    assert cells.to_crs("EPSG:32650").difference(outline.buffer(0.01)).area.max() < 1e-3


def test_aggregate_points_to_cells_sums_per_cell():
    # Points in UTM 50N metres: three in one 1 km cell, one in the next.
    xy = [(500100, 3380100), (500900, 3380900), (500500, 3380500), (501500, 3380500)]
    pts = gpd.GeoDataFrame(
        {"population": [10.0, 20.0, 30.0, 5.0], "pop_65plus": [1.0, 2.0, 3.0, 4.0]},
        geometry=[Point(x, y) for x, y in xy],
        crs="EPSG:32650",
    ).to_crs("EPSG:4326")
    cells = aggregate_points_to_cells(pts, None, 1000, weights=("population", "pop_65plus"))
    assert sorted(cells["population"].tolist()) == [5.0, 60.0]
    assert cells["pop_65plus"].sum() == 10.0
    assert cells.to_crs("EPSG:32650").area.round().tolist() == [1e6, 1e6]
    assert cells["id"].tolist() == ["C500_3380", "C501_3380"]


def test_points_outside_the_boundary_are_counted(tmp_path):
    path = _write(tmp_path, "lon,lat,人口\n114.30,30.58,100\n114.31,30.57,50\n116.0,31.0,7\n")
    report = ValidationReport()
    cells = read_units(path, report=report, boundary=read_boundary(FIX / "town_boundary.geojson"))
    assert cells["population"].sum() == 150
    f = _one(report, "points_outside_boundary")
    assert f.params["count"] == 1 and f.params["population"] == "7"


def test_point_units_in_a_gis_file_are_aggregated(tmp_path):
    pts = gpd.GeoDataFrame(
        {"pop": [100, 200]}, geometry=[Point(114.3, 30.58), Point(114.3005, 30.5805)], crs=4326
    )
    pts.to_file(tmp_path / "p.gpkg")
    report = ValidationReport()
    cells = read_units(tmp_path / "p.gpkg", report=report)
    assert len(cells) == 1 and cells["population"].iloc[0] == 300
    assert "points_aggregated" in report.codes()


# --- bad cases -----------------------------------------------------------------------------------
def test_empty_file(tmp_path):
    report = ValidationReport()
    read_facilities(_write(tmp_path, ""), report=report)
    f = _one(report, "file_empty")
    assert f.severity == "error" and f.file == "f.csv"
    report = ValidationReport()
    read_facilities(_write(tmp_path, "id,name,lon,lat\n", "header_only.csv"), report=report)
    assert _one(report, "file_empty").file == "header_only.csv"


def test_missing_required_column_names_the_aliases(tmp_path):
    _, report = _facilities(tmp_path, "编号,名称,经度\nA,甲,114.3\n")
    f = _one(report, "missing_column")
    assert f.column == "lat" and "纬度" in f.params["aliases"]
    assert "纬度" in f.advice("zh") and "latitude" in f.advice("en")


def test_units_without_population_column(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["a"]}, geometry=[Polygon([(114, 30), (114.1, 30), (114.1, 30.1)])], crs=4326
    )
    gdf.to_file(tmp_path / "u.geojson", driver="GeoJSON")
    report = ValidationReport()
    read_units(tmp_path / "u.geojson", report=report)
    f = _one(report, "missing_column")
    assert f.column == "population" and "常住人口" in f.params["aliases"]


def test_duplicate_ids(tmp_path):
    text = GOOD_CSV.replace("F3,丙中心", "F1,丙中心").replace("id,", "编号,")
    fac, report = _facilities(tmp_path, text)
    f = _one(report, "duplicate_id")
    assert (f.severity, f.row, f.column, f.params["value"]) == ("error", "2, 4", "编号", "F1")


def test_missing_and_unparseable_coordinates(tmp_path):
    text = GOOD_CSV.replace("114.25,30.55", "114.25,").replace("114.35,30.56", "114°21',30.56")
    fac, report = _facilities(tmp_path, text)
    missing = _one(report, "coordinate_missing")
    assert (missing.severity, missing.row, missing.column) == ("error", "3", "lon/lat")
    bad = _one(report, "coordinate_unparseable")
    assert (bad.row, bad.column, bad.params["value"]) == ("4", "lon", "114°21'")
    assert fac["id"].tolist() == ["F1"]


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    text = GOOD_CSV.replace("F2,", "\nF2,").replace("114.35,30.56", "114.35,abc")
    _, report = _facilities(tmp_path, text)
    assert _one(report, "coordinate_unparseable").row == "5"  # header 1, F1 2, blank 3, F2 4, F3 5


def test_xlsx_row_numbers_and_blank_rows(tmp_path):
    df = pd.DataFrame(
        {
            "名称": ["甲", None, "乙"],
            "经度": [114.3, None, "x"],
            "纬度": [30.5, None, 30.6],
            "等级": ["三级", None, "二级"],
        }
    )
    df.to_excel(tmp_path / "f.xlsx", index=False)
    report = ValidationReport()
    fac = read_facilities(tmp_path / "f.xlsx", report=report)
    f = _one(report, "coordinate_unparseable")
    assert (f.file, f.row, f.column) == ("f.xlsx", "4", "经度")
    assert len(fac) == 1


def test_swapped_lonlat_is_fixed_with_a_warning(tmp_path):
    text = GOOD_CSV.replace("114.25,30.55", "30.55,114.25")
    fac, report = _facilities(tmp_path, text)
    f = _one(report, "swapped_lonlat")
    assert (f.severity, f.row) == ("warning", "3")
    assert (fac.loc[1, "lon"], fac.loc[1, "lat"]) == (114.25, 30.55)
    assert report.ok


def test_swapped_lonlat_inside_boundary_west_of_90e(tmp_path):
    # Urumqi-like city at 87.6 E, 43.8 N: a swapped point (43.8, 87.6) is a valid position, so only
    # the boundary can tell; the swapped point falls inside it and is fixed.
    boundary = gpd.GeoDataFrame(
        {"name": ["west"]},
        geometry=[Polygon([(87.4, 43.6), (87.8, 43.6), (87.8, 44.0), (87.4, 44.0)])],
        crs=4326,
    )
    boundary.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    units = gpd.GeoDataFrame({"population": [1000]}, geometry=boundary.geometry, crs=4326)
    units.to_file(tmp_path / "u.geojson", driver="GeoJSON")
    fac = _write(
        tmp_path,
        "name,level,type,owner,lon,lat\nA,三级,综合医院,市属,87.6,43.8\nB,三级,综合医院,区属,43.7,87.5\n",
    )
    city = load_city(tmp_path / "u.geojson", fac, tmp_path / "b.geojson")
    f = _one(city.report, "swapped_lonlat")
    assert f.row == "3"
    assert (city.facilities.loc[1, "lon"], city.facilities.loc[1, "lat"]) == (87.5, 43.7)
    assert "outside_boundary" not in city.report.codes()


def test_coordinates_out_of_range(tmp_path):
    _, report = _facilities(tmp_path, GOOD_CSV.replace("114.25,30.55", "214.25,30.55"))
    f = _one(report, "coordinate_out_of_range")
    assert f.row == "3" and f.severity == "error"


def test_points_outside_boundary_warn_beyond_tolerance(tmp_path):
    # The western edge runs from (114.20, 30.50) to (114.22, 30.63): at 30.55 N it is at ~114.2077.
    # F2 is ~3.6 km west of it; F3 ~250 m outside, within the tolerance.
    text = GOOD_CSV.replace("114.25,30.55", "114.17,30.55").replace("114.35,30.56", "114.205,30.55")
    city = load_city(
        FIX / "town_units.geojson", _write(tmp_path, text), FIX / "town_boundary.geojson"
    )
    f = _one(city.report, "outside_boundary")
    assert (f.severity, f.row, f.params["name"]) == ("warning", "3", "乙医院")
    assert float(f.params["distance_km"]) == pytest.approx(3.6, abs=0.15)
    assert len(city.facilities) == 3 and city.ok


def test_negative_and_non_numeric_values(tmp_path):
    text = GOOD_CSV.replace(",500,", ",-5,").replace(",400,", ",四百,").replace("beds", "床位数")
    fac, report = _facilities(tmp_path, text)
    neg = _one(report, "negative_value")
    assert (neg.severity, neg.row, neg.column, neg.params["value"]) == (
        "error",
        "2",
        "床位数",
        "-5",
    )
    nn = _one(report, "not_numeric")
    assert (nn.row, nn.column, nn.params["value"]) == ("3", "床位数", "四百")
    assert fac["beds"].isna().tolist() == [True, True, False]


def test_negative_and_missing_population_in_units(tmp_path):
    gdf = gpd.read_file(FIX / "town_units.geojson").iloc[:4].copy()
    gdf["population"] = gdf["population"].astype(object)
    gdf.loc[1, "population"] = -10
    gdf.loc[2, "population"] = None
    gdf.loc[3, "population"] = "many"
    gdf.to_file(tmp_path / "u.gpkg")
    report = ValidationReport()
    read_units(tmp_path / "u.gpkg", report=report)
    assert _one(report, "negative_value").row == "U002"
    assert _one(report, "missing_value").row == "U003"
    f = _one(report, "not_numeric")
    assert (f.row, f.column, f.params["value"]) == ("U004", "population", "many")


def test_infinity_is_not_a_number(tmp_path):
    """"inf" population passed validation ("Population: inf ... can be used") and crashed the
    planner; "Infinity" beds wrote a plan with "beds per 1,000: inf", all checks passed."""
    text = GOOD_CSV.replace(",500,", ",Infinity,").replace(",400,", ",1e309,")
    fac, report = _facilities(tmp_path, text)
    found = sorted((f.row, f.column, f.params["value"]) for f in report.findings
                   if f.code == "not_numeric")
    assert found == [("2", "beds", "Infinity"), ("3", "beds", "1e309")]
    assert fac["beds"].isna().tolist() == [True, True, False]
    # A GIS file's own floats: a GeoPackage column of REAL holding inf.
    gdf = gpd.read_file(FIX / "town_units.geojson").iloc[:3].copy()
    gdf.loc[1, "population"] = np.inf
    gdf.loc[2, "pop_65plus"] = -np.inf
    gdf.to_file(tmp_path / "u.gpkg")
    report = ValidationReport()
    units = read_units(tmp_path / "u.gpkg", report=report)
    found = sorted((f.row, f.column, f.params["value"]) for f in report.findings
                   if f.code == "not_numeric")
    assert found == [("U002", "population", "inf"), ("U003", "pop_65plus", "-inf")]
    assert np.isfinite(units["population"].dropna()).all()
    assert not np.isinf(pd.to_numeric(units["pop_65plus"], errors="coerce")).any()


def test_coordinates_that_are_not_numbers_make_a_geometry_missing(tmp_path):
    """One NaN vertex in a unit made GEOS raise ("an unexpected problem occurred ...
    orientationIndex encountered NaN"), losing the whole layer; as missing geometry the unit's
    residents are named instead."""
    import json

    data = json.loads((FIX / "town_units.geojson").read_text(encoding="utf-8"))
    ring = data["features"][2]["geometry"]["coordinates"][0]
    ring[1] = [float("nan"), ring[1][1]]
    (tmp_path / "u.geojson").write_text(json.dumps(data), encoding="utf-8")
    report = ValidationReport()
    units = read_units(tmp_path / "u.geojson", report=report)
    f = _one(report, "geometry_not_finite")
    assert (f.severity, f.row, f.params["count"]) == ("warning", "U003", 1)
    lost = [x for x in report.errors if x.row == "U003"]
    assert len(lost) == 1 and "7,776" in lost[0].message("en")
    assert len(units) == len(data["features"]) - 1 and "U003" not in set(units["id"])
    assert not any(x.code == "geometry_repaired" for x in report.findings)
    # A facility point at infinity: not placed, said so.
    fac = gpd.read_file(FIX / "town_facilities.geojson")
    fac.loc[0, "geometry"] = Point(np.inf, 30.5)
    fac.to_file(tmp_path / "f.gpkg")
    report = ValidationReport()
    out = read_facilities(tmp_path / "f.gpkg", report=report)
    assert _one(report, "geometry_not_finite").row == str(fac.loc[0, "id"])
    assert _one(report, "missing_geometry").severity == "error"
    assert len(out) == len(fac) - 1


def test_unknown_level_type_owner_are_warnings(tmp_path):
    text = (
        GOOD_CSV.replace("三级甲等", "金牌")
        .replace("社区卫生服务中心", "养生馆")
        .replace("区属,20", "外星,20")
    )
    fac, report = _facilities(tmp_path, text)
    by_col = {f.column: f for f in report.findings if f.code == "unknown_value"}
    assert set(by_col) == {"level", "type", "owner_level"}
    assert (by_col["level"].row, by_col["level"].params["value"]) == ("2", "金牌")
    assert by_col["type"].params["fallback"] == "other"
    assert report.ok
    assert fac["level"].tolist() == ["unknown", "tertiary", "primary"]
    assert fac["type"].tolist() == ["general", "general", "other"]
    assert fac["owner_level"].tolist() == ["municipal", "district", "unknown"]


def test_canonical_codes_with_underscores_are_accepted(tmp_path):
    text = GOOD_CSV.replace("社区卫生服务中心", "community_health_center").replace(
        "市属", "Municipal"
    )
    fac, report = _facilities(tmp_path, text)
    assert report.findings == []
    assert (
        fac.loc[2, "type"] == "community_health_center" and fac.loc[0, "owner_level"] == "municipal"
    )


def test_polygons_in_facilities_are_wrong_geometry(tmp_path):
    fac = gpd.read_file(FIX / "town_facilities.geojson")
    fac.loc[2, "geometry"] = fac.geometry[2].buffer(0.001)
    fac.to_file(tmp_path / "f.geojson", driver="GeoJSON")
    report = ValidationReport()
    out = read_facilities(tmp_path / "f.geojson", report=report)
    f = _one(report, "wrong_geometry")
    assert (f.severity, f.row, f.params["found"], f.params["expected"]) == (
        "error",
        "F03",
        "Polygon",
        "Point",
    )
    assert "F03" not in out["id"].tolist() and len(out) == 7


def test_lines_in_units_are_wrong_geometry(tmp_path):
    gdf = gpd.read_file(FIX / "town_units.geojson").iloc[:3].copy()
    gdf.loc[1, "geometry"] = LineString([(114.2, 30.5), (114.3, 30.6)])
    gdf.to_file(tmp_path / "u.geojson", driver="GeoJSON")
    report = ValidationReport()
    units = read_units(tmp_path / "u.geojson", report=report)
    f = _one(report, "wrong_geometry")
    assert (f.row, f.params["found"]) == ("U002", "LineString")
    assert units["id"].tolist() == ["U001", "U003"]
    # Its residents are not lost: the line's own points lie in U001, so they move there.
    moved = _one(report, "unit_merged")
    before = gpd.read_file(FIX / "town_units.geojson").iloc[:3]
    assert moved.params["where"].startswith("U002 → U001")
    assert units["population"].sum() == before["population"].sum()


def test_invalid_polygon_repaired_with_warning(tmp_path):
    bowtie = Polygon([(114.20, 30.50), (114.22, 30.52), (114.22, 30.50), (114.20, 30.52)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(
        {"id": ["ok", "bow"], "population": [10, 20]},
        geometry=[Polygon([(114.3, 30.5), (114.31, 30.5), (114.31, 30.51)]), bowtie],
        crs=4326,
    )
    gdf.to_file(tmp_path / "u.geojson", driver="GeoJSON")
    report = ValidationReport()
    units = read_units(tmp_path / "u.geojson", report=report)
    f = _one(report, "geometry_repaired")
    assert (f.severity, f.row) == ("warning", "bow")
    assert units.geometry.is_valid.all()
    assert units.geometry[1].geom_type in ("Polygon", "MultiPolygon") and units.geometry[1].area > 0


def test_no_eligible_lead_is_an_error_for_planning(tmp_path):
    text = GOOD_CSV.replace("三级甲等", "二级").replace("三级,", "二级,")
    city = load_city(FIX / "town_units.geojson", _write(tmp_path, text))
    f = _one(city.report, "no_eligible_lead")
    assert f.severity == "error" and f.file == "f.csv"
    assert not city.ok


def test_one_eligible_lead_is_a_warning(tmp_path):
    text = GOOD_CSV.replace("三级,", "二级,")
    city = load_city(FIX / "town_units.geojson", _write(tmp_path, text))
    f = _one(city.report, "few_eligible_leads")
    assert f.severity == "warning" and f.params["count"] == 1
    assert city.ok


def test_unreadable_and_unsupported_files(tmp_path):
    (tmp_path / "broken.gpkg").write_bytes(b"this is not a geopackage at all" * 10)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0 not really")
    with __import__("zipfile").ZipFile(tmp_path / "nothing.zip", "w") as zf:
        zf.writestr("readme.txt", "no data here")
    city = load_city(tmp_path / "broken.gpkg", tmp_path / "old.xls", tmp_path / "nothing.zip")
    got = {f.file: f.code for f in city.report.findings}
    assert got == {
        "broken.gpkg": "format_not_recognised",
        "old.xls": "unsupported_format",
        "nothing.zip": "zip_without_data",
    }
    assert not city.ok and len(city.units) == 0 and len(city.facilities) == 0


def test_load_city_never_raises_for_missing_files(tmp_path):
    city = load_city(tmp_path / "nope.geojson", tmp_path / "nope.csv", roads=tmp_path / "r.geojson")
    assert city.report.codes() == ["file_missing", "file_missing", "file_missing"]
    assert city.sources == {"units": "nope.geojson", "facilities": "nope.csv", "roads": "r.geojson"}
    assert summarise(city)["population"] == 0.0


def test_reader_without_report_raises_layer_error(tmp_path):
    with pytest.raises(LayerError, match=r"row 2, 4.*appears more than once"):
        read_facilities(_write(tmp_path, GOOD_CSV.replace("F3,", "F1,")))


def test_missing_ids_are_generated_with_a_warning(tmp_path):
    text = "\n".join(",".join(line.split(",")[1:]) for line in GOOD_CSV.splitlines())
    fac, report = _facilities(tmp_path, text)
    assert fac["id"].tolist() == ["F0001", "F0002", "F0003"]
    assert report.codes() == ["id_generated"]


def test_labels_name_the_uploaded_file(tmp_path):
    path = _write(tmp_path, GOOD_CSV.replace("F3,", "F1,"), "tmpab12.csv")
    city = load_city(FIX / "town_units.geojson", path, labels={"facilities": "我的医院.csv"})
    assert _one(city.report, "duplicate_id").file == "我的医院.csv"
    assert city.sources["facilities"] == "我的医院.csv"


# --- roads, districts ------------------------------------------------------------------------------
def test_roads_with_aliases_and_wrong_geometry(tmp_path):
    roads = gpd.GeoDataFrame(
        {"fclass": ["primary", "residential", "x"], "maxspeed": ["60", None, "30"]},
        geometry=[
            LineString([(114.2, 30.5), (114.3, 30.6)]),
            LineString([(114.3, 30.6), (114.31, 30.6)]),
            Point(114.3, 30.6),
        ],
        crs=4326,
    )
    roads.to_file(tmp_path / "roads.gpkg")
    report = ValidationReport()
    out = read_roads(tmp_path / "roads.gpkg", report=report)
    assert out["highway"].tolist() == ["primary", "residential"]
    assert out["speed_kmh"].tolist()[0] == 60.0 and np.isnan(out["speed_kmh"].tolist()[1])
    f = _one(report, "wrong_geometry")
    assert f.severity == "warning" and f.params["found"] == "Point"


def test_read_districts_keeps_each_polygon():
    districts = read_districts(FIX.parents[2] / "sample_data" / "wuhan" / "districts.geojson")
    assert len(districts) == 13
    assert "江岸区" in districts["name"].tolist()


# --- whole cities ----------------------------------------------------------------------------------
def test_town_summary_figures():
    city = load_city(
        FIX / "town_units.geojson", FIX / "town_facilities_gbk.csv", FIX / "town_boundary.geojson"
    )
    assert city.ok and city.report.findings == []
    s = summarise(city)
    units = gpd.read_file(FIX / "town_units.geojson")
    assert s["population"] == units["population"].sum()
    # Area checked against an equal-area projection, independent of the UTM pick.
    equal_area = gpd.read_file(FIX / "town_boundary.geojson").to_crs("EPSG:6933").area.sum() / 1e6
    assert s["area_km2"] == pytest.approx(equal_area, rel=0.005)
    assert s["by_level"] == {"tertiary": 3, "secondary": 3, "primary": 1, "unknown": 1}
    assert s["by_type"]["general"] == 3 and s["by_type"]["township_health_center"] == 1
    # F03 is provincial: a collaborator (G8) whose 1,500 beds the city's figure does not count.
    assert s["beds"] == 4220 - 1500 and s["beds_collaborators"] == 1500
    assert s["beds_per_1000"] == pytest.approx((4220 - 1500) / s["population"] * 1000)
    assert s["eligible_leads"] == 2  # F01 (municipal) and F02 (district); F03 is provincial
    assert s["units"] == 92 and s["facilities"] == 8 and s["by_source"] == {"user": 8}
    assert city.metric_crs == "EPSG:32650"
    assert city.boundary["name"].tolist() == ["示例城"]


def test_another_city_panjin_like_english_headers_gpkg():
    pj = FIX / "panjin"
    city = load_city(pj / "units.gpkg", pj / "facilities.gpkg", pj / "boundary.gpkg")
    assert city.report.findings == [], city.report.format()
    assert city.metric_crs == "EPSG:32651"
    assert city.name == "Panjin-like"
    raw = gpd.read_file(pj / "units.gpkg")
    assert summarise(city)["population"] == raw["pop"].sum()
    assert city.units["pop_65plus"].sum() == raw["age_65_plus"].sum()
    fac = city.facilities.set_index("id")
    assert fac.loc["PJ-H1", ["level", "type", "owner_level"]].tolist() == [
        "tertiary",
        "general",
        "municipal",
    ]
    assert fac.loc["PJ-C1", "type"] == "community_health_center"
    assert fac.loc["PJ-C2", ["type", "owner_level"]].tolist() == [
        "township_health_center",
        "county",
    ]
    assert fac.loc["PJ-H3", "level"] == "secondary" and fac.loc["PJ-H1", "beds"] == 1100
    assert summarise(city)["eligible_leads"] == 2


def test_units_without_boundary_make_the_outline():
    city = load_city(FIX / "town_units.geojson", FIX / "town_facilities.gpkg")
    assert city.ok
    outline = city.boundary.geometry.iloc[0]
    assert outline.area == pytest.approx(city.units.union_all().area, rel=1e-9)
    assert city.name == "town_units"


def test_sample_city_loads_clean():
    city = load_sample_city()
    assert city is load_sample_city()  # cached
    assert city.report.errors == [], city.report.format()
    s = summarise(city)
    assert s["population"] == pytest.approx(12_326_518, abs=0.5)
    assert s["units"] > 6000 and city.units["id"].is_unique
    assert s["real"] > 0 and s["illustrative"] > 0
    assert s["eligible_leads"] >= 2
    assert city.metric_crs == "EPSG:32650"
    assert city.districts is not None and len(city.districts) == 13
    assert set(city.facilities["level"]) <= set(layers.schema.LEVELS)
    assert set(city.facilities["type"]) <= set(layers.schema.TYPES)
    assert city.units.geometry.is_valid.all()
    assert city.sources["units"] == "population_units.geojson"
    # Figures that rest on generated data say so: every sample bed count is illustrative,
    # and three of the eight leads have an assumed level.
    assert s["beds_illustrative_share"] == pytest.approx(1.0)
    assert (s["eligible_leads"], s["eligible_leads_assumed"]) == (8, 3)
    text = layers.format_summary(s, "en")
    assert "100% of it illustrative" in text and "3 with an assumed level" in text


def test_gbk_shapefile_without_cpg(tmp_path):
    import zipfile

    units = gpd.read_file(FIX / "town_units.geojson").iloc[:5]
    zh = units.rename(columns={"id": "编号", "name": "街道", "population": "常住人口"}).drop(
        columns="pop_65plus"
    )
    zh.to_file(tmp_path / "u.shp", encoding="GBK")
    assert (tmp_path / "u.cpg").exists()
    (tmp_path / "u.cpg").unlink()
    with zipfile.ZipFile(tmp_path / "u.zip", "w") as zf:
        for part in ("u.shp", "u.shx", "u.dbf", "u.prj"):
            zf.write(tmp_path / part, part)
    for source in (tmp_path / "u.zip", tmp_path / "u.shp"):
        report = ValidationReport()
        out = read_units(source, report=report)
        assert report.findings == [], report.format()
        assert out["name"].tolist()[:2] == ["单元1", "单元2"]
        assert out["population"].tolist() == units["population"].tolist()


def test_dataframes_in_memory_are_accepted():
    table = pd.read_csv(FIX / "town_facilities_bom.csv", encoding="utf-8-sig")
    units = gpd.read_file(FIX / "town_units.geojson")
    city = load_city(units, table, labels={"facilities": "upload.csv"})
    assert city.ok and len(city.facilities) == 8
    assert city.sources == {"units": "units", "facilities": "upload.csv"}


def test_parent_id_must_name_a_facility_in_the_file(tmp_path):
    text = (
        GOOD_CSV.replace("id,name,", "id,所属机构,name,")
        .replace("F1,", "F1,,")
        .replace("F2,", "F2,F1,")
    )
    text = text.replace("F3,", "F3,F9,")
    fac, report = _facilities(tmp_path, text)
    f = _one(report, "unknown_parent")
    assert (f.severity, f.row, f.params["value"]) == ("warning", "4", "F9")
    assert pd.isna(fac.loc[0, "parent_id"]) and fac.loc[1, "parent_id"] == "F1"


def test_every_finding_code_has_text_in_both_languages():
    import re

    from grid_planning.base.i18n import catalogue

    source = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (layers, readers, rows, units))
    codes = set(re.findall(r'(?:error|warning)\)?\(\s*"([a-z_]+)"', source))
    assert {"duplicate_id", "swapped_lonlat", "no_eligible_lead", "wrong_geometry"} <= codes
    for code in codes:
        for kind in ("finding", "advice"):
            entry = catalogue()[f"layers.{kind}.{code}"]
            assert entry["zh"] and entry["en"], code


def test_rendered_findings_have_no_unfilled_placeholders(tmp_path):
    text = (
        GOOD_CSV.replace("F3,丙中心", "F1,丙中心")
        .replace(",500,", ",-5,")
        .replace("三级甲等", "金牌")
        .replace("114.25,30.55", "30.55,114.25")
    )
    text += "F4,丁,二级,综合医院,区属,x,,30.5\nF5,戊,二级,综合医院,区属,1,114.9,30.5\n"
    city = load_city(
        FIX / "town_units_noprj_shp.zip", _write(tmp_path, text), FIX / "town_boundary.geojson"
    )
    assert len(set(city.report.codes())) >= 7
    for lang in ("zh", "en"):
        for row in city.report.to_records(lang):
            assert "{" not in row["message"] + row["advice"], row


# ---- never lose a resident (issue 9) ------------------------------------------------------------------
def _units_file(tmp_path, features) -> Path:
    import json

    path = tmp_path / "u.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _feature(uid, pop, geometry):
    return {"type": "Feature", "properties": {"id": uid, "population": pop}, "geometry": geometry}


SQUARE = {"type": "Polygon", "coordinates": [[[114.0, 30.0], [114.02, 30.0], [114.02, 30.02], [114.0, 30.02], [114.0, 30.0]]]}
FAR = {"type": "Polygon", "coordinates": [[[115.0, 31.0], [115.01, 31.0], [115.02, 31.0], [115.0, 31.0]]]}  # zero area
INSIDE = {"type": "Polygon", "coordinates": [[[114.005, 30.005], [114.01, 30.01], [114.005, 30.005]]]}  # 3 points


def test_units_with_unusable_geometry_and_residents_are_an_error_naming_rows_and_residents(tmp_path):
    path = _units_file(tmp_path, [
        _feature("A", 1000, SQUARE),
        _feature("lost", 126_598, FAR),
        _feature("none", 12, None),
        _feature("empty", 0, {"type": "Polygon", "coordinates": []}),
    ])
    report = ValidationReport()
    units = read_units(path, report=report)
    f = _one(report, "unit_unusable")
    assert f.severity == "error" and f.row == "lost, none"
    assert f.params["residents"] == "126,610" and f.params["count"] == 2
    assert _one(report, "unit_unusable_empty").row == "empty"  # nobody lived there: a warning
    assert units["id"].tolist() == ["A"]
    assert "126,610" in f.message("en") and "126,610" in f.message("zh")


def test_a_degenerate_unit_inside_another_moves_its_residents_there_and_says_so(tmp_path):
    path = _units_file(tmp_path, [_feature("A", 1000, SQUARE), _feature("sliver", 345, INSIDE)])
    report = ValidationReport()
    units = read_units(path, report=report)
    assert report.ok
    f = _one(report, "unit_merged")
    assert f.row == "sliver" and f.params["residents"] == "345"
    assert f.params["where"] == "sliver → A (345)"
    assert units.set_index("id").loc["A", "population"] == 1345  # nobody lost


def test_a_repair_that_changes_an_area_names_the_unit_and_both_areas(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[114.0, 30.0], [114.02, 30.02], [114.02, 30.0], [114.0, 30.02], [114.0, 30.0]]]}
    path = _units_file(tmp_path, [_feature("bow", 10, bowtie), _feature("B", 5, SQUARE)])
    report = ValidationReport()
    units = read_units(path, report=report)
    f = _one(report, "geometry_area_changed")
    assert f.row == "bow" and f.params["detail"].startswith("bow: 0.000 → 2.")
    assert units.set_index("id").loc["bow"].geometry.area > 0


def test_islands_are_listed_by_validation_and_shown_as_linked_in_the_checks(tmp_path):
    import json

    from grid_planning.assess.checks import check_policy
    from grid_planning.domain.request import PlanRequest
    from grid_planning.planning.planner import plan_city

    island = {"type": "Polygon", "coordinates": [[[114.05, 30.0], [114.07, 30.0], [114.07, 30.02], [114.05, 30.02], [114.05, 30.0]]]}
    east = {"type": "Polygon", "coordinates": [[[114.02, 30.0], [114.04, 30.0], [114.04, 30.02], [114.02, 30.02], [114.02, 30.0]]]}
    units = _units_file(tmp_path, [_feature("A", 1000, SQUARE), _feature("B", 900, east), _feature("I", 300, island)])
    fac = tmp_path / "f.csv"
    fac.write_text(
        "id,name,level,type,owner_level,lon,lat\n"
        "H1,H1,tertiary,general,municipal,114.01,30.01\n"
        "H2,H2,tertiary,general,municipal,114.03,30.01\n"
        "S1,S1,secondary,general,district,114.011,30.011\n"
        "S2,S2,secondary,general,district,114.031,30.011\n",
        encoding="utf-8",
    )
    city = load_city(units, fac)
    link = _one(city.report, "island_link")
    gap_km = haversine_m(114.04, 30.01, 114.05, 30.01) / 1000  # the 0.01° of water between them
    assert link.row == "B, I" and abs(float(link.params["distance_km"]) - gap_km) < 0.01
    plan = plan_city(city, PlanRequest(k=2)).plan
    text = [c.message("en") for c in check_policy(city, plan) if c.code == "contiguity_islands"]
    assert text and "with 1 linked island" in text[0]
    assert json.dumps(city.index.links[["unit_a", "unit_b"]].values.tolist()) == '[["B", "I"]]'


def test_a_parent_id_of_none_or_nan_text_names_no_parent(tmp_path):
    """Spreadsheets write an empty cell as "None" or "nan": no parent, no "unknown parent" warning,
    and the hospital may lead (the same reading as rules.names_parent)."""
    from grid_planning.domain import rules

    text = (
        GOOD_CSV.replace("id,name,", "id,parent_id,name,")
        .replace("F1,", "F1,None,")
        .replace("F2,", "F2, nan ,")
        .replace("F3,", "F3,F1,")
    )
    fac, report = _facilities(tmp_path, text)
    assert not [f for f in report.findings if f.code == "unknown_parent"]
    assert pd.isna(fac.loc[0, "parent_id"]) and pd.isna(fac.loc[1, "parent_id"])
    assert fac.loc[2, "parent_id"] == "F1"
    assert rules.g4_eligible(fac).tolist()[:2] == [True, True]
