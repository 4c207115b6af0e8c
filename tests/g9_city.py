"""A strip city built for G9: an old-age west beside a young east, two leads at the ends.

Units are 1 km squares (12 columns x 3 rows) in UTM zone 50N, stored in WGS84. Every unit has
1,000 residents; the west (columns 0-3, an old town) has 400 of them aged 65+, the rest 100. A
``chronic`` column (registered chronic-disease patients) is 150 in the west and 50 elsewhere.
Tertiary general hospitals lead from the two ends (column 0 and column 11); each half holds a
secondary general hospital (G5). By residents alone the fair split is 6 columns each; weighted by
age, a west grid of equal weighted demand holds fewer residents.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, box

from grid_planning.city.layers import CityLayers

CRS = "EPSG:32650"
X0, Y0 = 230_000.0, 3_380_000.0
COLS, ROWS = 12, 3
OLD_COLS = 4  # columns 0..3: the old town

FACILITIES = [
    # id, name, level, type, owner, beds, (column, row)
    ("W1", "西区人民医院", "tertiary", "general", "district", 800.0, (0, 1)),
    ("E1", "东区人民医院", "tertiary", "general", "district", 800.0, (11, 1)),
    ("W2", "西区二医院", "secondary", "general", "district", 200.0, (2, 0)),
    ("E2", "东区二医院", "secondary", "general", "district", 200.0, (9, 2)),
]


def unit_id(c: int, r: int) -> str:
    return f"U{c:02d}{r}"


def column(uid: str) -> int:
    return int(uid[1:3])


def g9_units() -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for c in range(COLS):
        for r in range(ROWS):
            old = c < OLD_COLS
            rows.append({
                "id": unit_id(c, r), "name": f"街道{c}-{r}", "population": 1000.0,
                "pop_65plus": 400.0 if old else 100.0, "chronic": 150.0 if old else 50.0,
            })
            geoms.append(box(X0 + c * 1000, Y0 + r * 1000, X0 + (c + 1) * 1000, Y0 + (r + 1) * 1000))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs(4326)


def g9_facilities() -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for fid, name, level, type_, owner, beds, (c, r) in FACILITIES:
        rows.append({"id": fid, "name": name, "level": level, "type": type_, "owner_level": owner,
                     "beds": beds, "source": "real", "level_source": "data"})
        geoms.append(Point(X0 + (c + 0.5) * 1000, Y0 + (r + 0.5) * 1000))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs(4326)


def g9_layers(units: gpd.GeoDataFrame | None = None) -> CityLayers:
    units = g9_units() if units is None else units
    boundary = gpd.GeoDataFrame({"name": ["city"]}, geometry=[units.union_all()], crs=4326)
    return CityLayers("g9strip", units, g9_facilities(), boundary, CRS, sources={"units": "units.geojson"})


def write_g9_files(folder: Path, units: gpd.GeoDataFrame | None = None) -> tuple[Path, Path]:
    """The city as a planner's files: units GeoJSON and facilities GeoJSON."""
    folder.mkdir(parents=True, exist_ok=True)
    u, f = folder / "units.geojson", folder / "facilities.geojson"
    (g9_units() if units is None else units).to_file(u, driver="GeoJSON")
    g9_facilities().to_file(f, driver="GeoJSON")
    return u, f
