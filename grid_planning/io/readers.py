"""Reading one layer from a file: units, facilities, boundary, districts and roads, in any
supported format and encoding (through :mod:`grid_planning.io.inputs`), validated row by row.

Each reader returns a frame in the canonical schema and the findings that say what was wrong,
which file, which row and column, and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.domain import rules, schema
from grid_planning.io.findings import ValidationReport
from grid_planning.io.rows import (
    POLYGON_KINDS,
    WGS84,
    LayerInput,
    ReadAbortedError,
    check_ids,
    check_numeric,
    clean_text,
    drop_null_geometry,
    drop_wrong_kinds,
    geometry_kinds,
    ids_as_text,
    order_columns,
    points_from_table,
    rename_columns,
    repair_polygons,
    row_labels,
    rows_text,
    run_reader,
    to_wgs84,
)

# =============================================================================================
# Facilities
# =============================================================================================
FACILITY_COLUMNS = ("id", "name", "level", "type", "owner_level", "beds", "source", "level_source")


def read_facilities(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    label: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate facilities from CSV/XLSX (lon/lat columns) or a GIS point layer.

    Parameters
    ----------
    path : str, Path or DataFrame
        CSV/XLSX with lon/lat columns (any alias of :data:`schema.FACILITY_ALIASES`), or GeoJSON,
        GeoPackage, (zipped) Shapefile with points; or a DataFrame/GeoDataFrame already in memory.
    coords : {"wgs84", "gcj02", "bd09"}
        The system of lon/lat input; GCJ-02 (Amap/Tencent) and BD-09 (Baidu) are shifted to WGS84.
    report : ValidationReport, optional
        Where findings go; without one, the first error raises :class:`LayerError`.
    label : str, optional
        File name shown in findings (default: the file's name).
    layer : str, optional
        The layer (GeoPackage, zip of several files) or sheet (XLSX) to read; by default the one
        that holds usable data (see :mod:`grid_planning.io.inputs`).
    encoding : str, optional
        A CSV's text encoding (``big5``, ``gbk``, ``utf-8`` ...); by default detected.

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326 with the canonical columns of the module contract plus ``lon``/``lat``
        (WGS84); rows without a usable position are dropped.
    """
    return run_reader(
        _read_facilities,
        path,
        coords,
        report,
        label,
        "facilities",
        (*FACILITY_COLUMNS, "lon", "lat"),
        choice=layer,
        encoding=encoding,
    )


def _read_facilities(
    df: pd.DataFrame, is_table: bool, coords: str, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    geometry_name = None if is_table else df.geometry.name
    df, original = rename_columns(df, schema.FACILITY_ALIASES, geometry_name)
    rows = row_labels(df, is_table, "id" if "id" in df.columns else None)

    required = ["name", "lon", "lat"] if is_table else ["name"]
    missing = [c for c in required if c not in df.columns]
    for col in missing:
        report.error(
            "missing_column", label, None, col, aliases=" / ".join(schema.FACILITY_ALIASES[col])
        )
    if missing:
        raise ReadAbortedError

    if is_table:
        gdf = points_from_table(df, original, rows, coords, label, report)
    else:
        gdf = to_wgs84(df, coords, label, report, rows)
        gdf = drop_null_geometry(gdf, rows, label, report, error=True)
        kinds = geometry_kinds(gdf)
        # A MultiPoint of one point is a common export artefact: take the point.
        single = (kinds == "MultiPoint") & (
            gdf.geometry.map(lambda g: len(getattr(g, "geoms", []))) == 1
        )
        if single.any():
            gdf.loc[single, gdf.geometry.name] = gdf.geometry[single].map(lambda g: g.geoms[0])
            kinds = geometry_kinds(gdf)
        gdf = drop_wrong_kinds(gdf, kinds, ("Point",), "Point", rows, label, report)
        if gdf.geometry.name != "geometry":
            gdf = gdf.rename_geometry("geometry")
    if len(gdf) == 0:
        report.error("no_rows_left", label)
        raise ReadAbortedError
    rows = rows[gdf.index]

    gdf = gdf.copy()
    gdf["id"] = check_ids(gdf, original, rows, label, report, prefix="F")
    names = clean_text(gdf["name"])
    blank = names.isna() | names.astype(str).eq("")
    if blank.any():
        report.warning("name_missing", label, rows_text(rows[blank]), original["name"])
        names = names.where(~blank, gdf["id"])
    gdf["name"] = names.astype(str)

    for column, normalise, vocabulary, fallback in (
        ("level", schema.normalise_level, schema.LEVELS, "unknown"),
        ("type", schema.normalise_type, schema.TYPES, "other"),
        ("owner_level", schema.normalise_owner, schema.OWNER_LEVELS, "unknown"),
    ):
        if column not in gdf.columns:
            report.warning(
                "optional_column_missing",
                label,
                None,
                column,
                default=fallback,
                aliases=" / ".join(schema.FACILITY_ALIASES[column]),
            )
            gdf[column] = fallback
            continue
        raw = gdf[column]
        norm = _normalise_values(raw, normalise, vocabulary)
        unknown = norm.isna()
        if unknown.any():
            for value, idx in (
                raw[unknown].groupby(raw[unknown].astype(str), sort=False).groups.items()
            ):
                report.warning(
                    "unknown_value",
                    label,
                    rows_text(rows[idx]),
                    original[column],
                    value=value,
                    fallback=fallback,
                )
        gdf[column] = norm.fillna(fallback)

    for column in ("beds", "outpatient_slots", "beds_down", "slots_down"):
        if column in gdf.columns:
            gdf[column] = check_numeric(gdf, column, original, rows, label, report, required=False)
    if "beds" not in gdf.columns:
        gdf["beds"] = np.nan

    gdf["source"] = (
        clean_text(gdf["source"]).fillna("user").astype(str) if "source" in gdf.columns else "user"
    )
    if "level_source" in gdf.columns:
        gdf["level_source"] = clean_text(gdf["level_source"]).fillna("data").astype(str)
    else:
        gdf["level_source"] = "data"
    if "district" in gdf.columns:
        gdf["district"] = clean_text(gdf["district"])
    if "parent_id" in gdf.columns:
        # A campus names its parent institution; the parent must be in the same file.
        parents = ids_as_text(gdf["parent_id"])
        # Empty, "nan" or "None" name no parent (rules.names_parent, as the G4 rule reads it).
        parents = parents.where(parents.map(rules.names_parent), None)
        orphan = parents.notna() & ~parents.isin(set(gdf["id"]))
        if orphan.any():
            for value, idx in parents[orphan].groupby(parents[orphan], sort=False).groups.items():
                report.warning(
                    "unknown_parent",
                    label,
                    rows_text(rows[idx]),
                    original.get("parent_id", "parent_id"),
                    value=value,
                )
        gdf["parent_id"] = parents
    gdf["lon"] = gdf.geometry.x
    gdf["lat"] = gdf.geometry.y
    out = order_columns(gdf, (*FACILITY_COLUMNS, "district", "outpatient_slots", "lon", "lat"))
    # Later cross-layer checks (boundary) name rows the way the user's file does.
    out.attrs["row_labels"] = dict(zip(gdf["id"], rows[gdf.index], strict=True))
    return out


def _normalise_values(raw: pd.Series, normalise, vocabulary: Sequence[str]) -> pd.Series:
    """Canonical values: canonical codes as written (any case) first, then the schema rules.

    Codes with underscores (``community_health_center``) are matched here directly because the
    schema's folding drops underscores before its exact lookup.
    """
    canonical = {schema.fold_text(v): v for v in vocabulary}
    cache: dict[object, str | None] = {}

    def one(value: object) -> str | None:
        if value not in cache:
            folded = None if pd.isna(value) else schema.fold_text(value)
            cache[value] = canonical.get(folded) if folded else None
            if cache[value] is None:
                cache[value] = normalise(value)
        return cache[value]

    return raw.map(one)


# =============================================================================================
# Boundary, districts, roads
# =============================================================================================
def read_boundary(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    label: str | None = None,
    dissolve: bool = True,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read the city outline (polygons from GeoJSON, GeoPackage or zipped Shapefile).

    With ``dissolve`` (default) all polygons become one row (``name``, geometry); otherwise each
    polygon is kept with its ``name`` (this is how districts are read). ``layer`` chooses the
    layer of a multi-layer file.
    """
    kind = "boundary" if dissolve else "districts"
    return run_reader(
        _read_polygons, path, coords, report, label, kind, ("name",), dissolve, choice=layer
    )


def read_districts(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    label: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read district polygons (``name``, geometry; other columns kept)."""
    return read_boundary(path, coords, report, label=label, dissolve=False, layer=layer)


_POLYGON_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "district", "区", "区县", "行政区", "city", "城市"),
}


def _read_polygons(
    df: pd.DataFrame,
    is_table: bool,
    coords: str,
    label: str,
    report: ValidationReport,
    dissolve: bool,
) -> gpd.GeoDataFrame:
    if is_table:
        report.error(
            "wrong_geometry", label, None, None, expected="Polygon/MultiPolygon", found="table"
        )
        raise ReadAbortedError
    df, _ = rename_columns(df, _POLYGON_ALIASES, df.geometry.name)
    rows = row_labels(df, False, None)
    gdf = to_wgs84(df, coords, label, report, rows)
    gdf = drop_null_geometry(gdf, rows, label, report, error=False)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    kinds = geometry_kinds(gdf)
    gdf = drop_wrong_kinds(gdf, kinds, POLYGON_KINDS, "Polygon/MultiPolygon", rows, label, report)
    gdf = repair_polygons(gdf, rows[gdf.index], label, report)
    if "name" not in gdf.columns:
        gdf["name"] = [f"{Path(label).stem}" if dissolve else f"#{k + 1}" for k in range(len(gdf))]
    gdf["name"] = gdf["name"].astype(str)
    if dissolve:
        name = gdf["name"].iloc[0] if len(gdf) == 1 else Path(label).stem
        outline = shapely.union_all(np.asarray(gdf.geometry.values))
        return gpd.GeoDataFrame({"name": [name]}, geometry=[outline], crs=WGS84)
    return order_columns(gdf, ("name",))


def read_roads(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    label: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a road network (lines) with optional ``highway`` class and ``speed_kmh``.

    Non-line features are dropped with a warning (roads are optional, so they never block).
    ``layer`` chooses the layer of a multi-layer file.
    """
    return run_reader(
        _read_roads,
        path,
        coords,
        report,
        label,
        "roads",
        ("highway", "speed_kmh"),
        choice=layer,
    )


def _read_roads(
    df: pd.DataFrame, is_table: bool, coords: str, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    if is_table:
        report.error("wrong_geometry", label, None, None, expected="LineString", found="table")
        raise ReadAbortedError
    df, original = rename_columns(df, schema.ROAD_ALIASES, df.geometry.name)
    rows = row_labels(df, False, None)
    gdf = to_wgs84(df, coords, label, report, rows)
    gdf = drop_null_geometry(gdf, rows, label, report, error=False)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    kinds = geometry_kinds(gdf)
    gdf = drop_wrong_kinds(
        gdf,
        kinds,
        ("LineString", "MultiLineString"),
        "LineString",
        rows,
        label,
        report,
        error=False,
    )
    gdf = gdf.copy()
    gdf["highway"] = (
        clean_text(gdf["highway"]).astype(object) if "highway" in gdf.columns else None
    )
    if "speed_kmh" in gdf.columns:
        gdf["speed_kmh"] = check_numeric(
            gdf, "speed_kmh", original, rows[gdf.index], label, report, required=False
        )
    else:
        gdf["speed_kmh"] = np.nan
    return order_columns(gdf, ("highway", "speed_kmh"))


#: Geometry a water layer may hold: river or lake polygons, or centrelines (given a width).
WATER_KINDS = ("Polygon", "MultiPolygon", "LineString", "MultiLineString")


def read_water(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    label: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read water that travel must cross at a crossing: polygons (rivers, lakes) or lines (river
    centrelines). Other geometry is dropped with a warning; ``name`` is kept when present."""
    return run_reader(_read_water, path, coords, report, label, "water", ("name",), choice=layer)


def _read_water(
    df: pd.DataFrame, is_table: bool, coords: str, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    if is_table:
        report.error("wrong_geometry", label, None, None, expected="Polygon/LineString", found="table")
        raise ReadAbortedError
    df, _ = rename_columns(df, _POLYGON_ALIASES, df.geometry.name)
    rows = row_labels(df, False, None)
    gdf = to_wgs84(df, coords, label, report, rows)
    gdf = drop_null_geometry(gdf, rows, label, report, error=False)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    kinds = geometry_kinds(gdf)
    gdf = drop_wrong_kinds(gdf, kinds, WATER_KINDS, "Polygon/LineString", rows, label, report,
                           error=False)
    gdf = gdf.copy()
    if "name" not in gdf.columns:
        gdf["name"] = [f"#{k + 1}" for k in range(len(gdf))]
    gdf["name"] = clean_text(gdf["name"]).astype(object)
    return order_columns(gdf[["name", "geometry"]], ("name",))


_CROSSING_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "桥名"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
}


def read_crossings(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    label: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read water crossings (bridges, tunnels, ferries) as points: a GIS point layer, or a table
    with ``lon``/``lat`` columns (经度/纬度). ``name`` is kept when present."""
    return run_reader(_read_crossings, path, coords, report, label, "crossings", ("name",),
                      choice=layer)


def _read_crossings(
    df: pd.DataFrame, is_table: bool, coords: str, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    geometry = None if is_table else df.geometry.name
    df, original = rename_columns(df, _CROSSING_ALIASES, geometry)
    rows = row_labels(df, is_table, None)
    if is_table:
        missing = [c for c in ("lon", "lat") if c not in df.columns]
        if missing:
            for col in missing:
                report.error("missing_column", label, None, col,
                             aliases=" / ".join(_CROSSING_ALIASES[col]))
            raise ReadAbortedError
        gdf = points_from_table(df, original, rows, coords, label, report)
    else:
        gdf = to_wgs84(df, coords, label, report, rows)
        gdf = drop_null_geometry(gdf, rows, label, report, error=False)
        if gdf.geometry.name != "geometry":
            gdf = gdf.rename_geometry("geometry")
        kinds = geometry_kinds(gdf)
        gdf = drop_wrong_kinds(gdf, kinds, ("Point", "MultiPoint"), "Point", rows, label, report,
                               error=False)
        gdf = gdf.copy()
        gdf["geometry"] = shapely.centroid(np.asarray(gdf.geometry.values))
    if "name" not in gdf.columns:
        gdf["name"] = [f"#{k + 1}" for k in range(len(gdf))]
    gdf["name"] = clean_text(gdf["name"].astype(str)).astype(object)
    return order_columns(gdf[["name", "geometry"]], ("name",))
