"""Tests of the bundled Wuhan sample city (sample_data/wuhan/*) and of its build script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from grid_planning.domain import rules, schema

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "sample_data" / "wuhan"
SOURCE = REPO.parent / "shared" / "data" / "wuhan"
CITY_TOTAL = 12_326_518
METRIC = "EPSG:32650"
OUTPUT_FILES = (
    "city_boundary.geojson",
    "districts.geojson",
    "population_units.geojson",
    "facilities.csv",
    "roads.geojson",
    "water.geojson",
    "river_centrelines.geojson",
    "river_crossings.csv",
    "build_report.md",
)


def _load_build():
    spec = importlib.util.spec_from_file_location(
        "sample_data_build", REPO / "sample_data/build.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


build = _load_build()


@pytest.fixture(scope="module")
def city() -> gpd.GeoDataFrame:
    return gpd.read_file(OUT / "city_boundary.geojson")


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return gpd.read_file(OUT / "districts.geojson")


@pytest.fixture(scope="module")
def units() -> gpd.GeoDataFrame:
    return gpd.read_file(OUT / "population_units.geojson")


@pytest.fixture(scope="module")
def facilities() -> pd.DataFrame:
    return pd.read_csv(OUT / "facilities.csv", dtype={"id": str}, keep_default_na=False)


# --- boundary, districts, population ---------------------------------------------------------
def test_outline_and_districts_are_wgs84_and_consistent(city, districts):
    assert city.crs.to_epsg() == 4326 and districts.crs.to_epsg() == 4326
    assert list(city.columns) == ["id", "name", "geometry"]
    assert city.loc[0, "name"] == "武汉市"
    assert list(districts.columns) == ["id", "name", "population_2020", "geometry"]
    assert len(districts) == 13 and districts["id"].is_unique
    assert set(districts["name"]) == set(build.DISTRICT_NAMES)
    c = city.to_crs(METRIC).geometry.iloc[0]
    d = districts.to_crs(METRIC).union_all()
    assert c.symmetric_difference(d).area / c.area < 1e-4
    assert 8_500e6 < c.area < 8_700e6  # Wuhan is ~8,570 km²


def test_city_total_and_district_totals(units, districts):
    assert abs(units["population"].sum() - CITY_TOTAL) <= 1
    assert int(districts["population_2020"].sum()) == CITY_TOTAL
    per = units.groupby("district")["population"].sum()
    for d in districts.itertuples():
        assert abs(per[d.name] - d.population_2020) <= 1, d.name


def test_census_folding_in_committed_districts(districts):
    pop = dict(zip(districts["name"], districts["population_2020"], strict=True))
    census = (
        pd.read_csv(SOURCE / "wuhan_population_census2020_by_district.csv")
        if SOURCE.is_dir()
        else None
    )
    # Units matching the census 1:1 (东西湖 = 东西湖区(临空港经开区); 青山 includes 武汉化工).
    expected_direct = {
        "江岸区": 965_260,
        "江汉区": 647_932,
        "硚口区": 666_661,
        "青山区": 463_295,
        "东西湖区": 845_782,
        "黄陂区": 1_151_644,
        "新洲区": 860_377,
    }
    for name, value in expected_direct.items():
        assert pop[name] == value, name
    assert pop["汉南区"] == 145_103
    # 武汉经开 minus 汉南 (336,235) goes to 蔡甸 + 汉阳.
    assert pop["蔡甸区"] + pop["汉阳区"] == 554_383 + 837_263 + 336_235
    assert pop["蔡甸区"] > 554_383 and pop["汉阳区"] > 837_263
    # 东湖高新 (935,146) and 东湖风景 (121,161) go to 洪山 / 江夏 / 武昌.
    assert (
        pop["洪山区"] + pop["江夏区"] + pop["武昌区"]
        == 1_728_811 + 974_715 + 1_092_750 + 935_146 + 121_161
    )
    if census is not None:
        top = census[census["unit_type"].isin(["district", "functional zone"])]
        assert int(top["population_2020"].sum()) == CITY_TOTAL


def test_units_clipped_to_outline_without_overlap(units, city):
    assert list(units.columns) == [
        "id",
        "name",
        "district",
        "population",
        "pop_20plus",
        "pop_65plus",
        "geometry",
    ]
    assert units["id"].is_unique and units.geometry.is_valid.all()
    assert set(units.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    um = units.to_crs(METRIC)
    cm = city.to_crs(METRIC).geometry.iloc[0]
    outside = um.difference(cm).area.sum()
    assert outside < 1e-5 * um.area.sum()  # snapping to 1e-6° only
    assert um.area.sum() - um.union_all().area < 1.0  # m²: cells do not overlap
    assert um.area.max() < 1.2e6 and um.area.min() >= build.SLIVER_M2 * 0.99
    # 0.01° cells: every unit lies in the square of its id's cell centre grid.
    b = units.bounds
    assert ((b["maxx"] - b["minx"]) <= 0.01 + 1e-9).all() and (
        (b["maxy"] - b["miny"]) <= 0.01 + 1e-9
    ).all()


def test_units_population_columns(units):
    assert (units["population"] >= 0).all()
    assert (units["pop_65plus"] <= units["pop_20plus"] + 0.1).all()
    assert units["name"].str.contains(" 网格单元 ").all()
    assert (units["name"] == units["district"] + " 网格单元 " + units["id"]).all()
    # The population is the district's WorldPop 20+ scaled by one factor per district.
    big = units[units["pop_20plus"] > 500]
    ratio = big["population"] / big["pop_20plus"]
    spread = ratio.groupby(big["district"]).agg(lambda r: r.max() / r.min())
    assert (spread < 1.01).all()
    # All ages exceed adults: every district's factor is above 1 except where WorldPop
    # overestimates adults (青山, 东西湖, observed), never wildly.
    factor = (
        units.groupby("district")["population"].sum()
        / units.groupby("district")["pop_20plus"].sum()
    )
    assert factor.between(0.8, 1.8).all()


# --- facilities --------------------------------------------------------------------------------
def test_facility_columns_and_vocabularies(facilities):
    assert list(facilities.columns) == build.FACILITY_COLUMNS
    assert facilities["id"].is_unique
    assert set(facilities["level"]) <= set(schema.LEVELS)
    assert set(facilities["type"]) <= set(schema.TYPES)
    assert set(facilities["owner_level"]) <= set(schema.OWNER_LEVELS)
    assert set(facilities["source"]) == {"real", "illustrative"}
    assert set(facilities["level_source"]) <= {"data", "assumed"}
    assert (facilities["capacity_source"] == "illustrative").all()
    assert (facilities["beds"] >= 0).all() and (facilities["outpatient_slots"] >= 0).all()


def test_illustrative_rows_are_unmistakable(facilities):
    ill = facilities[facilities["source"].eq("illustrative")]
    real = facilities[facilities["source"].eq("real")]
    assert len(ill) > 200
    assert ill["name"].str.startswith("【示意】").all()
    assert ill["id"].str.startswith("ILL-").all()
    assert not real["name"].str.contains("示意").any()
    assert real["id"].str.match(r"^(3A-\d{4}|WB-\d+)$").all()
    assert (
        facilities.loc[facilities["name"].str.startswith("【示意】"), "source"]
        .eq("illustrative")
        .all()
    )


def test_eligible_leads_with_assumed_ones_flagged(facilities):
    leads = facilities[rules.g4_eligible(facilities)]
    assert len(leads) >= 4
    assert leads["source"].eq("real").all()
    assumed = leads[leads["level_source"].eq("assumed")]
    assert set(assumed["id"]) == {"WB-1001", "WB-1154", "WB-1261"}
    assert assumed["note"].str.contains("assumed").all()
    assert set(assumed["owner_level"]) == {"district"}
    assert {"3A-0896", "3A-0898", "3A-0905", "3A-0906"} <= set(leads["id"])
    # Provincial, national, military and enterprise hospitals are never leads.
    assert not leads["owner_level"].isin(["provincial", "national", "other"]).any()


def test_no_duplicate_real_hospitals(facilities):
    real = facilities[facilities["source"].eq("real")]
    assert real["name"].map(lambda n: build.normalise_name(n)).is_unique
    keys: dict[str, str] = {}
    for r in real.itertuples():
        for k in build.name_keys(r.name):
            assert k not in keys, f"{r.id} {r.name} duplicates {keys[k]}"
            keys[k] = r.id

    def count(pattern: str) -> int:
        return int(real["name"].str.contains(pattern, regex=True).sum())

    assert count(r"^武汉市中医医?院") == 1
    assert count(r"^武汉市第?三医院") == 1
    assert count(r"口腔") == 1
    assert count(r"广州军区武汉总医院") == 1
    assert count(r"四五七") == 1
    assert count(r"^湖北省中医院（") == 1 and count(r"光谷院区") == 1
    assert count(r"中山医院") == 1
    assert count(r"协和医院外科楼|协和医院门诊部") == 0
    # 47 listed rows minus 10 merged and 1 excluded, plus unmatched POIs.
    # One institution per pair known under two names (curated merges on address/geocode evidence).
    assert count(r"^武汉市第一医院|^武汉市中西医结合医院") == 1
    assert count(r"^武汉市中心医院|^武汉市第二医院") == 1
    assert real["id"].str.startswith("3A-").sum() == 34


def test_real_type_and_owner_rules(facilities):
    real = facilities[facilities["source"].eq("real")].set_index("id")
    assert (
        real.loc["3A-0906", "type"] == "tcm" and real.loc["3A-0906", "owner_level"] == "municipal"
    )
    assert real.loc["3A-0852", "type"] == "maternal_child"
    assert real.loc["3A-0852", "owner_level"] == "provincial"
    assert real.loc["3A-0899", "type"] == "specialty"
    assert real.loc["3A-0909", "owner_level"] == "national"
    assert real.loc["3A-0870", "owner_level"] == "other"  # military
    assert real.loc["3A-0884", "owner_level"] == "other"  # enterprise (武钢)
    assert real.loc["WB-1154", "owner_level"] == "district"
    assert real.loc["WB-1038", "type"] == "public_health"
    assert real.loc["WB-1666", "level"] == "unknown"


def test_poi_coordinates_preferred_over_bad_geocodes(facilities):
    real = facilities[facilities["source"].eq("real")].set_index("id")
    pois = (
        pd.read_csv(SOURCE / "wuhan_hospital_pois_weibo.csv").set_index("id")
        if SOURCE.is_dir()
        else None
    )
    if pois is None:
        pytest.skip("shared source data not available")
    # 武汉市第二医院 and 湖北省妇幼保健院: the 3A geocodes are 2-4 km off; the POI is used.
    # (武汉市第二医院 is merged into 武汉市中心医院, whose own POI lies 15 m from WB-316.)
    for fid, poi in (("3A-0852", "WB-263"),):
        assert real.loc[fid, "lon"] == pytest.approx(pois.loc[poi, "lon"], abs=1e-6)
        assert real.loc[fid, "lat"] == pytest.approx(pois.loc[poi, "lat"], abs=1e-6)
    d = build._distance_m(
        real.loc["3A-0905", "lon"], real.loc["3A-0905", "lat"], pois.loc["WB-316", "lon"], pois.loc["WB-316", "lat"]
    )
    assert d < 50


def test_every_district_has_secondary_general_and_primary_care(facilities, districts):
    for name in districts["name"]:
        here = facilities[facilities["district"].eq(name)]
        sec = here["level"].eq("secondary") & here["type"].eq("general")
        assert sec.sum() >= 2, name
        assert here["type"].isin(schema.PRIMARY_CARE_TYPES).sum() >= 1, name
        assert rules.g5_qualifies(here).any(), name
        ill = here[here["source"].eq("illustrative")]
        assert ill["type"].eq("maternal_child").sum() == 1, name
        assert ill["type"].eq("public_health").sum() == 1, name
        assert ill["type"].isin(["rehabilitation", "nursing"]).sum() in (1, 2), name


def test_primary_care_about_one_per_50000(facilities, districts):
    for d in districts.itertuples():
        n = facilities[
            facilities["district"].eq(d.name) & facilities["type"].isin(schema.PRIMARY_CARE_TYPES)
        ]
        assert len(n) == max(1, round(d.population_2020 / 50_000)), d.name
        if d.name in {"江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区"}:
            assert n["type"].eq("community_health_center").all(), d.name


def test_facilities_inside_city(facilities, city):
    minx, miny, maxx, maxy = city.total_bounds
    assert (
        facilities["lon"].between(minx, maxx).all() and facilities["lat"].between(miny, maxy).all()
    )
    outline = city.geometry.iloc[0]
    inside = shapely.contains_xy(
        outline, facilities["lon"].to_numpy(), facilities["lat"].to_numpy()
    )
    assert inside.all(), facilities.loc[~inside, "name"].tolist()


def test_illustrative_sit_in_their_district(facilities, districts):
    ill = facilities[facilities["source"].eq("illustrative")]
    for d in districts.itertuples():
        sub = ill[ill["district"].eq(d.name)]
        assert shapely.contains_xy(d.geometry, sub["lon"].to_numpy(), sub["lat"].to_numpy()).all()


# --- helpers of the build ----------------------------------------------------------------------
def test_split_integer_and_round_to_total():
    assert build.split_integer(336_235, [630_958, 699_432]) == [159_465, 176_770]
    assert sum(build.split_integer(101, [1, 2, 3, 4])) == 101
    with pytest.raises(ValueError):
        build.split_integer(5, [0, 0])
    rng = np.random.default_rng(0)
    vals = rng.uniform(0, 1000, 500)
    out = build.round_to_total(vals, 1_234_567)
    assert round(out.sum() * 10) == 1_234_567
    assert np.all(np.abs(out - vals * 123456.7 / vals.sum()) < 0.1 + 1e-9)


def test_name_normalisation_and_rules():
    assert build.normalise_name("武汉市中医医院") == build.normalise_name("武汉市中医院")
    assert build.normalise_name("武汉市第三医院") == build.normalise_name("武汉市三医院")
    assert build.normalise_name("武汉市第一医院") != build.normalise_name("武汉市第十一医院")
    assert build.split_name("湖北省中医院(光谷院区)") == ("湖北省中医院光谷院区", [])
    assert build.name_keys("广州军区武汉总医院(中南医院、陆军总院)") == {
        "广州军区武汉总医院",
        "中南医院",
        "陆军总院",
    }
    assert build.classify_type("武汉市妇女儿童医疗保健中心") == "maternal_child"
    assert build.classify_type("湖北省中医院光谷院区") == "tcm"
    assert build.classify_type("武汉市医疗救治中心") == "specialty"
    assert build.classify_owner("省荣军医院")[0] == "provincial"  # 荣军 is not military
    assert build.classify_owner("武昌铁路医院")[0] == "other"
    assert build.classify_owner("武汉亚洲心脏病医院")[0] == "other"
    assert (
        build.classify_owner("武汉市中心医院（华中科技大学同济医学院附属武汉中心医院）")[0]
        == "municipal"
    )


def test_dedup_on_small_input():
    rows = pd.DataFrame(
        {
            "id": ["3A-0001", "3A-0002", "3A-0003"],
            "name": ["武汉市中医医院", "武汉市中医院", "武汉市第十一医院"],
            "lon": [114.30, 114.30, 114.27],
            "lat": [30.58, 30.58, 30.61],
        }
    )
    entities, merges = build.dedup_3a(rows)
    assert sorted(e.id for e in entities) == ["3A-0001", "3A-0003"]
    assert [m["merged"] for m in merges if m["kept"] != "—"] == ["3A-0002"]


def _toy_layers():
    squares = build.cell_squares(
        [114.005, 114.015, 114.025, 114.005], [30.005, 30.005, 30.005, 30.015]
    )
    units = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "district": ["江岸区"] * 4,
            "population": [50_000.0, 30_000.0, 0.0, 20_000.0],
            "area_km2": [1.0] * 4,
        },
        geometry=list(squares),
        crs=4326,
    )
    districts = gpd.GeoDataFrame(
        {"adcode": ["420102"], "name": ["江岸区"]},
        geometry=[shapely.box(114, 30, 114.03, 30.02)],
        crs=4326,
    )
    return units, districts


def test_generation_is_seeded_and_places_where_people_are():
    units, districts = _toy_layers()
    totals = {"江岸区": 100_000}
    with pytest.raises(AssertionError):  # 2 SEC + REH + MCH + PH + 2 PC = 7 > 3 populated cells
        build.generate_illustrative(units, districts, totals, seed=1)
    plan = build.district_plan("江岸区", 100_000)
    assert [c for c, *_ in plan] == ["SEC", "SEC", "REH", "MCH", "PH", "PC", "PC"]
    # With enough cells: deterministic for a seed, different for another seed.
    many = build.cell_squares(114 + 0.005 + 0.01 * np.arange(10), np.full(10, 30.005))
    units = gpd.GeoDataFrame(
        {
            "id": [f"u{i}" for i in range(10)],
            "district": ["江岸区"] * 10,
            "population": [0.0] + [10_000.0] * 9,
            "area_km2": [1.0] * 10,
        },
        geometry=list(many),
        crs=4326,
    )
    districts = gpd.GeoDataFrame(
        {"adcode": ["420102"], "name": ["江岸区"]},
        geometry=[shapely.box(114, 30, 114.1, 30.01)],
        crs=4326,
    )
    a = build.generate_illustrative(units, districts, totals, seed=7)
    b = build.generate_illustrative(units, districts, totals, seed=7)
    c = build.generate_illustrative(units, districts, totals, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a[["lon", "lat"]].equals(c[["lon", "lat"]])
    assert len(a) == 7 and a["id"].is_unique
    assert not a["note"].str.contains("cell u0").any()  # the empty cell is never drawn
    assert a["name"].str.startswith("【示意】").all()
    cap = build.assign_capacity(a, seed=7)
    pd.testing.assert_frame_equal(cap, build.assign_capacity(a, seed=7))
    sec = cap[cap["type"].eq("general")]
    assert sec["beds"].between(150, 500).all()
    assert cap.loc[cap["type"].eq("public_health"), "beds"].eq(0).all()


@pytest.mark.skipif(not SOURCE.is_dir(), reason="shared source data not available")
def test_build_is_deterministic_and_committed_outputs_are_current(tmp_path):
    # The build takes a few seconds; comparing with the committed files checks both that a
    # run reproduces them byte for byte and that nobody edited them by hand.
    assert build.main(["--source", str(SOURCE), "--out", str(tmp_path)]) == 0
    for name in OUTPUT_FILES:
        assert (tmp_path / name).read_bytes() == (OUT / name).read_bytes(), name
