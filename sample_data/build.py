"""Build the bundled sample city, Wuhan (武汉市), from the public layers in ``shared/data/wuhan``.

Run ``python sample_data/build.py`` (optionally ``--source DIR --out DIR``). The build is
deterministic: every random draw comes from ``numpy.random.default_rng`` seeded with
:data:`SEED` (plus a fixed per-purpose / per-district key), rows are written in a fixed order and
the GeoJSON/CSV writers format numbers themselves, so two runs give byte-identical files.

Steps (one function each; every rule is documented in ``sample_data/SOURCES.md``):

1. :func:`load_sources` reads the shared files.
2. :func:`fold_census` turns the census (12 admin districts + 3 functional zones) into one total
   per admin polygon.
3. :func:`build_population_units` clips the 0.01° WorldPop cells to the city outline and assigns
   each to the district holding most of it; :func:`scale_population` scales them to the totals.
4. :func:`build_real_facilities` deduplicates the tertiary-A list and merges the Weibo POIs.
5. :func:`generate_illustrative` adds the seeded illustrative facilities;
   :func:`assign_capacity` gives every facility illustrative beds and daily outpatient slots.
6. :func:`build_roads` takes the OpenStreetMap road network (ODbL 1.0, "© OpenStreetMap
   contributors"; the derived layer stays ODbL), simplified between its junctions so the file stays
   compact without changing which roads meet; :func:`copy_water` takes the rivers' water polygons,
   centrelines (ODbL) and the crossings (Wikidata, CC0) for the maps and the water barrier.
7. The writers produce ``sample_data/wuhan/*`` and ``build_report.md`` (figures + merge table).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, mapping

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared/data/wuhan"
DEFAULT_OUT = REPO / "sample_data/wuhan"

#: Seed of every random draw (Wuhan's adcode).
SEED = 420100
#: UTM zone 50N: metric CRS for areas and distances in Wuhan (114-120 °E).
METRIC_CRS = "EPSG:32650"
#: Coordinates are written (and snapped) to 6 decimals, ~0.1 m.
PRECISION = 1e-6
DECIMALS = 6
#: WorldPop cell size in degrees (cells are squares centred on the given lon/lat).
CELL = 0.01
#: Clipped cell pieces smaller than this (m²) are slivers and dropped.
SLIVER_M2 = 100.0
CITY_TOTAL = 12_326_518
#: Road shape vertices within this distance (m) of the simplified line are dropped; junctions and
#: line ends are always kept, so the network's connections are unchanged.
ROAD_SIMPLIFY_M = 10.0
ROADS_SOURCE = "wuhan_roads_osm_wgs84.gpkg"
#: Water files copied as they are (name in the shared folder -> name in the sample).
WATER_FILES = {
    "wuhan_water_osm_wgs84.geojson": "water.geojson",
    "wuhan_river_centrelines_osm_wgs84.geojson": "river_centrelines.geojson",
    "wuhan_river_crossings_wikidata.csv": "river_crossings.csv",
}

# --- census folding -------------------------------------------------------------------------
#: Census rows that map 1:1 onto an admin polygon (census name -> polygon name).
DIRECT_UNITS: dict[str, str] = {
    "江岸区": "江岸区",
    "江汉区": "江汉区",
    "硚口区": "硚口区",
    "汉阳区": "汉阳区",
    "武昌区": "武昌区",
    "青山区": "青山区",  # includes its sub-item 武汉化工 (31,477)
    "洪山区": "洪山区",
    "东西湖区(临空港经开区)": "东西湖区",
    "蔡甸区": "蔡甸区",
    "江夏区": "江夏区",
    "黄陂区": "黄陂区",
    "新洲区": "新洲区",
}
#: Functional zones: (census name, part that goes to one polygon outright, polygons sharing the rest).
FUNCTIONAL_ZONES: tuple[tuple[str, dict[str, str], tuple[str, ...]], ...] = (
    ("武汉经开区", {"其中:汉南": "汉南区"}, ("蔡甸区", "汉阳区")),
    ("东湖高新区", {}, ("洪山区", "江夏区")),
    ("东湖风景区", {}, ("洪山区", "武昌区")),
)

# --- facilities ------------------------------------------------------------------------------
#: 3A rows merged although their normalised names differ: (kept id, merged id, evidence).
CURATED_3A_MERGES: tuple[tuple[str, str, str], ...] = (
    (
        "3A-0857",
        "3A-0888",
        "武汉大学中山医院 = 湖北省中山医院 (shared SOURCES.md; same address 中山大道26号, same geocode)",
    ),
    (
        "3A-0858",
        "3A-0862",
        "湖北中医学院 is the former name of 湖北中医药大学; same address 花园山4号",
    ),
    (
        "3A-0858",
        "3A-0863",
        "name = 湖北中医药大学附属医院 + 湖北省中医院, both aliases of 3A-0858; same address and geocode",
    ),
    (
        "3A-0853",
        "3A-0885",
        "湖北省口腔医院 = 武汉大学口腔医院 (3A-0853 alias 武汉大学口腔医学院); same address 珞喻路237号",
    ),
    (
        "3A-0853",
        "3A-0861",
        "湖北医学院 is the predecessor of 武汉大学医学部 (咐属 = 附属, typo); same geocode as 3A-0853",
    ),
    (
        "3A-0891",
        "3A-0892",
        "武汉科技大学附属医院 is the unqualified form of 武汉科技大学附属天佑医院; same address 涂家岭9号",
    ),
    (
        "3A-0898",
        "3A-0904",
        "武汉市中西医结合医院 is the second name of 武汉市第一医院: same address and geocode (within 30 m); "
        "two rows would let one institution lead two grids",
    ),
    (
        "3A-0905",
        "3A-0895",
        "武汉市第二医院 and 武汉市中心医院: their Weibo POIs lie 15 m apart (the list is c. 2012-2015 and "
        "carries old names); treated as one institution, kept under the current name 武汉市中心医院",
    ),
)
#: 3A rows left out, with the reason.
EXCLUDED_3A: dict[str, str] = {
    "3A-1414": "中国人民解放军第三〇六医院 has no address in the list; the PLA 306 Hospital is in Beijing, "
    "so the Wuhan geocode is an artefact of geocoding a bare name",
}
#: POIs that are a building or a second name of a hospital at the same site: POI id -> kept id.
CURATED_POI_MERGES: dict[str, tuple[str, str]] = {
    "WB-970": ("3A-0909", "协和医院外科楼 is a building of 协和医院"),
    "WB-722": ("3A-0909", "协和医院门诊部 is the outpatient building of 协和医院"),
    "WB-1471": ("3A-0911", "武警医院 (generic name) next to 武警湖北总队医院"),
    "WB-1484": (
        "3A-0929",
        "空军医院 = 空军汉口医院 (alias of the PLA 457 Hospital), next to its geocode",
    ),
}
#: Largest distance (m) allowed for a curated POI merge (a check against mistakes).
CURATED_POI_MAX_M = 1_000.0
#: POIs that are a separate campus of a listed hospital: POI id -> (parent id, level_source, reason).
CAMPUS_POIS: dict[str, tuple[str, str, str]] = {
    "WB-1049": (
        "3A-0909",
        "assumed",
        "协和医院西区 (西院) is a separate campus of 协和医院, ~12 km away; the 3A list does not name it, "
        "so its grade is assumed from the parent",
    ),
    "WB-634": (
        "3A-0897",
        "data",
        "武汉市普爱医院 is the alias of 武汉市第四医院 (3A-0897), whose address lists the 西院区 解放大道76号 "
        "where this POI lies (~6.6 km from the 东院区 geocode); kept as a separate campus",
    ),
}
#: POIs whose grade the data lacks but which are assumed tertiary (district people's hospitals).
ASSUMED_TERTIARY: tuple[str, ...] = ("WB-1261", "WB-1154", "WB-1001")
#: Weibo POIs that are not hospitals: level "other".
NON_HOSPITAL_POIS: tuple[str, ...] = ("WB-1038",)
#: Name/distance threshold for matching a POI to a 3A entry whose normalised names agree (m).
#: The 3A geocodes are sometimes 2-4 km off (shared SOURCES.md), so the threshold is generous.
POI_MATCH_MAX_M = 5_000.0
#: Distinct facilities closer than this (m) get a "possibly the same site" note.
COLOCATED_M = 150.0
#: Extra notes for rows the name rules cannot explain.
EXTRA_NOTES: dict[str, str] = {
    "3A-0894": "武汉市传染病医院 (old address 江汉北路18号) is reported to have become part of "
    "武汉市医疗救治中心 (金银潭医院); kept separate because the names do not prove it",
    "3A-0903": "武汉市医疗救治中心 = 金银潭医院 (infectious diseases)",
    "3A-0890": "same address as 湖北省中山医院 (中山大道26号); possibly the same institution, kept separate "
    "because the names do not prove it",
    "3A-0856": "branch (分院) of 湖北省新华医院, listed separately in the 3A list",
    "WB-1085": "probably the campus hospital of 同济医学院 (~700 m from 同济医院); level unknown",
    "WB-802": "湖北省荣军医院 (veterans' hospital); type general by the default rule",
    "WB-1038": "blood centre, not a hospital: type public_health, level other",
    "WB-1256": "长江航运总医院 (惠济路 site); enterprise hospital",
}

# Name rules. Each is (keywords, value); the first matching rule wins; they are applied to the
# primary name (text before the first parenthesis) so that an alias such as
# 武汉市中心医院（华中科技大学同济医学院附属…） is read as a 武汉市 hospital.
TYPE_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("血液中心", "疾病预防", "疾控", "急救中心", "卫生监督"), "public_health"),
    (("妇幼", "妇女儿童", "妇产"), "maternal_child"),
    (("中西医结合", "中医"), "tcm"),
    (
        (
            "儿童医院",
            "口腔",
            "肿瘤",
            "精神",
            "传染病",
            "心脏病",
            "老年病",
            "医疗救治中心",
            "骨科",
            "眼科",
            "胸科",
            "结核",
        ),
        "specialty",
    ),
    (("康复",), "rehabilitation"),
    (("护理",), "nursing"),
)
OWNER_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("解放军", "军区", "武警", "空军", "陆军"), "other", "military"),
    (
        ("武钢", "一冶", "冶金建设", "职工医院", "长江航运", "铁路", "军工"),
        "other",
        "enterprise/industry",
    ),
    (("亚洲心脏病",), "other", "private (民营)"),
    (
        ("武汉大学", "华中科技大学", "同济医学院", "协和", "同济医院", "中南医院"),
        "national",
        "directly affiliated to a Ministry-of-Education university (武汉大学 / 华中科技大学)",
    ),
    (("湖北省", "湖北", "省"), "provincial", "湖北省… / 省…"),
    (("大学",), "provincial", "affiliated to a provincial university"),
)
DISTRICT_NAMES: tuple[str, ...] = (
    "江岸区",
    "江汉区",
    "硚口区",
    "汉阳区",
    "武昌区",
    "青山区",
    "洪山区",
    "东西湖区",
    "汉南区",
    "蔡甸区",
    "江夏区",
    "黄陂区",
    "新洲区",
)

# --- illustrative facilities -------------------------------------------------------------------
#: Districts whose primary care is community health centres (社区卫生服务中心).
URBAN_DISTRICTS = frozenset({"江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区"})
#: In the other (suburban) districts a primary-care site in a cell at least this dense (residents
#: per km², after scaling) counts as urbanised and is a CHC; elsewhere a township health centre.
URBANISED_DENSITY = 4_000.0
RESIDENTS_PER_PRIMARY = 50_000
RESIDENTS_PER_SECONDARY = 300_000
SECONDARY_RANGE = (2, 5)
#: Districts above this population get two continuing-care providers, others one.
TWO_CONTINUING_CARE_FROM = 800_000
ILLUSTRATIVE_PREFIX = "【示意】"
#: Beds (uniform integer range, rounded to 10 above 100) by capacity class.
BED_RANGES: dict[str, tuple[int, int]] = {
    "tertiary": (800, 2500),
    "secondary": (150, 500),
    "continuing_care": (80, 200),
    "maternal_child": (100, 300),
    "community_health_center": (0, 50),
    "township_health_center": (20, 100),
    "public_health": (0, 0),
    "other": (0, 0),
}
#: Daily outpatient slots: hospitals get beds × U(a, b); primary care a fixed range.
OUTPATIENT_PER_BED = (1.5, 3.0)
OUTPATIENT_RANGES: dict[str, tuple[int, int]] = {
    "community_health_center": (100, 400),
    "township_health_center": (50, 200),
}

FACILITY_COLUMNS = [
    "id",
    "name",
    "level",
    "type",
    "owner_level",
    "beds",
    "outpatient_slots",
    "lon",
    "lat",
    "district",
    "source",
    "level_source",
    "capacity_source",
    "note",
    "parent_id",
]


# =============================================================================================
# 1. sources
# =============================================================================================
@dataclass
class Sources:
    """The shared input layers, read as they are (geometry snapped to the output precision)."""

    city: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    cells: pd.DataFrame
    census: pd.DataFrame
    hospitals_3a: pd.DataFrame
    pois: pd.DataFrame


def load_sources(source: Path) -> Sources:
    """Read the shared Wuhan files from ``source``.

    Parameters
    ----------
    source : Path
        Directory holding the files described in the shared ``SOURCES.md``.

    Returns
    -------
    Sources
        City outline and districts in EPSG:4326 with coordinates snapped to 1e-6°, and the
        tables as strings/floats.
    """
    missing = [
        f
        for f in (
            "wuhan_city_wgs84.geojson",
            "wuhan_districts_wgs84.geojson",
            "wuhan_worldpop_age20plus_0p01deg_cells.csv",
            "wuhan_population_census2020_by_district.csv",
            "wuhan_hospitals_3A_list_wgs84.csv",
            "wuhan_hospital_pois_weibo.csv",
        )
        if not (source / f).is_file()
    ]
    if missing:
        raise SystemExit(
            f"missing source files in {source}: {', '.join(missing)} (use --source DIR)"
        )
    city = gpd.read_file(source / "wuhan_city_wgs84.geojson").to_crs(4326)
    districts = gpd.read_file(source / "wuhan_districts_wgs84.geojson").to_crs(4326)
    # Snap once, at the start, so that every derived geometry is computed on what is written.
    city["geometry"] = shapely.make_valid(shapely.set_precision(city.geometry.values, PRECISION))
    districts["geometry"] = shapely.make_valid(
        shapely.set_precision(districts.geometry.values, PRECISION)
    )
    districts["adcode"] = districts["adcode"].astype(str)
    districts = districts.sort_values("adcode").reset_index(drop=True)
    str_cols = {"id": str, "name": str}
    return Sources(
        city=city,
        districts=districts,
        cells=pd.read_csv(source / "wuhan_worldpop_age20plus_0p01deg_cells.csv", dtype={"id": str}),
        census=pd.read_csv(source / "wuhan_population_census2020_by_district.csv"),
        hospitals_3a=pd.read_csv(source / "wuhan_hospitals_3A_list_wgs84.csv", dtype=str_cols),
        pois=pd.read_csv(source / "wuhan_hospital_pois_weibo.csv", dtype=str_cols),
    )


# =============================================================================================
# 2. census folding
# =============================================================================================
def split_integer(total: int, weights: Sequence[float]) -> list[int]:
    """Split a whole number in proportion to ``weights`` (largest remainder, ties to the first).

    Examples
    --------
    >>> split_integer(10, [1, 1, 1])
    [4, 3, 3]
    >>> split_integer(7, [0, 2])
    [0, 7]
    """
    w = np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        raise ValueError("weights must have a positive sum")
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:short]] += 1
    return [int(x) for x in base]


def fold_census(census: pd.DataFrame, w20: dict[str, float]) -> tuple[dict[str, int], list[str]]:
    """Census-derived 2020 totals per admin polygon.

    Parameters
    ----------
    census : DataFrame
        The census table (``name``, ``unit_type``, ``population_2020``).
    w20 : dict
        WorldPop 20+ sum per polygon name, the weights for sharing the functional zones.

    Returns
    -------
    totals, log
        Polygon name -> whole residents, and human-readable lines describing each allocation.
    """
    pop = dict(zip(census["name"], census["population_2020"].astype(int), strict=True))
    top = census[census["unit_type"].isin(["district", "functional zone"])]
    if int(top["population_2020"].sum()) != pop["全市"] or pop["全市"] != CITY_TOTAL:
        raise ValueError("the 15 top-level census units do not sum to the city total")
    totals = {poly: pop[name] for name, poly in DIRECT_UNITS.items()}
    totals.setdefault("汉南区", 0)
    log = [f"{poly}: {pop[name]:,} ({name})" for name, poly in DIRECT_UNITS.items()]
    for zone, fixed, sharers in FUNCTIONAL_ZONES:
        rest = pop[zone]
        for sub, poly in fixed.items():
            totals[poly] += pop[sub]
            rest -= pop[sub]
            log.append(f"{zone} → {poly}: {pop[sub]:,} ({sub})")
        parts = split_integer(rest, [w20[s] for s in sharers])
        for poly, part in zip(sharers, parts, strict=True):
            totals[poly] += part
        share = ", ".join(
            f"{s} {p:,} (WorldPop 20+ {w20[s]:,.0f})" for s, p in zip(sharers, parts, strict=True)
        )
        log.append(f"{zone} rest {rest:,} → {share}")
    if sum(totals.values()) != CITY_TOTAL:
        raise AssertionError("folded totals do not add up to the city total")
    return totals, log


# =============================================================================================
# 3. population units
# =============================================================================================
def cell_squares(lon: Iterable[float], lat: Iterable[float], size: float = CELL) -> np.ndarray:
    """Square polygons of side ``size`` degrees centred on the given points, snapped to 1e-6°."""
    lon = np.round(np.asarray(lon, dtype=float), 7)
    lat = np.round(np.asarray(lat, dtype=float), 7)
    h = size / 2
    boxes = shapely.box(lon - h, lat - h, lon + h, lat + h)
    return shapely.set_precision(boxes, PRECISION)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of a clip result (drops stray lines and points)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def build_population_units(
    cells: pd.DataFrame, city: shapely.Geometry, districts: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Clip the WorldPop cells to the city outline and give each a district.

    Parameters
    ----------
    cells : DataFrame
        ``id, lon, lat, pop_20plus, pop_65plus`` (cell centres, 0.01° cells).
    city : shapely geometry
        City outline in EPSG:4326.
    districts : GeoDataFrame
        District polygons (``name``) in EPSG:4326.

    Returns
    -------
    GeoDataFrame
        ``id, district, inside_share, pop_20plus, pop_65plus, area_km2, geometry`` for every cell
        with a non-sliver piece inside the outline. ``inside_share`` is the share of the square's
        area inside the outline; the WorldPop values are multiplied by it, so edge cells keep
        only the people living inside the city.
    """
    squares = cell_squares(cells["lon"], cells["lat"])
    clipped = shapely.set_precision(shapely.intersection(squares, city), PRECISION)
    clipped = np.array([_polygonal(g) for g in clipped], dtype=object)
    gdf = gpd.GeoDataFrame(
        {
            "id": cells["id"].astype(str).to_numpy(),
            "pop_20plus_cell": cells["pop_20plus"].to_numpy(float),
            "pop_65plus_cell": cells["pop_65plus"].to_numpy(float),
        },
        geometry=list(clipped),
        crs=4326,
    )
    full_m2 = gpd.GeoSeries(list(squares), crs=4326).to_crs(METRIC_CRS).area.to_numpy()
    metric = gdf.to_crs(METRIC_CRS)
    area_m2 = metric.area.to_numpy()
    keep = (~gdf.geometry.is_empty.to_numpy()) & (area_m2 >= SLIVER_M2)
    gdf, metric = gdf[keep].reset_index(drop=True), metric[keep].reset_index(drop=True)
    share = np.minimum(area_m2[keep] / full_m2[keep], 1.0)
    gdf["inside_share"] = share
    gdf["area_km2"] = area_m2[keep] / 1e6
    gdf["pop_20plus"] = gdf["pop_20plus_cell"] * share
    gdf["pop_65plus"] = gdf["pop_65plus_cell"] * share
    gdf["district"] = _majority_district(metric, districts.to_crs(METRIC_CRS))
    return gdf.drop(columns=["pop_20plus_cell", "pop_65plus_cell"])


def _majority_district(units_m: gpd.GeoDataFrame, districts_m: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the district holding the largest part of each unit (ties: lowest adcode)."""
    pairs = gpd.sjoin(
        units_m[["geometry"]],
        districts_m[["name", "geometry"]],
        predicate="intersects",
        how="inner",
    )
    a = units_m.geometry.values[pairs.index.to_numpy()]
    b = districts_m.geometry.values[pairs["index_right"].to_numpy()]
    pairs = pairs.assign(
        overlap=shapely.area(shapely.intersection(a, b)), order=pairs["index_right"].to_numpy()
    )
    best = pairs.sort_values(["overlap", "order"], ascending=[False, True], kind="stable")
    best = best[~best.index.duplicated(keep="first")]
    out = best["name"].reindex(range(len(units_m)))
    if out.isna().any():
        raise AssertionError("a population unit touches no district")
    return out.to_numpy()


def round_to_total(values: np.ndarray, total_tenths: int) -> np.ndarray:
    """Round to one decimal so that the rounded values add up exactly to ``total_tenths`` / 10.

    Works in whole tenths with the largest-remainder rule, so no value moves by 0.1 or more.

    Examples
    --------
    >>> round_to_total(np.array([1.04, 1.04, 1.02]), 31).tolist()
    [1.1, 1.0, 1.0]
    """
    tenths = np.asarray(values, dtype=float) * 10
    scale = total_tenths / tenths.sum() if tenths.sum() > 0 else 0.0
    exact = tenths * scale
    base = np.floor(exact).astype(np.int64)
    short = int(total_tenths - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:short]] += 1
    return base / 10.0


def scale_population(units: gpd.GeoDataFrame, totals: dict[str, int]) -> gpd.GeoDataFrame:
    """Scale each district's cells (by their WorldPop 20+) to the district's census total.

    Parameters
    ----------
    units : GeoDataFrame
        Output of :func:`build_population_units`.
    totals : dict
        District name -> whole residents (output of :func:`fold_census`).

    Returns
    -------
    GeoDataFrame
        ``units`` with ``population`` (all ages, 1 decimal, each district summing exactly to
        its total) and ``scale`` (residents per WorldPop adult in that district).
    """
    units = units.copy()
    units["population"] = 0.0
    units["scale"] = 0.0
    for district, total in totals.items():
        m = units["district"].eq(district).to_numpy()
        w = units.loc[m, "pop_20plus"].to_numpy()
        if not m.any() or w.sum() <= 0:
            raise AssertionError(f"no WorldPop population in {district}")
        units.loc[m, "population"] = round_to_total(w, total * 10)
        units.loc[m, "scale"] = total / w.sum()
    return units


# =============================================================================================
# 4. real facilities
# =============================================================================================
_NUMERAL = "一二三四五六七八九十〇零"
_QUALIFIER_SPLIT = re.compile(r"[、，,；;]")
_CAMPUS_SUFFIXES = ("院区", "分院", "校区", "西区", "东区", "南区", "北区")


def split_name(name: str) -> tuple[str, list[str]]:
    """Split a hospital name into its primary name and the aliases given in parentheses.

    A parenthesised campus (…院区, …分院) stays part of the primary name because it names a
    different site, not a different spelling.

    Examples
    --------
    >>> split_name("武汉市第三医院（武汉市同仁医院）")
    ('武汉市第三医院', ['武汉市同仁医院'])
    >>> split_name("湖北省中医院(光谷院区)")
    ('湖北省中医院光谷院区', [])
    """
    text = unicodedata.normalize("NFKC", str(name)).replace(" ", "")
    aliases: list[str] = []
    primary = text
    m = re.match(r"^([^()]*)\((.*)\)\s*$", text)
    if m:
        primary, inner = m.group(1), m.group(2)
        parts = [p for p in _QUALIFIER_SPLIT.split(inner) if p]
        if len(parts) == 1 and parts[0].endswith(_CAMPUS_SUFFIXES):
            primary += parts[0]
        else:
            aliases = parts
    return primary, aliases


def normalise_name(name: str) -> str:
    """Fold a hospital name so that spellings of one institution compare equal.

    Drops 中国人民解放军/解放军 and a leading 原 (former), shortens 湖北省/武汉市 to 湖北/武汉,
    中医医院 to 中医院, drops 第 before a numeral and 中心 between a numeral and 医院.

    Examples
    --------
    >>> normalise_name("中国人民解放军第一六一医院") == normalise_name("解放军第一六一中心医院")
    True
    >>> normalise_name("武汉市中医医院") == normalise_name("武汉市中医院")
    True
    >>> normalise_name("武汉市第一医院") == normalise_name("武汉市第十一医院")
    False
    """
    s = unicodedata.normalize("NFKC", str(name)).replace(" ", "")
    s = s.replace("O", "〇").replace("o", "〇")
    s = s.replace("中国人民解放军", "").replace("解放军", "")
    s = re.sub(r"^原", "", s)
    s = s.replace("湖北省", "湖北").replace("武汉市", "武汉")
    s = s.replace("中医医院", "中医院")
    s = re.sub(rf"第([{_NUMERAL}]+)", r"\1", s)
    s = re.sub(rf"([{_NUMERAL}]+)中心医院", r"\1医院", s)
    return s


def name_keys(name: str) -> set[str]:
    """All normalised spellings of a name: the primary name and each alias."""
    primary, aliases = split_name(name)
    return {normalise_name(primary)} | {normalise_name(a) for a in aliases}


def classify_type(name: str) -> str:
    """Facility type from the primary name by :data:`TYPE_RULES` (default ``general``).

    Examples
    --------
    >>> classify_type("湖北省妇幼保健院（湖北省妇女儿童医院）"), classify_type("武汉市中西医结合医院")
    ('maternal_child', 'tcm')
    >>> classify_type("武汉市儿童医院"), classify_type("武汉市第八医院")
    ('specialty', 'general')
    """
    primary, _ = split_name(name)
    for keywords, type_ in TYPE_RULES:
        if any(k in primary for k in keywords):
            return type_
    return "general"


def classify_owner(name: str) -> tuple[str, str]:
    """Owner level from the primary name, with the rule that decided it.

    Order: military, enterprise, private, MoE university, 湖北省/省, other university, a
    Wuhan district name (…区), 武汉市…; otherwise ``unknown``.

    Examples
    --------
    >>> classify_owner("武汉市东西湖区人民医院")[0], classify_owner("武汉市第一医院")[0]
    ('district', 'municipal')
    >>> classify_owner("中国人民解放军第一六一医院")[0], classify_owner("湖北省肿瘤医院")[0]
    ('other', 'provincial')
    """
    primary, _ = split_name(name)
    for keywords, owner, why in OWNER_RULES:
        if any(k in primary for k in keywords):
            return owner, why
    if any(d in primary for d in DISTRICT_NAMES):
        return "district", "district name (…区)"
    if primary.startswith("武汉市"):
        return "municipal", "武汉市…"
    return "unknown", "no rule matched"


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (spherical Earth, good to ~0.5 %)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


@dataclass
class _Entity:
    """One real facility while it is being assembled."""

    id: str
    name: str
    lon: float
    lat: float
    level: str
    level_source: str
    members_3a: list[str] = field(default_factory=list)
    pois: list[tuple[str, str, float, int, bool]] = field(
        default_factory=list
    )  # id, name, m, users, by name
    notes: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    parent_id: str = ""


def dedup_3a(rows: pd.DataFrame) -> tuple[list[_Entity], list[dict[str, str]]]:
    """Group the tertiary-A rows into institutions.

    Rows are merged when a normalised spelling (:func:`name_keys`) is shared, or by
    :data:`CURATED_3A_MERGES`; :data:`EXCLUDED_3A` rows are dropped. A curated merge keeps its first
    id (the current name); otherwise the kept id is the lowest
    id of the group and the name is that row's name.

    Returns
    -------
    entities, merges
        One entity per institution, and one record per merged or excluded row (for the report).
    """
    rows = rows.sort_values("id").reset_index(drop=True)
    rows = rows[~rows["id"].isin(EXCLUDED_3A)]
    parent = {i: i for i in rows["id"]}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: str, b: str, *, keep_first: bool = False) -> None:
        ra, rb = (find(a), find(b)) if keep_first else sorted((find(a), find(b)))
        if ra != rb:
            parent[rb] = ra

    reasons: dict[str, str] = {}
    keys = {r.id: name_keys(r.name) for r in rows.itertuples()}
    ids = list(rows["id"])
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            shared = keys[a] & keys[b]
            if shared:
                union(a, b)
                reasons[b] = f"same normalised name ({'/'.join(sorted(shared))})"
    for keep, drop, why in CURATED_3A_MERGES:
        if keep not in parent or drop not in parent:  # a subset of the list (tests)
            continue
        union(keep, drop, keep_first=True)
        reasons[drop] = why
    by_id = rows.set_index("id")
    entities: dict[str, _Entity] = {}
    merges: list[dict[str, str]] = []
    for rid in ids:
        root = find(rid)
        r = by_id.loc[rid]
        if root not in entities:
            kept = by_id.loc[root]
            entities[root] = _Entity(
                id=root,
                name=kept["name"],
                lon=float(kept["lon"]),
                lat=float(kept["lat"]),
                level="tertiary",
                level_source="data",
            )
        ent = entities[root]
        ent.members_3a.append(rid)
        ent.keys |= keys[rid]
        if rid != root:
            d = _distance_m(ent.lon, ent.lat, float(r["lon"]), float(r["lat"]))
            merges.append(
                {
                    "kept": root,
                    "kept_name": ent.name,
                    "merged": rid,
                    "merged_name": r["name"],
                    "distance_m": f"{d:.0f}",
                    "rule": reasons.get(rid, "same group"),
                }
            )
    for rid, why in EXCLUDED_3A.items():
        merges.append(
            {
                "kept": "—",
                "kept_name": "(excluded)",
                "merged": rid,
                "merged_name": "",
                "distance_m": "",
                "rule": why,
            }
        )
    return list(entities.values()), merges


def merge_pois(
    entities: list[_Entity], pois: pd.DataFrame
) -> tuple[list[_Entity], list[dict[str, str]]]:
    """Attach the Weibo POIs to the 3A institutions; unmatched POIs become facilities.

    A POI joins the nearest institution sharing a normalised spelling within
    :data:`POI_MATCH_MAX_M`, or the one named in :data:`CURATED_POI_MERGES` (checked to lie within
    :data:`CURATED_POI_MAX_M`). :data:`CAMPUS_POIS` become campus facilities of their parent.
    Matched institutions take the coordinates of their POI (the converted POIs are ~130 m from
    good geocodes, the 3A geocodes sometimes 2-4 km off): the POI matched by name first, then the
    one with most check-ins.
    """
    by_id = {e.id: e for e in entities}
    merges: list[dict[str, str]] = []
    new: list[_Entity] = []
    for p in pois.sort_values("id").itertuples():
        lon, lat, users = float(p.lon), float(p.lat), int(p.weibo_checkin_users)
        pkeys = name_keys(p.name)
        if p.id in CURATED_POI_MERGES:
            target, why = CURATED_POI_MERGES[p.id]
            ent = by_id[target]
            d = _distance_m(ent.lon, ent.lat, lon, lat)
            if d > CURATED_POI_MAX_M:
                raise AssertionError(f"curated merge {p.id} -> {target} is {d:.0f} m apart")
            ent.pois.append((p.id, p.name, d, users, False))
            merges.append(
                {
                    "kept": target,
                    "kept_name": ent.name,
                    "merged": p.id,
                    "merged_name": p.name,
                    "distance_m": f"{d:.0f}",
                    "rule": why,
                }
            )
            continue
        if p.id in CAMPUS_POIS:
            parent_id, level_source, why = CAMPUS_POIS[p.id]
            parent = by_id[parent_id]
            ent = _Entity(
                id=p.id,
                name=p.name,
                lon=lon,
                lat=lat,
                level="tertiary",
                level_source=level_source,
                keys=pkeys,
                parent_id=parent_id,
            )
            ent.pois.append((p.id, p.name, 0.0, users, True))
            ent.notes.append(f"campus of {parent.name} ({parent_id}): {why}")
            new.append(ent)
            d = _distance_m(parent.lon, parent.lat, lon, lat)
            merges.append(
                {
                    "kept": p.id,
                    "kept_name": p.name,
                    "merged": "—",
                    "merged_name": f"campus of {parent_id}",
                    "distance_m": f"{d:.0f}",
                    "rule": why,
                }
            )
            continue
        cands = [(_distance_m(e.lon, e.lat, lon, lat), e.id) for e in entities if e.keys & pkeys]
        cands.sort()
        if cands and cands[0][0] <= POI_MATCH_MAX_M:
            d, target = cands[0]
            ent = by_id[target]
            ent.pois.append((p.id, p.name, d, users, True))
            merges.append(
                {
                    "kept": target,
                    "kept_name": ent.name,
                    "merged": p.id,
                    "merged_name": p.name,
                    "distance_m": f"{d:.0f}",
                    "rule": f"same normalised name, ≤ {POI_MATCH_MAX_M / 1000:.0f} km",
                }
            )
            continue
        if cands:
            raise AssertionError(
                f"{p.id} {p.name} matches {cands[0][1]} by name but lies "
                f"{cands[0][0]:.0f} m away; add a rule"
            )
        if p.id in ASSUMED_TERTIARY:
            level, level_source = "tertiary", "assumed"
        elif p.id in NON_HOSPITAL_POIS:
            level, level_source = "other", "data"
        else:
            level, level_source = "unknown", "data"
        ent = _Entity(
            id=p.id,
            name=p.name,
            lon=lon,
            lat=lat,
            level=level,
            level_source=level_source,
            keys=pkeys,
        )
        ent.pois.append((p.id, p.name, 0.0, users, True))
        if level_source == "assumed":
            ent.notes.append("grade not in the data; assumed tertiary (district people's hospital)")
        elif level == "unknown":
            ent.notes.append("Weibo POI only; grade not in the data (level unknown)")
        new.append(ent)
    for ent in entities:
        if not ent.pois:
            ent.notes.append("no Weibo POI matched; coordinates from the 3A geocode")
            continue
        best = sorted(ent.pois, key=lambda t: (not t[4], -t[3], t[0]))[0]
        poi = pois.set_index("id").loc[best[0]]
        moved = _distance_m(ent.lon, ent.lat, float(poi["lon"]), float(poi["lat"]))
        ent.lon, ent.lat = float(poi["lon"]), float(poi["lat"])
        ent.notes.append(f"coordinates from POI {best[0]} ({moved:.0f} m from the 3A geocode)")
    return entities + new, merges


def build_real_facilities(
    hospitals_3a: pd.DataFrame, pois: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The real facilities: deduplicated 3A list + merged Weibo POIs, typed by the name rules.

    Returns
    -------
    facilities, merges
        One row per real facility (no district, beds or slots yet) and the merge table.
    """
    entities, merges_3a = dedup_3a(hospitals_3a)
    entities, merges_poi = merge_pois(entities, pois)
    rows = []
    for e in entities:
        type_ = "public_health" if e.id in NON_HOSPITAL_POIS else classify_type(e.name)
        owner, why = classify_owner(e.name)
        notes = []
        if len(e.members_3a) > 1:
            notes.append("merged 3A rows " + ", ".join(e.members_3a))
        other_pois = [p[0] for p in e.pois if p[0] != e.id]
        if other_pois:
            notes.append("merged POIs " + ", ".join(other_pois))
        notes.extend(e.notes)
        notes.append(f"owner: {why}")
        if e.id in EXTRA_NOTES:
            notes.append(EXTRA_NOTES[e.id])
        rows.append(
            {
                "id": e.id,
                "name": e.name,
                "level": e.level,
                "type": type_,
                "owner_level": owner,
                "lon": round(e.lon, DECIMALS),
                "lat": round(e.lat, DECIMALS),
                "source": "real",
                "level_source": e.level_source,
                "parent_id": e.parent_id,
                "note": notes,
            }
        )
    fac = pd.DataFrame(rows).sort_values("id").reset_index(drop=True)
    _note_colocated(fac)
    fac["note"] = fac["note"].map("; ".join)
    return fac, merges_3a + merges_poi


def _note_colocated(fac: pd.DataFrame) -> None:
    """Add a "possibly the same site" note to real facilities within :data:`COLOCATED_M`."""
    for i, a in fac.iterrows():
        for j, b in fac.iterrows():
            if i == j:
                continue
            d = _distance_m(a["lon"], a["lat"], b["lon"], b["lat"])
            if d <= COLOCATED_M:
                a["note"].append(
                    f"within {d:.0f} m of {b['name']} ({b['id']}): possibly the same site or "
                    "institution under another name; kept separate because the names do not prove it"
                )


# =============================================================================================
# 5. illustrative facilities and capacities
# =============================================================================================
def _random_point_in(geom: shapely.Geometry, rng: np.random.Generator) -> Point:
    """A uniformly random point inside ``geom`` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(1_000):
        x, y = round(rng.uniform(minx, maxx), DECIMALS), round(rng.uniform(miny, maxy), DECIMALS)
        if shapely.contains_xy(geom, x, y):
            return Point(x, y)
    return geom.representative_point()


def district_plan(name: str, population: int) -> list[tuple[str, str, str, str]]:
    """The illustrative facilities one district gets, before placement.

    Returns
    -------
    list of (code, kind, level, type)
        ``kind`` is ``"primary"`` for primary care, whose type (CHC or THC) is decided at
        placement; codes are SEC, REH, NUR, MCH, PH, PC.

    Examples
    --------
    >>> [c for c, *_ in district_plan("汉南区", 145_103)]
    ['SEC', 'SEC', 'REH', 'MCH', 'PH', 'PC', 'PC', 'PC']
    """
    lo, hi = SECONDARY_RANGE
    n_sec = int(min(hi, max(lo, round(population / RESIDENTS_PER_SECONDARY))))
    n_cc = 2 if population >= TWO_CONTINUING_CARE_FROM else 1
    n_pc = max(1, round(population / RESIDENTS_PER_PRIMARY))
    # One continuing-care provider: rehabilitation; two: one of each.
    cc = [("REH", "secondary", "rehabilitation"), ("NUR", "other", "nursing")][:n_cc]
    plan = [("SEC", "hospital", "secondary", "general")] * n_sec
    plan += [(c, "hospital", lvl, t) for c, lvl, t in cc]
    plan += [
        ("MCH", "hospital", "secondary", "maternal_child"),
        ("PH", "public", "other", "public_health"),
    ]
    plan += [("PC", "primary", "primary", "")] * n_pc
    return plan


_KIND_NAMES = {
    "SEC": "二级综合医院",
    "REH": "康复医院",
    "NUR": "护理院",
    "MCH": "妇幼保健院",
    "PH": "疾病预防控制中心",
    "CHC": "社区卫生服务中心",
    "THC": "乡镇卫生院",
}
_NUMBERED = {"SEC", "REH", "NUR", "CHC", "THC"}


def generate_illustrative(
    units: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    totals: dict[str, int],
    seed: int = SEED,
) -> pd.DataFrame:
    """Generate the illustrative facilities of every district (see :func:`district_plan`).

    Each facility gets its own cell, drawn without replacement with probability proportional to
    the cell's population, and a uniformly random point inside the part of that cell lying in the
    district. Each district draws from ``default_rng([seed, adcode])`` so districts are
    independent of each other.

    Parameters
    ----------
    units : GeoDataFrame
        Scaled population units (``id, district, population, area_km2, geometry``).
    districts : GeoDataFrame
        ``adcode, name, geometry``.
    totals : dict
        District name -> residents.
    seed : int
        Base seed.

    Returns
    -------
    DataFrame
        Facilities with ``id, name, level, type, owner_level, lon, lat, district, source,
        level_source, note``.
    """
    rows = []
    for d in districts.sort_values("adcode").itertuples():
        rng = np.random.default_rng([seed, int(d.adcode)])
        plan = district_plan(d.name, totals[d.name])
        cells = units[units["district"].eq(d.name) & units["population"].gt(0)]
        cells = cells.sort_values("id").reset_index(drop=True)
        if len(cells) < len(plan):
            raise AssertionError(
                f"{d.name}: not enough populated cells to place {len(plan)} facilities"
            )
        p = cells["population"].to_numpy() / cells["population"].sum()
        picks = rng.choice(len(cells), size=len(plan), replace=False, p=p)
        counters: dict[str, int] = {}
        for (code, kind, level, type_), k in zip(plan, picks, strict=True):
            cell = cells.iloc[int(k)]
            if kind == "primary":
                density = cell["population"] / max(cell["area_km2"], 1e-9)
                urban = d.name in URBAN_DISTRICTS or density >= URBANISED_DENSITY
                code, type_ = (
                    ("CHC", "community_health_center")
                    if urban
                    else ("THC", "township_health_center")
                )
            counters[code] = counters.get(code, 0) + 1
            n = counters[code]
            area = cell.geometry.intersection(d.geometry)
            pt = _random_point_in(area if not area.is_empty else cell.geometry, rng)
            label = _KIND_NAMES[code] + (f"{n:02d}" if code in _NUMBERED else "")
            rows.append(
                {
                    "id": f"ILL-{d.adcode}-{code}{n:02d}",
                    "name": f"{ILLUSTRATIVE_PREFIX}{d.name}{label}",
                    "level": level,
                    "type": type_,
                    "owner_level": "district",
                    "lon": round(pt.x, DECIMALS),
                    "lat": round(pt.y, DECIMALS),
                    "district": d.name,
                    "source": "illustrative",
                    "level_source": "assumed",
                    "note": f"illustrative (示意), not a real institution: generated by "
                    f"sample_data/build.py, seed {seed}, placed in population cell {cell['id']}",
                }
            )
    return pd.DataFrame(rows)


def capacity_class(level: str, type_: str) -> str:
    """Which :data:`BED_RANGES` entry a facility takes.

    Examples
    --------
    >>> capacity_class("tertiary", "maternal_child"), capacity_class("unknown", "general")
    ('tertiary', 'secondary')
    """
    if type_ in ("public_health", "community_health_center", "township_health_center"):
        return type_
    if type_ in ("rehabilitation", "nursing"):
        return "continuing_care"
    if level == "tertiary":
        return "tertiary"
    if type_ == "maternal_child":
        return "maternal_child"
    if level in ("secondary", "unknown"):
        # A graded-unknown real hospital is sized like a secondary one.
        return "secondary"
    return "other"


def assign_capacity(fac: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """Illustrative beds and daily outpatient slots for every facility, in row order.

    Beds are uniform integers in :data:`BED_RANGES` (rounded to 10 when the range is above 100);
    hospitals get ``beds × U(OUTPATIENT_PER_BED)`` outpatient slots rounded to 10, primary care a
    uniform integer in :data:`OUTPATIENT_RANGES`, the rest 0.
    """
    rng = np.random.default_rng([seed, 2])
    beds, slots = [], []
    for r in fac.itertuples():
        cls = capacity_class(r.level, r.type)
        lo, hi = BED_RANGES[cls]
        b = int(rng.integers(lo, hi + 1))
        if lo >= 100:
            b = int(round(b / 10) * 10)
        if r.type in OUTPATIENT_RANGES:
            s = int(rng.integers(OUTPATIENT_RANGES[r.type][0], OUTPATIENT_RANGES[r.type][1] + 1))
        elif b > 0:
            s = int(round(b * rng.uniform(*OUTPATIENT_PER_BED) / 10) * 10)
        else:
            s = 0
        beds.append(b)
        slots.append(s)
    out = fac.copy()
    out["beds"] = beds
    out["outpatient_slots"] = slots
    out["capacity_source"] = "illustrative"
    return out


def locate_districts(fac: pd.DataFrame, districts: gpd.GeoDataFrame) -> pd.Series:
    """District holding each facility point (the nearest one for a point outside all)."""
    pts = gpd.GeoSeries(gpd.points_from_xy(fac["lon"], fac["lat"]), crs=4326)
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=pts),
        districts[["name", "geometry"]],
        predicate="within",
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    out = joined["name"]
    if out.isna().any():
        near = gpd.sjoin_nearest(
            gpd.GeoDataFrame(geometry=pts[out.isna()]).to_crs(METRIC_CRS),
            districts[["name", "geometry"]].to_crs(METRIC_CRS),
        )
        out = out.fillna(near["name"][~near.index.duplicated()])
    return out.reindex(fac.index)


# =============================================================================================
# 6. writers
# =============================================================================================
def _round_coords(obj: object) -> object:
    if isinstance(obj, list | tuple):
        if obj and isinstance(obj[0], float | int):
            return [round(float(v), DECIMALS) for v in obj]
        return [_round_coords(v) for v in obj]
    return obj


def _json_value(v: object) -> object:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return None if math.isnan(float(v)) else float(v)
    return v


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write an EPSG:4326 GeoDataFrame as RFC 7946 GeoJSON, byte-stable (6-decimal coordinates)."""
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    features = []
    for row, geom in zip(gdf[cols].itertuples(index=False), gdf.geometry, strict=True):
        g = mapping(geom)
        features.append(
            {
                "type": "Feature",
                "properties": {c: _json_value(v) for c, v in zip(cols, row, strict=True)},
                "geometry": {"type": g["type"], "coordinates": _round_coords(g["coordinates"])},
            }
        )
    fc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    # One feature per line keeps diffs readable without bloating the file.
    text = text.replace('},{"type":"Feature"', '},\n{"type":"Feature"')
    path.write_text(text + "\n", encoding="utf-8")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as UTF-8 CSV with ``\\n`` line ends."""
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


# =============================================================================================
# main
# =============================================================================================
@dataclass
class Built:
    """Everything the build produces (kept in memory for the report and the tests)."""

    city: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    facilities: pd.DataFrame
    merges: list[dict[str, str]]
    fold_log: list[str]
    osm_check: str = ""
    roads: gpd.GeoDataFrame | None = None
    roads_vertices: tuple[int, int] = (0, 0)


def osm_cross_check(source: Path, city: shapely.Geometry) -> str:
    """Compare the Amap-derived outline with the OSM one (cross-check only; OSM is not used)."""
    path = source / "wuhan_city_boundary_osm_wgs84.geojson"
    if not path.is_file():
        return "OSM outline not found; no cross-check"
    osm = gpd.read_file(path).to_crs(METRIC_CRS).union_all()
    amap = gpd.GeoSeries([city], crs=4326).to_crs(METRIC_CRS).iloc[0]
    diff = amap.symmetric_difference(osm).area
    return (
        f"Amap-derived outline {amap.area / 1e6:,.1f} km², OSM relation 3076268 "
        f"{osm.area / 1e6:,.1f} km², symmetric difference {diff / 1e6:,.1f} km² "
        f"({diff / amap.area:.1%} of the Amap area)"
    )


def build_roads(source: Path) -> gpd.GeoDataFrame | None:
    """The OSM road network, simplified between junctions (None when the file is absent).

    Every vertex that two lines share (a junction, a line joining another mid-way) and every line
    end is kept; the shape vertices between two such vertices are simplified by Douglas-Peucker
    with :data:`ROAD_SIMPLIFY_M`, in the metric CRS. The source has no road class, so no
    ``highway`` column is written: every road travels at the default road speed.
    """
    path = source / ROADS_SOURCE
    if not path.is_file():
        return None
    roads = gpd.read_file(path).to_crs(METRIC_CRS)
    lines, part_of = shapely.get_parts(roads.geometry.values, return_index=True)
    xy, line_of = shapely.get_coordinates(lines, return_index=True)
    _, vid, count = np.unique(
        np.round(xy, 2), axis=0, return_inverse=True, return_counts=True
    )
    keep = count[vid.ravel()] > 1
    first = np.r_[True, line_of[1:] != line_of[:-1]]
    last = np.r_[line_of[1:] != line_of[:-1], True]
    keep |= first | last
    starts = np.flatnonzero(first)
    stops = np.flatnonzero(last) + 1
    out: list[shapely.Geometry] = []
    for lo, hi in zip(starts, stops, strict=True):
        pts = xy[lo:hi]
        cut = np.flatnonzero(keep[lo:hi])
        pieces = [shapely.LineString(pts[a : b + 1]) for a, b in zip(cut[:-1], cut[1:], strict=True)]
        simple = shapely.simplify(np.array(pieces, dtype=object), ROAD_SIMPLIFY_M,
                                  preserve_topology=False)
        coords = [shapely.get_coordinates(simple[0])]
        coords += [shapely.get_coordinates(g)[1:] for g in simple[1:]]
        out.append(shapely.linestrings(np.vstack(coords)))
    merged = [shapely.multilinestrings([out[i] for i in np.flatnonzero(part_of == f)])
              for f in range(len(roads))] if len(out) != len(roads) else out
    simplified = gpd.GeoDataFrame(
        {"id": [f"osm-road-{i + 1:05d}" for i in range(len(roads))]},
        geometry=gpd.GeoSeries(merged, crs=METRIC_CRS).to_crs(4326).values,
        crs=4326,
    )
    simplified["geometry"] = shapely.set_precision(simplified.geometry.values, PRECISION)
    return simplified


def copy_water(source: Path, out: Path) -> list[str]:
    """Copy the water polygons, river centrelines and crossings into ``out``; the names copied."""
    copied = []
    for src_name, name in WATER_FILES.items():
        if (source / src_name).is_file():
            (out / name).write_bytes((source / src_name).read_bytes())
            copied.append(name)
    return copied


def build(source: Path) -> Built:
    """Run every step on the files in ``source`` and return the output tables."""
    src = load_sources(source)
    city_geom = shapely.union_all(src.city.geometry.values)
    raw_units = build_population_units(src.cells, city_geom, src.districts)
    w20 = raw_units.groupby("district")["pop_20plus"].sum().to_dict()
    totals, fold_log = fold_census(src.census, w20)
    units = scale_population(raw_units, totals)
    units = units.sort_values("id").reset_index(drop=True)

    real, merges = build_real_facilities(src.hospitals_3a, src.pois)
    real["district"] = locate_districts(real, src.districts).to_numpy()
    ill = generate_illustrative(units, src.districts, totals)
    fac = pd.concat([real, ill], ignore_index=True)
    fac = assign_capacity(fac)[FACILITY_COLUMNS]

    city = gpd.GeoDataFrame({"id": ["420100"], "name": ["武汉市"]}, geometry=[city_geom], crs=4326)
    districts = gpd.GeoDataFrame(
        {
            "id": src.districts["adcode"].to_numpy(),
            "name": src.districts["name"].to_numpy(),
            "population_2020": [totals[n] for n in src.districts["name"]],
        },
        geometry=src.districts.geometry.to_numpy(),
        crs=4326,
    )
    out_units = gpd.GeoDataFrame(
        {
            "id": units["id"],
            "name": units["district"] + " 网格单元 " + units["id"],
            "district": units["district"],
            "population": units["population"],
            "pop_20plus": units["pop_20plus"].round(1),
            "pop_65plus": units["pop_65plus"].round(1),
        },
        geometry=units.geometry.to_numpy(),
        crs=4326,
    )
    roads = build_roads(source)
    vertices = (0, 0)
    if roads is not None:
        raw = gpd.read_file(source / ROADS_SOURCE)
        vertices = (
            int(shapely.get_num_coordinates(raw.geometry.values).sum()),
            int(shapely.get_num_coordinates(roads.geometry.values).sum()),
        )
    return Built(
        city, districts, out_units, fac, merges, fold_log, osm_cross_check(source, city_geom),
        roads, vertices,
    )


def report(b: Built, seed: int = SEED) -> str:
    """The figures of a build as Markdown (written to ``build_report.md`` and printed)."""
    fac = b.facilities
    from grid_planning.domain.rules import g4_eligible as eligible_lead_mask

    lines = [
        "# Wuhan sample city — build report",
        "",
        f"Generated by `python sample_data/build.py` (seed {seed}). Do not edit by hand.",
        "",
    ]
    lines += ["## Outline", "", f"- {b.osm_check}", ""]
    if b.roads is not None:
        km = gpd.GeoSeries(b.roads.geometry.values, crs=4326).to_crs(METRIC_CRS).length.sum()
        lines += [
            "## Roads",
            "",
            f"- OpenStreetMap road network (© OpenStreetMap contributors, ODbL 1.0; this derived "
            f"layer stays ODbL): {len(b.roads):,} lines, {km / 1000:,.0f} km",
            f"- vertices {b.roads_vertices[0]:,} in the source, {b.roads_vertices[1]:,} after "
            f"simplifying shape vertices by {ROAD_SIMPLIFY_M:g} m between junctions",
            "- no road class in the source: every road travels at the default road speed",
            "",
        ]
    lines += [
        "## Population",
        "",
        f"- population units: {len(b.units):,}; population total {b.units['population'].sum():,.1f}",
        f"- WorldPop 20+ inside the outline (area-weighted): {b.units['pop_20plus'].sum():,.1f}; "
        f"65+: {b.units['pop_65plus'].sum():,.1f}",
        "",
        "| district | adcode | census-derived total | units | sum of unit population | WorldPop 20+ |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for d in b.districts.itertuples():
        u = b.units[b.units["district"].eq(d.name)]
        lines.append(
            f"| {d.name} | {d.id} | {d.population_2020:,} | {len(u):,} | "
            f"{u['population'].sum():,.1f} | {u['pop_20plus'].sum():,.0f} |"
        )
    lines += ["", "Census folding:", ""] + [f"- {x}" for x in b.fold_log]
    lines += [
        "",
        "## Facilities",
        "",
        f"- rows: {len(fac)} (real {int(fac['source'].eq('real').sum())}, "
        f"illustrative {int(fac['source'].eq('illustrative').sum())})",
        f"- beds (all illustrative): {int(fac['beds'].sum()):,} = "
        f"{fac['beds'].sum() / b.units['population'].sum() * 1000:.2f} per 1,000 residents",
        "",
    ]
    tab = fac.pivot_table(index=["source", "level", "type"], values="id", aggfunc="count")
    lines += ["| source | level | type | rows |", "|---|---|---|---:|"]
    lines += [f"| {s} | {lv} | {t} | {n} |" for (s, lv, t), n in tab["id"].items()]
    lines += [
        "",
        "Illustrative facilities per district:",
        "",
        "| district | SEC | REH | NUR | MCH | PH | CHC | THC |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ill = fac[fac["source"].eq("illustrative")]
    for d in b.districts.itertuples():
        codes = ill.loc[ill["district"].eq(d.name), "id"].str.split("-").str[2].str[:-2]
        cnt = codes.value_counts()
        lines.append(
            f"| {d.name} | "
            + " | ".join(
                str(int(cnt.get(c, 0))) for c in ["SEC", "REH", "NUR", "MCH", "PH", "CHC", "THC"]
            )
            + " |"
        )
    leads = fac[eligible_lead_mask(fac)]
    lines += ["", f"Eligible lead hospitals (G4, no exceptions): {len(leads)}", ""]
    lines += [
        f"- {r.id} {r.name} ({r.type}, {r.owner_level}, {r.district}, level_source {r.level_source})"
        for r in leads.itertuples()
    ]
    lines += [
        "",
        "## Real facilities: merges, campuses and exclusions",
        "",
        "| kept | kept name | merged | merged name | distance m | rule |",
        "|---|---|---|---|---:|---|",
    ]
    lines += [
        f"| {m['kept']} | {m['kept_name']} | {m['merged']} | {m['merged_name']} | "
        f"{m['distance_m']} | {m['rule']} |"
        for m in b.merges
    ]
    lines += [
        "",
        "## Real facilities",
        "",
        "| id | name | level (source) | type | owner | district |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.id} | {r.name} | {r.level} ({r.level_source}) | {r.type} | {r.owner_level} | {r.district} |"
        for r in fac[fac["source"].eq("real")].itertuples()
    ]
    return "\n".join(lines) + "\n"


def write_outputs(b: Built, out: Path) -> None:
    """Write the five output files and the build report into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_geojson(b.city, out / "city_boundary.geojson")
    write_geojson(b.districts, out / "districts.geojson")
    write_geojson(b.units, out / "population_units.geojson")
    write_csv(b.facilities, out / "facilities.csv")
    if b.roads is not None:
        write_geojson(b.roads, out / "roads.geojson")
    (out / "build_report.md").write_text(report(b), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python sample_data/build.py [--source DIR] [--out DIR]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--source", type=Path, default=DEFAULT_SOURCE, help="shared Wuhan data directory"
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = ap.parse_args(argv)
    built = build(args.source)
    write_outputs(built, args.out)
    copy_water(args.source, args.out)
    print(report(built))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
