"""Population units: polygons (with residents) or points (residents summed into the polygons that hold them, or into square cells), ids and numbers checked, slivers and empty units reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.domain import schema
from grid_planning.geo import coords as _coords
from grid_planning.io.findings import ValidationReport
from grid_planning.io.rows import (
    FALLBACK_METRIC_CRS,
    MAX_ROWS_LISTED,
    POLYGON_KINDS,
    WGS84,
    LayerInput,
    ReadAbortedError,
    check_ids,
    check_numeric,
    clean_text,
    drop_null_geometry,
    geometry_kinds,
    order_columns,
    points_from_table,
    polygonal_part,
    present_mask,
    rename_columns,
    row_labels,
    rows_text,
    run_reader,
    to_wgs84,
)

#: Default side of the cells that point population is aggregated onto.
DEFAULT_CELL_M = 1000.0


# =============================================================================================
# Population units
# =============================================================================================
UNIT_COLUMNS = ("id", "name", "population")


def read_units(
    path: LayerInput,
    coords: str = "wgs84",
    report: ValidationReport | None = None,
    *,
    boundary: gpd.GeoDataFrame | None = None,
    cell_m: float = DEFAULT_CELL_M,
    label: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read and validate population units.

    Parameters
    ----------
    path : str, Path or DataFrame
        Polygons (GeoJSON, GeoPackage, zipped Shapefile) with a population column; or points
        (a GIS point layer, or a raster-like CSV/XLSX with lon, lat, population), which are
        aggregated onto regular cells with :func:`aggregate_points_to_cells`.
    coords : {"wgs84", "gcj02", "bd09"}
        System of lon/lat input.
    report : ValidationReport, optional
        Where findings go; without one, an error raises :class:`LayerError`.
    boundary : GeoDataFrame, optional
        City outline (WGS84) that point population cells are clipped to.
    cell_m : float
        Cell side in metres for point population.
    label : str, optional
        File name shown in findings.
    layer : str, optional
        The layer (GeoPackage, zip of several files) or sheet (XLSX) to read; by default the one
        that holds usable data (see :mod:`grid_planning.io.inputs`).
    encoding : str, optional
        A CSV's text encoding (``big5``, ``gbk``, ``utf-8`` ...); by default detected.

    Returns
    -------
    GeoDataFrame
        Polygons in EPSG:4326 with ``id``, ``name``, ``population`` (+ ``pop_65plus``,
        ``district`` and extras when present).
    """
    return run_reader(
        _read_units,
        path,
        coords,
        report,
        label,
        "units",
        UNIT_COLUMNS,
        boundary,
        cell_m,
        choice=layer,
        encoding=encoding,
    )


def _read_units(
    df: pd.DataFrame,
    is_table: bool,
    coords: str,
    label: str,
    report: ValidationReport,
    boundary: gpd.GeoDataFrame | None,
    cell_m: float,
) -> gpd.GeoDataFrame:
    geometry_name = None if is_table else df.geometry.name
    aliases = schema.UNIT_ALIASES | (
        {"lon": schema.FACILITY_ALIASES["lon"], "lat": schema.FACILITY_ALIASES["lat"]}
        if is_table
        else {}
    )
    df, original = rename_columns(df, aliases, geometry_name)
    rows = row_labels(df, is_table, "id" if "id" in df.columns else None)
    required = ["population", "lon", "lat"] if is_table else ["population"]
    missing = [c for c in required if c not in df.columns]
    for col in missing:
        spellings = aliases[col]
        report.error("missing_column", label, None, col, aliases=" / ".join(spellings))
    if missing:
        raise ReadAbortedError

    if is_table:
        points = points_from_table(df, original, rows, coords, label, report)
        return _points_to_units(points, original, rows, label, report, boundary, cell_m)

    gdf = to_wgs84(df, coords, label, report, rows)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    # One positional index for the frame and its row labels (an in-memory frame may have any).
    rows = pd.Series(rows.to_numpy(), index=pd.RangeIndex(len(gdf)))
    gdf = gdf.reset_index(drop=True)
    kinds = geometry_kinds(gdf)
    present = present_mask(gdf.geometry)
    pointlike = kinds.isin(["Point", "MultiPoint"])
    if present.any() and pointlike[present].all():
        points = drop_null_geometry(gdf, rows, label, report, error=False).copy()
        points["geometry"] = (
            points.geometry.centroid if (kinds == "MultiPoint").any() else points.geometry
        )
        return _points_to_units(points, original, rows, label, report, boundary, cell_m)
    gdf = _finish_units(gdf.copy(), original, rows, label, report)
    return _usable_units(gdf, rows, label, report)


def _finish_units(
    gdf: gpd.GeoDataFrame,
    original: Mapping[str, str],
    rows: pd.Series,
    label: str,
    report: ValidationReport,
) -> gpd.GeoDataFrame:
    gdf["id"] = check_ids(gdf, original, rows, label, report, prefix="U")
    gdf["population"] = check_numeric(
        gdf, "population", original, rows, label, report, required=True
    )
    if "pop_65plus" in gdf.columns:
        gdf["pop_65plus"] = check_numeric(
            gdf, "pop_65plus", original, rows, label, report, required=False
        )
    if "name" in gdf.columns:
        names = clean_text(gdf["name"])
        gdf["name"] = names.where(names.notna() & names.astype(str).ne(""), gdf["id"]).astype(str)
    else:
        gdf["name"] = gdf["id"]
    if "district" in gdf.columns:
        gdf["district"] = clean_text(gdf["district"])
    return order_columns(gdf, (*UNIT_COLUMNS, "pop_65plus", "district"))


#: A unit whose area (after repair) is below this many square metres has no usable geometry.
MIN_UNIT_AREA_M2 = 1.0


#: A repair that changes a unit's area by more than this share is reported unit by unit.
AREA_CHANGE_REPORTED = 0.01


def _usable_units(
    gdf: gpd.GeoDataFrame, rows: pd.Series, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    """Never lose a resident: repair what can be repaired, place what cannot, refuse the rest.

    - Invalid polygons are made valid (polygon parts kept); a unit whose area changes by more than
      :data:`AREA_CHANGE_REPORTED` is listed with its area before and after.
    - A unit whose geometry is unusable (no geometry, empty, not a polygon, or under
      :data:`MIN_UNIT_AREA_M2` after repair) cannot be planned. Its residents are kept when its own
      points (vertices) lie in another unit: they move to that unit, with a warning naming the rows,
      the residents and where they went. Otherwise it is an error naming the rows and the residents
      (a unit without residents is dropped with a warning).
    """
    geoms = gdf.geometry
    metric = _metric_for(gdf)
    kinds = geometry_kinds(gdf)
    polygonal = kinds.isin(POLYGON_KINDS)
    present = present_mask(geoms)
    fixed = geoms.copy()
    invalid = polygonal & present & ~geoms.is_valid
    if invalid.any():
        repaired = [polygonal_part(g) for g in shapely.make_valid(np.asarray(geoms[invalid].values))]
        fixed.loc[invalid] = gpd.GeoSeries(repaired, index=gdf.index[invalid], crs=gdf.crs)
    # Areas in metres only where they matter: repaired units, and units small even in degrees
    # (a square degree is ~1e10 m², so 1e-6 deg² is far above MIN_UNIT_AREA_M2); reprojecting a
    # whole city only to find it has no sliver would double the memory a load takes.
    sel = polygonal & present
    lonlat_area = pd.Series(np.asarray(shapely.area(np.asarray(fixed.values))), index=gdf.index)
    area = pd.Series(np.where(sel, np.inf, 0.0), index=gdf.index)
    measure = sel & (invalid | (lonlat_area < 1e-6))
    if measure.any():
        area[measure] = fixed[measure].to_crs(metric).area.to_numpy()
    usable = polygonal & present & ~fixed.is_empty & (area >= MIN_UNIT_AREA_M2)
    if invalid.any():
        before = pd.Series(0.0, index=gdf.index)
        before[invalid] = np.abs(geoms[invalid].to_crs(metric).area.to_numpy())
        ok = invalid & usable
        change = (area[ok] - before[ok]).abs() / before[ok].where(before[ok] > 0, np.nan)
        changed = change.index[(change > AREA_CHANGE_REPORTED) | change.isna()]
        if ok.any():  # a repair that left nothing usable is reported below, with its residents
            report.warning(
                "geometry_repaired", label, rows_text(rows[ok]), count=int(ok.sum())
            )
        if len(changed):
            detail = "; ".join(
                f"{rows[i]}: {before[i] / 1e6:,.3f} → {area[i] / 1e6:,.3f} km²" for i in changed[:MAX_ROWS_LISTED]
            ) + (f"; … (+{len(changed) - MAX_ROWS_LISTED})" if len(changed) > MAX_ROWS_LISTED else "")
            report.warning(
                "geometry_area_changed", label, rows_text(rows[changed]), count=len(changed),
                detail=detail,
            )
    wrong = present & ~polygonal
    for kind, idx in kinds[wrong].groupby(kinds[wrong]).groups.items():
        report.warning(
            "wrong_geometry", label, rows_text(rows[idx]), None,
            expected="Polygon/MultiPolygon", found=kind,
        )
    bad = gdf.index[~usable]
    if not len(bad):
        return gdf.set_geometry(fixed)
    pop = pd.to_numeric(gdf["population"], errors="coerce").fillna(0.0)
    keep = gdf.loc[usable].set_geometry(fixed[usable])
    keep_metric = np.asarray(keep.geometry.to_crs(metric).values)
    tree = shapely.STRtree(keep_metric) if len(keep_metric) else None
    weights = [c for c in ("population", "pop_65plus") if c in gdf.columns]
    moved: list[tuple[object, object, float]] = []
    lost: list[object] = []
    empty: list[object] = []
    for i in bad:
        residents = float(pop[i])
        target = _host_unit(geoms[i], tree, metric, gdf.crs) if tree is not None else None
        if target is not None and residents > 0:
            host = keep.index[target]
            for col in weights:
                add = pd.to_numeric(pd.Series([gdf.at[i, col]]), errors="coerce").fillna(0.0).iloc[0]
                keep.at[host, col] = float(pd.to_numeric(pd.Series([keep.at[host, col]]), errors="coerce").fillna(0.0).iloc[0]) + float(add)
            moved.append((i, host, residents))
        elif residents > 0:
            lost.append(i)
        else:
            empty.append(i)
    if moved:
        report.warning(
            "unit_merged",
            label,
            rows_text([rows[i] for i, _, _ in moved]),
            count=len(moved),
            residents=f"{sum(r for _, _, r in moved):,.0f}",
            where="; ".join(
                f"{rows[i]} → {keep.at[h, 'id']} ({r:,.0f})" for i, h, r in moved[:MAX_ROWS_LISTED]
            ),
        )
    if lost:
        report.error(
            "unit_unusable",
            label,
            rows_text([rows[i] for i in lost]),
            count=len(lost),
            residents=f"{sum(float(pop[i]) for i in lost):,.0f}",
        )
    if empty:
        report.warning("unit_unusable_empty", label, rows_text([rows[i] for i in empty]), count=len(empty))
    if len(keep) == 0:
        report.error("no_rows_left", label)
        raise ReadAbortedError
    return keep.reset_index(drop=True)


def _metric_for(gdf: gpd.GeoDataFrame) -> str:
    valid = gdf[present_mask(gdf.geometry).to_numpy()]
    return _coords.pick_metric_crs(valid) if len(valid) else FALLBACK_METRIC_CRS


def _host_unit(geom, tree, metric: str, crs) -> int | None:
    """The usable unit that holds most of ``geom``'s own points (vertices), or None."""
    if geom is None or geom.is_empty:
        return None
    pts = gpd.GeoSeries(
        shapely.points(shapely.get_coordinates(geom)), crs=crs
    ).to_crs(metric)
    if not len(pts):
        return None
    p_idx, u_idx = tree.query(np.asarray(pts.values), predicate="intersects")
    if not len(u_idx):
        return None
    counts = np.bincount(u_idx)
    return int(np.argmax(counts))


def _points_to_units(
    points: gpd.GeoDataFrame,
    original: Mapping[str, str],
    rows: pd.Series,
    label: str,
    report: ValidationReport,
    boundary: gpd.GeoDataFrame | None,
    cell_m: float,
) -> gpd.GeoDataFrame:
    rows = rows[points.index]
    points = points.copy()
    points["population"] = check_numeric(
        points, "population", original, rows, label, report, required=True
    )
    weights = ["population"]
    if "pop_65plus" in points.columns:
        points["pop_65plus"] = check_numeric(
            points, "pop_65plus", original, rows, label, report, required=False
        )
        weights.append("pop_65plus")
    points = points[points["population"].notna()]
    if len(points) == 0:
        report.error("no_rows_left", label)
        raise ReadAbortedError
    cells, dropped = _aggregate(points, boundary, cell_m, weights)
    report.warning(
        "points_aggregated", label, count=len(points), cells=len(cells), cell_m=f"{cell_m:g}"
    )
    if dropped[0]:
        report.warning(
            "points_outside_boundary", label, count=dropped[0], population=f"{dropped[1]:,.0f}"
        )
    if len(cells) == 0:
        report.error("no_rows_left", label)
        raise ReadAbortedError
    return cells


def aggregate_points_to_cells(
    points: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | None = None,
    cell_m: float = DEFAULT_CELL_M,
    *,
    weights: Sequence[str] = ("population",),
) -> gpd.GeoDataFrame:
    """Sum point population onto regular square cells, clipped to the boundary.

    Parameters
    ----------
    points : GeoDataFrame
        Points (any CRS) with the numeric ``weights`` columns.
    boundary : GeoDataFrame, optional
        City outline; cells are clipped to it and points whose cell misses it entirely are dropped.
        Without one, whole cells are returned.
    cell_m : float
        Cell side in metres, laid out in the metric CRS of the data (UTM zone) on a grid aligned
        to multiples of ``cell_m``, so the same points always give the same cells.
    weights : sequence of str
        Columns summed per cell.

    Returns
    -------
    GeoDataFrame
        One row per non-empty cell in EPSG:4326: ``id`` (``C<col>_<row>``), ``name``, the summed
        weights, geometry.
    """
    cells, _ = _aggregate(points, boundary, cell_m, list(weights))
    return cells


def _aggregate(
    points: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | None,
    cell_m: float,
    weights: list[str],
) -> tuple[gpd.GeoDataFrame, tuple[int, float]]:
    points = points if points.crs is not None else points.set_crs(WGS84)
    metric = _coords.pick_metric_crs(boundary if boundary is not None and len(boundary) else points)
    pts = points.to_crs(metric)
    x = pts.geometry.x.to_numpy()
    y = pts.geometry.y.to_numpy()
    ix = np.floor(x / cell_m).astype(np.int64)
    iy = np.floor(y / cell_m).astype(np.int64)
    frame = pd.DataFrame({"ix": ix, "iy": iy})
    for w in weights:
        frame[w] = pd.to_numeric(pts[w], errors="coerce").fillna(0.0).to_numpy()
    sums = frame.groupby(["ix", "iy"], sort=True)[weights].sum().reset_index()
    squares = shapely.box(
        sums["ix"] * cell_m,
        sums["iy"] * cell_m,
        (sums["ix"] + 1) * cell_m,
        (sums["iy"] + 1) * cell_m,
    )
    cells = gpd.GeoDataFrame(sums, geometry=squares, crs=metric)
    dropped = (0, 0.0)
    if boundary is not None and len(boundary):
        outline = shapely.union_all(np.asarray(boundary.to_crs(metric).geometry.values))
        clipped = shapely.intersection(np.asarray(cells.geometry.values), outline)
        keep = ~shapely.is_empty(clipped) & (shapely.area(clipped) > 0)
        lost = sums.loc[~keep, "ix"].size
        if lost:
            lost_keys = set(zip(sums.loc[~keep, "ix"], sums.loc[~keep, "iy"], strict=True))
            lost_points = [k in lost_keys for k in zip(ix, iy, strict=True)]
            dropped = (int(np.sum(lost_points)), float(frame.loc[lost_points, weights[0]].sum()))
        cells = cells.set_geometry(
            gpd.GeoSeries([polygonal_part(g) for g in clipped], crs=metric)
        )[keep]
    cells = cells.reset_index(drop=True)
    cells.insert(0, "id", [f"C{a}_{b}" for a, b in zip(cells["ix"], cells["iy"], strict=True)])
    cells.insert(1, "name", cells["id"])
    cells = cells.drop(columns=["ix", "iy"]).to_crs(WGS84)
    return cells, dropped
