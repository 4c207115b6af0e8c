"""Map builders: compact display geometry, classification, escaping, provenance styling, GCJ-02."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from grid_planning.base.textsafe import script_json
from grid_planning.city.provenance import load_sample_city
from grid_planning.geo.coords import wgs84_to_gcj02
from grid_planning.maps import mapview, markers, overview
from grid_planning.maps.mapelements import unpack_geojson


def embedded_layers(html: str) -> list[dict]:
    """The GeoJSON of every layer a rendered map carries (packed in the page, unpacked here)."""
    return [unpack_geojson(json.loads(m)) for m in re.findall(r"\.addData\(gpGeo\((.*)\)\);$", html, re.M)]


@pytest.fixture(scope="module")
def city():
    return load_sample_city()


def _grid(n: int = 4, size: float = 0.01) -> gpd.GeoDataFrame:
    cells = [
        box(114 + i * size, 30 + j * size, 114 + (i + 1) * size, 30 + (j + 1) * size)
        for i in range(n)
        for j in range(n)
    ]
    return gpd.GeoDataFrame(
        {
            "id": [f"u{k}" for k in range(n * n)],
            "name": [f"<b>单元{k}</b>" for k in range(n * n)],
            "population": np.arange(n * n, dtype=float) * 100,
            "extra": "drop me",
        },
        geometry=cells,
        crs=4326,
    )


def test_display_geojson_rounds_keeps_only_requested_properties():
    data = mapview.display_geojson(_grid(), ["id"], tolerance_m=30, precision=5)
    assert len(data["features"]) == 16
    assert set(data["features"][0]["properties"]) == {"id"}
    coords = np.array(data["features"][0]["geometry"]["coordinates"][0])
    assert np.allclose(coords, np.round(coords, 5))


def test_simplification_shrinks_a_detailed_polygon_but_keeps_its_shape():
    circle = gpd.GeoDataFrame(
        {"id": ["c"]}, geometry=[Point(114.3, 30.6).buffer(0.05, 256)], crs=4326
    )
    raw = mapview.display_geojson(circle, tolerance_m=0, precision=None)
    simple = mapview.display_geojson(circle, tolerance_m=50, precision=5)
    n_raw = len(raw["features"][0]["geometry"]["coordinates"][0])
    n_simple = len(simple["features"][0]["geometry"]["coordinates"][0])
    assert n_simple < n_raw / 3
    from shapely.geometry import shape

    a, b = shape(raw["features"][0]["geometry"]), shape(simple["features"][0]["geometry"])
    assert a.symmetric_difference(b).area / a.area < 0.01


def test_sample_city_units_payload_is_compact_and_classified(city):
    data, breaks = mapview.units_geojson(city.units, metric_crs=city.metric_crs)
    assert len(data["features"]) == len(city.units)
    assert breaks == sorted(breaks) and 3 <= len(breaks) <= 5
    ks = {f["properties"]["k"] for f in data["features"]}
    assert ks <= set(range(len(breaks) + 1)) and len(ks) == len(breaks) + 1
    assert set(data["features"][0]["properties"]) <= {"id", "v", "p", "k", "n"}
    total = sum(f["properties"]["p"] for f in data["features"])
    assert total == pytest.approx(12_326_518, rel=1e-3)


def test_classify_and_breaks():
    assert mapview.classify([5, 50, 500, np.nan], [10, 100]).tolist() == [0, 1, 2, -1]
    br = mapview.nice_breaks(np.arange(1, 1001), 4)
    assert br == [250.0, 500.0, 750.0]


def test_units_geojson_is_cached_by_fingerprint(city):
    a = mapview.units_geojson_for(city)
    b = mapview.units_geojson_for(city)
    assert a is b


def test_facility_text_is_plain_lines_and_provenance_is_told():
    row = {
        "id": "f1",
        "name": "<script>alert(1)</script>&医院",
        "level": "secondary",
        "type": "general",
        "owner_level": "district",
        "beds": 120.0,
        "source": "illustrative",
        "level_source": "assumed",
    }
    tip = markers.facility_lines(row, "zh")
    # The name is text (escaped by the browser's gpLines), not markup made in Python.
    assert tip[0] == ["<script>alert(1)</script>&医院", "b"]
    assert ["示意数据（生成，非真实机构）", "n"] in tip and ["假定等级", "n"] in tip
    details = markers.facility_details(row, "en")
    assert "Beds: 120" in details and "ID: f1" in details
    real = markers.facility_lines({**row, "source": "real", "level_source": "data"}, "zh")
    assert "真实数据" in real and not any("示意" in str(line) for line in real)


def test_marker_styles_differ_for_illustrative():
    solid = markers.marker_svg("general", "tertiary", False)
    hollow = markers.marker_svg("general", "tertiary", True)
    assert 'fill="#1f4e9c"' in solid and "dasharray" not in solid
    assert 'fill="#ffffff"' in hollow and "stroke-dasharray" in hollow


def test_overview_map_contents(city):
    html = mapview.map_html(overview.city_overview_map(city, lang="zh"))
    # Text reaches the page as script_json: UTF-8, with "/" written "\/".
    assert script_json("人口密度（人/平方公里）") in html  # choropleth legend
    assert "示意数据" in html  # facility legend tells illustrative apart
    for name in city.districts["name"]:  # district labels
        assert script_json(name)[1:-1] in html
    assert "preferCanvas" in html or "prefer_canvas" in html.lower()
    assert "openstreetmap" not in html and "tianditu" not in html  # no tiles by default
    en = mapview.map_html(overview.city_overview_map(city, lang="en"))
    assert script_json("Population density (people/km²)") in en


def test_amap_tiles_shift_overlays_to_gcj02(city):
    plain = mapview.base_map(city.boundary.total_bounds)
    amap = mapview.base_map(city.boundary.total_bounds, tiles="amap")
    assert amap.gcj02 and not plain.gcj02
    fac = city.facilities.iloc[:1]
    markers.add_facilities(amap, fac, legend=False)
    html = mapview.map_html(amap)
    lon, lat = wgs84_to_gcj02(fac.geometry.x.iloc[0], fac.geometry.y.iloc[0])
    points = [f["geometry"]["coordinates"] for layer in embedded_layers(html) for f in layer["features"]
              if f["geometry"]["type"] == "Point"]
    assert points == [[pytest.approx(float(lon), abs=1e-6), pytest.approx(float(lat), abs=1e-6)]]
    assert "autonavi.com" in html
    # a real shift of a few hundred metres, not a no-op
    assert abs(float(lon) - fac.geometry.x.iloc[0]) > 1e-3


def test_tianditu_needs_a_well_formed_key(city):
    with pytest.raises(ValueError):
        mapview.base_map(city.boundary.total_bounds, tiles="tianditu", tianditu_key="x';alert(1)//")
    m = mapview.base_map(
        city.boundary.total_bounds, tiles="tianditu", tianditu_key="0123456789abcdef"
    )
    html = mapview.map_html(m)
    assert "tk=0123456789abcdef" in html and "cva_w" in html
    with pytest.raises(ValueError):
        mapview.base_map(city.boundary.total_bounds, tiles="google")


def test_no_third_party_mark_in_the_map_corner():
    """Leaflet's attribution prefix (its flag and link) showed in every dashboard map's corner;
    the attribution names data sources only."""
    m = mapview.base_map((114.0, 30.0, 115.0, 31.0), tiles="none")
    html = mapview.map_html(m)
    assert "attributionControl.setPrefix(false)" in html
