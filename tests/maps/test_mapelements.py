"""Compact map data: ``pack_geojson`` and its decoders (``unpack_geojson`` here, ``gpGeo`` in a real
browser) give back the GeoJSON they were given: every coordinate at the precision sent, every
property value (hostile text included) unchanged."""

from __future__ import annotations

import json

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM
from hostile import HOSTILE

from grid_planning.base.textsafe import script_json
from grid_planning.city.provenance import load_sample_city
from grid_planning.maps import mapview
from grid_planning.maps.mapelements import HELPERS_JS, pack_geojson, unpack_geojson


def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


MIXED = {
    "type": "FeatureCollection",
    "features": [
        _feature({"type": "Point", "coordinates": [114.123456, 30.654321]}, n=HOSTILE["script_tag"], k=1),
        _feature({"type": "Polygon", "coordinates": [
            [[114.0, 30.0], [114.01, 30.0], [114.01, 30.01], [114.0, 30.01], [114.0, 30.0]],
            [[114.002, 30.002], [114.003, 30.002], [114.003, 30.003], [114.002, 30.002]],
        ]}, n=HOSTILE["jinja_rce"], k=None),
        _feature({"type": "MultiPolygon", "coordinates": [
            [[[113.5, 29.5], [113.6, 29.5], [113.6, 29.6], [113.5, 29.5]]],
            [[[-0.000001, -10.5], [0.5, -10.5], [0.5, -10.0], [-0.000001, -10.5]]],
        ]}, n="", k=3),
        _feature({"type": "LineString", "coordinates": [[1.5, 2.5], [1.500001, 2.499999]]}, n="x", k=4),
        _feature({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]},
                 n="y", k=5),
        _feature({"type": "MultiPoint", "coordinates": [[10, 10], [11, 12]]}, n="z", k=6),
        _feature({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [5, 5]},
            {"type": "LineString", "coordinates": [[5, 5], [6, 6]]},
        ]}, n="gc", k=7),
        _feature(None, n="no geometry", k=8),
    ],
}


def _close(a, b, tol=1e-9):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k], tol) for k in a)
    if isinstance(a, float | int) and not isinstance(a, bool) and a is not None:
        return isinstance(b, float | int) and abs(a - b) <= tol
    return a == b


def test_pack_round_trips_every_geometry_type_and_property():
    packed = pack_geojson(MIXED, precision=6)
    assert packed["n"] == len(MIXED["features"])
    assert isinstance(packed["p"], dict)  # same property names everywhere: columns
    assert packed["p"]["n"][0] == HOSTILE["script_tag"]
    assert _close(unpack_geojson(json.loads(script_json(packed))), MIXED)


def test_pack_rounds_to_the_precision_sent():
    data = {"type": "FeatureCollection",
            "features": [_feature({"type": "Point", "coordinates": [114.1234567, 30.7654321]})]}
    out = unpack_geojson(pack_geojson(data, precision=5))
    assert out["features"][0]["geometry"]["coordinates"] == [pytest.approx(114.12346, abs=1e-9),
                                                            pytest.approx(30.76543, abs=1e-9)]


def test_features_with_different_property_names_keep_their_own():
    data = {"type": "FeatureCollection", "features": [
        _feature({"type": "Point", "coordinates": [1, 1]}, a=1),
        _feature({"type": "Point", "coordinates": [2, 2]}, b="two"),
    ]}
    packed = pack_geojson(data)
    assert isinstance(packed["p"], list)
    assert unpack_geojson(packed) == data
    empty = {"type": "FeatureCollection", "features": []}
    assert unpack_geojson(pack_geojson(empty)) == empty


def test_sample_city_units_shrink_to_well_under_half():
    layers = load_sample_city()
    data, _ = mapview.units_geojson_for(layers)
    plain = script_json(data)
    packed = script_json(pack_geojson(data, precision=5))
    assert len(packed) < 0.45 * len(plain)
    back = unpack_geojson(json.loads(packed))
    assert _close(back, json.loads(plain), tol=1e-9)


@pytest.mark.browser
@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_gpgeo_in_chromium_gives_the_same_collection(chromium):
    """The browser's decoder (the one the maps use) agrees with unpack_geojson."""
    page = chromium.new_page()
    try:
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=HELPERS_JS)
        for precision in (5, 6):
            packed = script_json(pack_geojson(MIXED, precision=precision))
            got = page.evaluate(f"() => gpGeo({packed})")
            assert _close(got, unpack_geojson(json.loads(packed)), tol=1e-9)
            # No markup made from the data: the hostile name is still the plain string.
            assert got["features"][0]["properties"]["n"] == HOSTILE["script_tag"]
    finally:
        page.close()
