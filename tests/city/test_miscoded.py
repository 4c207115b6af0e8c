"""Validation names mis-coded facilities row by row (issue 15)."""

from __future__ import annotations

import geopandas as gpd
import shapely

from grid_planning.city.layers import load_city

CRS = "EPSG:32650"


def _city(rows):
    x0, y0, s = 520_000.0, 3_370_000.0, 2000.0
    units = gpd.GeoDataFrame(
        {"id": ["A", "B"], "population": [10_000.0, 12_000.0]},
        geometry=[shapely.box(x0, y0, x0 + s, y0 + s), shapely.box(x0 + s, y0, x0 + 2 * s, y0 + s)],
        crs=CRS,
    ).to_crs(4326)
    fac = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "level": [r[2] for r in rows],
            "type": [r[3] for r in rows],
            "owner_level": "district",
            "beds": [r[4] for r in rows],
        },
        geometry=[shapely.Point(x0 + 500 + 1000 * i, y0 + 1000) for i in range(len(rows))],
        crs=CRS,
    ).to_crs(4326)
    return load_city(units, fac)


def test_a_community_centre_coded_as_tertiary_general_is_named():
    layers = _city([
        ("H1", "市第一人民医院", "tertiary", "general", 1200.0),
        ("H2", "振兴街道社区卫生服务中心", "tertiary", "general", 30.0),
        ("H3", "红旗街道社区卫生服务中心", "primary", "community_health_center", 0.0),
    ])
    found = {(f.code, f.row) for f in layers.report.warnings}
    assert ("miscoded_primary_care", "H2") in found
    assert ("beds_contradict_level", "H2") in found
    assert not any(row in ("H1", "H3") for code, row in found if code in (
        "miscoded_primary_care", "beds_contradict_level"))
    texts = [f.message("zh") for f in layers.report.warnings if f.row == "H2"]
    assert any("振兴街道社区卫生服务中心" in t for t in texts)


def test_a_primary_facility_with_a_hospital_s_beds_is_named():
    layers = _city([
        ("H1", "市第一人民医院", "tertiary", "general", 1200.0),
        ("P1", "东城诊所", "primary", "clinic", 800.0),
    ])
    assert ("beds_contradict_level", "P1") in {(f.code, f.row) for f in layers.report.warnings}
