"""Coordinate conversions against published reference values and the shared Wuhan data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geo_reference import haversine_m
from shapely.geometry import LineString, Point, Polygon

from grid_planning.geo import coords

FIXTURES = Path(__file__).parents[1] / "fixtures" / "layers"



# Reference values published with the widely used coordtransform library (wandergis/coordtransform,
# test/app.js), for the input (116.404, 39.915).
def test_forward_formulas_match_published_reference():
    assert coords.wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-9
    )
    assert coords.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-9
    )
    assert coords.bd09_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=1e-9
    )


def test_beijing_railway_station_gcj_bd_pair():
    # GCJ-02 (116.42703, 39.90245) <-> BD-09 (116.43351, 39.90851), published to 5 decimals.
    bd = coords.gcj02_to_bd09(116.42703, 39.90245)
    assert bd == pytest.approx((116.43351, 39.90851), abs=1e-5)
    gcj = coords.bd09_to_gcj02(116.43351, 39.90851)
    assert gcj == pytest.approx((116.42703, 39.90245), abs=1e-5)


def test_gcj02_to_wgs84_matches_weibo_reference_columns():
    # Rows copied from /work/shared/data/wuhan/wuhan_hospital_pois_weibo.csv (GCJ-02 and WGS84 columns).
    ref = pd.read_csv(FIXTURES / "weibo_pois_gcj02.csv")
    lon, lat = coords.gcj02_to_wgs84(ref["lon"].to_numpy(), ref["lat"].to_numpy())
    err = haversine_m(lon, lat, ref["ref_wgs84_lon"].to_numpy(), ref["ref_wgs84_lat"].to_numpy())
    assert err.max() < 0.5  # the reference is rounded to 1e-6 deg (~0.1 m)
    # ... while the raw GCJ-02 position is hundreds of metres off, so the test can tell.
    raw = haversine_m(ref["lon"], ref["lat"], ref["ref_wgs84_lon"], ref["ref_wgs84_lat"])
    assert raw.min() > 300


@pytest.mark.parametrize(
    ("fwd", "inv"),
    [
        (coords.wgs84_to_gcj02, coords.gcj02_to_wgs84),
        (coords.wgs84_to_bd09, coords.bd09_to_wgs84),
    ],
)
def test_round_trip_below_one_metre_over_china(fwd, inv):
    rng = np.random.default_rng(7)
    lon = rng.uniform(75, 134, 2000)
    lat = rng.uniform(18, 53, 2000)
    back_lon, back_lat = inv(*fwd(lon, lat))
    err = haversine_m(lon, lat, back_lon, back_lat)
    assert err.max() < 1.0
    shifted = haversine_m(lon, lat, *fwd(lon, lat))
    assert np.median(shifted) > 100  # the shift itself is real, not a no-op


def test_outside_china_unchanged_and_shapes_kept():
    lon = np.array([[2.35, 114.3], [-74.0, 151.2]])
    lat = np.array([[48.85, 30.6], [40.7, -33.9]])
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    assert glon.shape == (2, 2)
    assert glon[0, 0] == 2.35 and glat[1, 0] == 40.7 and glon[1, 1] == 151.2
    assert glon[0, 1] != 114.3
    wlon, wlat = coords.gcj02_to_wgs84(2.35, 48.85)
    assert (wlon, wlat) == (2.35, 48.85)


def test_convert_geometry_all_types():
    gdf = gpd.GeoDataFrame(
        {"k": [1, 2, 3]},
        geometry=[
            Point(114.3, 30.6),
            LineString([(114.2, 30.5), (114.4, 30.7)]),
            Polygon([(114.2, 30.5), (114.3, 30.5), (114.3, 30.6), (114.2, 30.5)]),
        ],
        crs="EPSG:4326",
    )
    gcj = coords.convert_geometry(gdf, from_="wgs84", to="gcj02")
    back = coords.convert_geometry(gcj, from_="gcj02")
    assert list(back.geom_type) == ["Point", "LineString", "Polygon"]
    assert back["k"].tolist() == [1, 2, 3]
    for a, b, c in zip(gdf.geometry, gcj.geometry, back.geometry, strict=True):
        assert a.hausdorff_distance(b) > 0.003  # ~ 500 m shift
        assert a.hausdorff_distance(c) < 1e-7
    assert str(back.crs) == "EPSG:4326"


def test_pick_metric_crs():
    wuhan = gpd.GeoDataFrame(geometry=[Point(114.3, 30.6)], crs="EPSG:4326")
    assert coords.pick_metric_crs(wuhan) == "EPSG:32650"
    panjin = gpd.GeoDataFrame(geometry=[Point(122.07, 41.12)], crs="EPSG:4326")
    assert coords.pick_metric_crs(panjin) == "EPSG:32651"
    sydney = gpd.GeoDataFrame(geometry=[Point(151.2, -33.9)], crs="EPSG:4326")
    assert coords.pick_metric_crs(sydney) == "EPSG:32756"
    # Projected input is brought back to degrees first.
    assert coords.pick_metric_crs(wuhan.to_crs("EPSG:3857")) == "EPSG:32650"


def test_normalise_coord_system():
    assert coords.normalise_coord_system("GCJ-02") == "gcj02"
    assert coords.normalise_coord_system("BD09") == "bd09"
    assert coords.normalise_coord_system(None) == "wgs84"
    with pytest.raises(ValueError, match="unknown coordinate system"):
        coords.normalise_coord_system("utm")
