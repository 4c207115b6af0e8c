"""A river city with one bridge, as an office would upload it (issue 17's water and crossings):
60 square units of 1 km in two banks of three rows, a 1 km wide river between them, the bridge at
the east end, a tertiary lead and a secondary hospital on each bank."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_380_000.0


def river_city_files(d: Path) -> dict[str, Path]:
    """The river city as an office would upload it: GeoJSON units and outline, a facilities CSV,
    the river as a GeoJSON polygon, the bridge as a CSV with Chinese headers."""
    cells = [(x, y) for y in [*range(0, 3000, 1000), *range(4000, 7000, 1000)] for x in range(0, 10_000, 1000)]
    units = gpd.GeoDataFrame(
        {"id": [f"U{i:02d}" for i in range(len(cells))], "name": "cell", "population": 1000.0},
        geometry=[shapely.box(X0 + x, Y0 + y, X0 + x + 1000, Y0 + y + 1000) for x, y in cells], crs=CRS)
    units.to_crs(4326).to_file(d / "units.geojson")
    # a lead on each bank (west of the south bank, east of the north bank), a secondary hospital
    # beside each (G5)
    fac = gpd.GeoDataFrame(
        {"id": ["WEST", "EAST", "S2", "N2"], "name": ["west", "east", "south two", "north two"],
         "level": ["tertiary", "tertiary", "secondary", "secondary"]},
        geometry=[shapely.Point(X0 + 500, Y0 + 1500), shapely.Point(X0 + 8500, Y0 + 5500),
                  shapely.Point(X0 + 2500, Y0 + 500), shapely.Point(X0 + 6500, Y0 + 6500)], crs=CRS).to_crs(4326)
    fac.assign(lon=fac.geometry.x, lat=fac.geometry.y, type="general", owner_level="municipal",
               beds=800.0).drop(columns="geometry").to_csv(d / "fac.csv", index=False)
    gpd.GeoDataFrame({"name": ["city"]}, geometry=[shapely.box(X0, Y0, X0 + 10_000, Y0 + 7000)],
                     crs=CRS).to_crs(4326).to_file(d / "outline.geojson")
    gpd.GeoDataFrame({"name": ["长河"]}, geometry=[shapely.box(X0 - 100, Y0 + 3000, X0 + 10_100, Y0 + 4000)],
                     crs=CRS).to_crs(4326).to_file(d / "water.geojson")
    bridge = gpd.GeoSeries([shapely.Point(X0 + 9000, Y0 + 3500)], crs=CRS).to_crs(4326)
    pd.DataFrame({"名称": ["长河大桥"], "经度": bridge.x, "纬度": bridge.y}).to_csv(d / "bridge.csv", index=False)
    pd.DataFrame({"名称": ["长河大桥"]}).to_csv(d / "bridge_no_xy.csv", index=False)
    return {p.stem: p for p in d.iterdir()}
