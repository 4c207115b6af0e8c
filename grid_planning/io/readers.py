"""Reading one layer from a file: units, facilities, boundary, districts and roads, in any
supported format and encoding (through :mod:`grid_planning.io.inputs`), validated row by row.

Each reader returns a frame in the canonical schema and the findings that say what was wrong,
which file, which row and column, and what to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.base.config import SettingError
from grid_planning.domain import rules, schema
from grid_planning.geo import coords as _coords
from grid_planning.io import inputs as _inputs
from grid_planning.io.findings import ValidationReport

if TYPE_CHECKING:
    pass



#: Default side of the cells that point population is aggregated onto.
DEFAULT_CELL_M = 1000.0


#: At most this many rows are listed in one finding; the rest are counted.
MAX_ROWS_LISTED = 10


WGS84 = "EPSG:4326"


# Only used when no layer has any geometry (the report has errors then).
FALLBACK_METRIC_CRS = "EPSG:3857"


PathLike = str | Path


LayerInput = PathLike | pd.DataFrame


class LayerError(ValueError):
    """Raised by a reader called without a report when its input has an error."""

    def __init__(self, report: ValidationReport, lang: str = "en"):
        self.report = report
        super().__init__(report.format(lang=lang))


# =============================================================================================
# Small helpers
# =============================================================================================
class _AbortError(Exception):
    """Internal: the file cannot be used at all; the finding is already in the report."""


def file_label(source: LayerInput, label: str | None, default: str) -> str:
    if label:
        return label
    if isinstance(source, (str, Path)):
        return Path(source).name
    return default


def rows_text(labels: Sequence[object]) -> str:
    """``"2, 5, 9"`` or ``"2, 5, ... (+40 more)"`` for a finding's row field."""
    labels = [str(x) for x in labels]
    if len(labels) <= MAX_ROWS_LISTED:
        return ", ".join(labels)
    return ", ".join(labels[:MAX_ROWS_LISTED]) + f", ... (+{len(labels) - MAX_ROWS_LISTED})"


def _finish(report: ValidationReport, own_report: bool) -> None:
    if own_report and not report.ok:
        raise LayerError(report)


def empty_frame(columns: Iterable[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=WGS84)


_POLYGONS = ("Polygon", "MultiPolygon")


def _run_reader(
    read,
    path: LayerInput,
    coords: str,
    report: ValidationReport | None,
    label: str | None,
    kind: str,
    empty_columns: Iterable[str],
    *args,
    choice: str | None = None,
) -> gpd.GeoDataFrame:
    """What every public ``read_*`` does around its reader: open the file (``choice``: its layer
    or sheet), a report of its own (raising :class:`LayerError` on error) unless one is given,
    and an empty layer when reading aborts. ``read`` gets the raw rows and whether they are a
    table."""
    own = report is None
    report = ValidationReport() if own else report
    label = file_label(path, label, kind)
    coords = _coords.normalise_coord_system(coords)
    try:
        df, is_table = _read_any(path, label, report, kind, choice)
        out = read(df, is_table, coords, label, report, *args)
    except _AbortError:
        out = empty_frame(empty_columns)
    _finish(report, own)
    return out


def _nfkc(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from user text: full-width digits and thousands separators accepted.

    Returns the parsed values (NaN where empty or unreadable) and a mask of the cells that had
    text but could not be read as a number. Infinity ("inf", "1e309", a GIS file's float) is
    not a number here: a population or a bed count of infinity would pass every check above 0.
    """
    if pd.api.types.is_numeric_dtype(series):
        values = series.astype(float)
        bad = pd.Series(np.isinf(values.to_numpy()), index=series.index)
        return values.where(~bad), bad
    present = series.notna() & series.astype(str).str.strip().ne("")
    text = series.where(present).map(
        lambda v: re.sub(r"[,\s，]", "", _nfkc(v)) if isinstance(v, str) else v
    )
    values = pd.to_numeric(text, errors="coerce").astype(float)
    values = values.where(~np.isinf(values.to_numpy()))
    bad = present & values.isna()
    return values, bad


def _clean_text(series: pd.Series) -> pd.Series:
    """Strings with surrounding space removed; missing stays missing."""
    return series.map(lambda v: v.strip() if isinstance(v, str) else v)


def _ids_as_text(series: pd.Series) -> pd.Series:
    # Integer-valued floats (from GIS files or Excel) read back as "12", not "12.0".
    if pd.api.types.is_float_dtype(series):
        return series.map(
            lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v))
        )
    return series.map(lambda v: None if pd.isna(v) else _nfkc(v))


# =============================================================================================
# Reading raw files
# =============================================================================================
def _read_any(
    source: LayerInput,
    label: str,
    report: ValidationReport,
    kind: str | None = None,
    choice: str | None = None,
) -> tuple[pd.DataFrame, bool]:
    """The raw rows of a layer and whether they came from a table (no geometry column).

    Files are opened by :func:`grid_planning.io.inputs.open_layer` (limits, archives, the choice of
    a layer or sheet); its problems become findings on ``label``. Raises :class:`_AbortError`
    after recording the finding when the file cannot be used.
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        is_table = not isinstance(df, gpd.GeoDataFrame)
        if is_table and not isinstance(df.index, pd.RangeIndex):
            df = df.reset_index(drop=True)
        if len(df) == 0:
            report.error("file_empty", label)
            raise _AbortError
        return df, is_table
    path = Path(source)
    if not path.exists():
        report.error("file_missing", label, path=str(source))
        raise _AbortError
    if path.stat().st_size == 0:
        report.error("file_empty", label)
        raise _AbortError
    try:
        opened = _inputs.open_layer(path, kind=kind, choice=choice, label=label)
    except _inputs.InputError as problem:
        report.error(problem.code, label, None, problem.column, **problem.params)
        raise _AbortError from problem
    except SettingError:
        raise  # the server's configuration, not the user's file
    except Exception as exc:  # any reader failure is the user's file, not our crash
        report.error("file_unreadable", label, detail=_inputs.short_detail(exc, label, [path]))
        raise _AbortError from exc
    for code, params in opened.notes:
        report.warning(code, label, **params)
    df = opened.frame
    if len(df) == 0:
        report.error("file_empty", label)
        raise _AbortError
    return df, opened.is_table


def _row_labels(df: pd.DataFrame, is_table: bool, id_col: object | None) -> pd.Series:
    """How each row is named in findings: spreadsheet row for tables, feature id for GIS files."""
    if is_table:
        return pd.Series([str(int(i) + 2) for i in df.index], index=df.index)
    numbers = pd.Series([f"#{k + 1}" for k in range(len(df))], index=df.index)
    if id_col is None:
        return numbers
    ids = _ids_as_text(df[id_col])
    return ids.where(ids.notna() & ids.ne(""), numbers).astype(str)


def _rename(
    df: pd.DataFrame, aliases: Mapping[str, tuple[str, ...]], geometry_name: str | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Canonical column names; returns the frame and ``{canonical: name in the user's file}``."""
    columns = [c for c in df.columns if c != geometry_name]
    mapping = schema.resolve_columns(columns, aliases)
    # A user column that already has a canonical name but was not chosen would clash; suffix it.
    taken = set(mapping.values())
    rename: dict[object, str] = dict(mapping)
    for col in columns:
        if col not in mapping and str(col) in taken:
            rename[col] = f"{col}_original"
    original = {canon: str(col) for col, canon in mapping.items()}
    return df.rename(columns=rename), original


# =============================================================================================
# CRS and coordinates
# =============================================================================================
def _looks_like_degrees(bounds: np.ndarray) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(-180.0 <= minx <= maxx <= 180.0 and -90.0 <= miny <= maxy <= 90.0)


def _drop_non_finite(
    gdf: gpd.GeoDataFrame, rows: pd.Series, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    """Geometries with a coordinate that is not a number (NaN, infinity) become missing, with a
    warning naming the rows: GEOS cannot repair or measure them (``make_valid`` raised on a unit
    with one NaN vertex), and the layer's extent would be NaN. What a missing geometry costs is
    reported where it matters (a facility not placed, a unit's residents)."""
    arr = np.asarray(gdf.geometry.values)
    coords, index = shapely.get_coordinates(arr, return_index=True)
    bad_pos = np.unique(index[~np.isfinite(coords).all(axis=1)])
    if not len(bad_pos):
        return gdf
    report.warning("geometry_not_finite", label, rows_text(rows.iloc[bad_pos]), count=len(bad_pos))
    gdf = gdf.copy()
    arr = arr.copy()
    arr[bad_pos] = None
    return gdf.set_geometry(gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs))


def _to_wgs84(
    gdf: gpd.GeoDataFrame, coords: str, label: str, report: ValidationReport, rows: pd.Series
) -> gpd.GeoDataFrame:
    """CRS checks, reprojection to WGS84 and the GCJ-02/BD-09 shift for a GIS layer (geometries
    with non-finite coordinates dropped first: :func:`_drop_non_finite`)."""
    gdf = _drop_non_finite(gdf, rows, label, report)
    geoms = gdf.geometry
    valid = _present(geoms)
    bounds = geoms[valid].total_bounds if valid.any() else np.array([0.0, 0.0, 0.0, 0.0])
    lonlat_source = True
    if gdf.crs is None:
        if _looks_like_degrees(bounds):
            report.warning("crs_assumed_wgs84", label)
            gdf = gdf.set_crs(WGS84)
        else:
            report.error("projected_without_crs", label, bounds=_fmt_bounds(bounds))
            raise _AbortError
    elif gdf.crs.is_geographic:
        if not _looks_like_degrees(bounds):
            report.error("projected_without_crs", label, bounds=_fmt_bounds(bounds))
            raise _AbortError
        if not gdf.crs.equals(WGS84):
            gdf = gdf.to_crs(WGS84)
    else:
        lonlat_source = False
        gdf = gdf.to_crs(WGS84)
    if coords != "wgs84":
        if lonlat_source:
            gdf = _coords.convert_geometry(gdf, from_=coords)
        else:
            report.warning("coords_ignored_projected", label, coords=coords)
    return gdf


def _fmt_bounds(bounds: np.ndarray) -> str:
    return ", ".join(f"{v:.6g}" for v in bounds)


def coord_system(coords: str | Mapping[str, str] | None, layer: str) -> str:
    if isinstance(coords, Mapping):
        return _coords.normalise_coord_system(coords.get(layer, "wgs84"))
    return _coords.normalise_coord_system(coords)


def _points_from_table(
    df: pd.DataFrame,
    original: Mapping[str, str],
    rows: pd.Series,
    coords: str,
    label: str,
    report: ValidationReport,
) -> gpd.GeoDataFrame:
    """Point geometry from lon/lat columns: parse, drop bad rows, fix swaps, shift GCJ/BD."""
    lon, bad_lon = _parse_numbers(df["lon"])
    lat, bad_lat = _parse_numbers(df["lat"])
    for col, bad, values in (("lon", bad_lon, df["lon"]), ("lat", bad_lat, df["lat"])):
        if bad.any():
            for value, idx in values[bad].groupby(values[bad], sort=False).groups.items():
                report.error(
                    "coordinate_unparseable",
                    label,
                    rows_text(rows[idx]),
                    original[col],
                    value=value,
                )
    missing = (lon.isna() & ~bad_lon) | (lat.isna() & ~bad_lat)
    if missing.any():
        cols = f"{original['lon']}/{original['lat']}"
        report.error("coordinate_missing", label, rows_text(rows[missing]), cols)
    ok = lon.notna() & lat.notna()
    lon, lat = lon[ok], lat[ok]
    if ok.any():
        far = (lon.abs() > 180) | (lat.abs() > 90)
        swapped = (lat.abs() > 90) & (lat.abs() <= 180) & (lon.abs() <= 90)
        if far.sum() > 0.5 * len(lon) and not swapped.all():
            # Mostly metres, not degrees: projected coordinates in a table that has no CRS.
            bounds = np.array([lon.min(), lat.min(), lon.max(), lat.max()])
            report.error(
                "projected_without_crs",
                label,
                None,
                f"{original['lon']}/{original['lat']}",
                bounds=_fmt_bounds(bounds),
            )
            raise _AbortError
        if swapped.any():
            report.warning(
                "swapped_lonlat",
                label,
                rows_text(rows[swapped.index[swapped]]),
                f"{original['lon']}/{original['lat']}",
            )
            lon, lat = lon.where(~swapped, lat), lat.where(~swapped, lon)
        out_of_range = (lon.abs() > 180) | (lat.abs() > 90)
        if out_of_range.any():
            for idx in out_of_range.index[out_of_range]:
                report.error(
                    "coordinate_out_of_range",
                    label,
                    rows[idx],
                    f"{original['lon']}/{original['lat']}",
                    value=f"{lon[idx]:.6g}, {lat[idx]:.6g}",
                )
            lon, lat = lon[~out_of_range], lat[~out_of_range]
    kept = df.loc[lon.index].copy()
    if coords != "wgs84" and len(lon):
        lon_w, lat_w = _coords.to_wgs84(lon.to_numpy(), lat.to_numpy(), coords)
        lon = pd.Series(np.atleast_1d(lon_w), index=lon.index)
        lat = pd.Series(np.atleast_1d(lat_w), index=lat.index)
    return gpd.GeoDataFrame(kept, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


# =============================================================================================
# Column checks shared by the layers
# =============================================================================================
def _check_numeric(
    gdf: pd.DataFrame,
    column: str,
    original: Mapping[str, str],
    rows: pd.Series,
    label: str,
    report: ValidationReport,
    *,
    required: bool,
) -> pd.Series:
    """Numbers >= 0 in ``column``; unreadable and negative values are errors (value kept NaN)."""
    values, bad = _parse_numbers(gdf[column])
    name = original.get(column, column)
    raw = gdf[column]
    for value, idx in raw[bad].groupby(raw[bad].astype(str), sort=False).groups.items():
        report.error("not_numeric", label, rows_text(rows[idx]), name, value=value)
    negative = values < 0
    if negative.any():
        for idx in negative.index[negative]:
            report.error("negative_value", label, rows[idx], name, value=f"{values[idx]:g}")
        values = values.where(~negative)
    if required:
        empty = values.isna() & ~bad & ~negative
        if empty.any():
            report.error("missing_value", label, rows_text(rows[empty]), name)
    return values


def _check_ids(
    gdf: pd.DataFrame,
    original: Mapping[str, str],
    rows: pd.Series,
    label: str,
    report: ValidationReport,
    prefix: str,
) -> pd.Series:
    """Text ids: generated when the column is absent; duplicates and blanks are errors."""
    if "id" not in gdf.columns:
        report.warning("id_generated", label, example=f"{prefix}0001")
        width = max(4, len(str(len(gdf))))
        return pd.Series([f"{prefix}{k + 1:0{width}d}" for k in range(len(gdf))], index=gdf.index)
    ids = _ids_as_text(gdf["id"])
    blank = ids.isna() | ids.eq("")
    if blank.any():
        report.error("missing_value", label, rows_text(rows[blank]), original["id"])
    dup = ids.duplicated(keep=False) & ~blank
    if dup.any():
        for value, idx in ids[dup].groupby(ids[dup], sort=False).groups.items():
            report.error("duplicate_id", label, rows_text(rows[idx]), original["id"], value=value)
    return ids


def _geometry_kinds(gdf: gpd.GeoDataFrame) -> pd.Series:
    return gdf.geometry.geom_type.fillna("None")


def _repair_polygons(
    gdf: gpd.GeoDataFrame, rows: pd.Series, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    """Make invalid polygons valid (shapely ``make_valid``, polygon parts kept) with a warning."""
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        fixed = shapely.make_valid(np.asarray(gdf.geometry[invalid].values))
        # make_valid may return a collection with stray lines; keep only the area.
        fixed = [_polygonal_part(g) for g in fixed]
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = gpd.GeoSeries(
            fixed, index=gdf.index[invalid], crs=gdf.crs
        )
        report.warning(
            "geometry_repaired", label, rows_text(rows[invalid]), count=int(invalid.sum())
        )
    return gdf


def _polygonal_part(geom):
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def _drop_wrong_kinds(
    gdf: gpd.GeoDataFrame,
    kinds: pd.Series,
    allowed: Sequence[str],
    expected: str,
    rows: pd.Series,
    label: str,
    report: ValidationReport,
    *,
    error: bool = True,
) -> gpd.GeoDataFrame:
    """Drop the rows whose geometry kind is not ``allowed``, one finding per kind found (an error,
    or a warning for an optional layer), then abort when no row is left."""
    wrong = ~kinds.isin(allowed)
    if wrong.any():
        emit = report.error if error else report.warning
        for kind, idx in kinds[wrong].groupby(kinds[wrong]).groups.items():
            emit(
                "wrong_geometry", label, rows_text(rows[idx]), None, expected=expected, found=kind
            )
        gdf = gdf[~wrong]
    if len(gdf) == 0:
        report.error("no_rows_left", label)
        raise _AbortError
    return gdf


def _drop_null_geometry(
    gdf: gpd.GeoDataFrame, rows: pd.Series, label: str, report: ValidationReport, *, error: bool
) -> gpd.GeoDataFrame:
    null = gdf.geometry.isna() | gdf.geometry.is_empty
    if null.any():
        (report.error if error else report.warning)(
            "missing_geometry", label, rows_text(rows[null])
        )
        gdf = gdf[~null]
    return gdf


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

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326 with the canonical columns of the module contract plus ``lon``/``lat``
        (WGS84); rows without a usable position are dropped.
    """
    return _run_reader(
        _read_facilities,
        path,
        coords,
        report,
        label,
        "facilities",
        (*FACILITY_COLUMNS, "lon", "lat"),
        choice=layer,
    )


def _read_facilities(
    df: pd.DataFrame, is_table: bool, coords: str, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    geometry_name = None if is_table else df.geometry.name
    df, original = _rename(df, schema.FACILITY_ALIASES, geometry_name)
    rows = _row_labels(df, is_table, "id" if "id" in df.columns else None)

    required = ["name", "lon", "lat"] if is_table else ["name"]
    missing = [c for c in required if c not in df.columns]
    for col in missing:
        report.error(
            "missing_column", label, None, col, aliases=" / ".join(schema.FACILITY_ALIASES[col])
        )
    if missing:
        raise _AbortError

    if is_table:
        gdf = _points_from_table(df, original, rows, coords, label, report)
    else:
        gdf = _to_wgs84(df, coords, label, report, rows)
        gdf = _drop_null_geometry(gdf, rows, label, report, error=True)
        kinds = _geometry_kinds(gdf)
        # A MultiPoint of one point is a common export artefact: take the point.
        single = (kinds == "MultiPoint") & (
            gdf.geometry.map(lambda g: len(getattr(g, "geoms", []))) == 1
        )
        if single.any():
            gdf.loc[single, gdf.geometry.name] = gdf.geometry[single].map(lambda g: g.geoms[0])
            kinds = _geometry_kinds(gdf)
        gdf = _drop_wrong_kinds(gdf, kinds, ("Point",), "Point", rows, label, report)
        if gdf.geometry.name != "geometry":
            gdf = gdf.rename_geometry("geometry")
    if len(gdf) == 0:
        report.error("no_rows_left", label)
        raise _AbortError
    rows = rows[gdf.index]

    gdf = gdf.copy()
    gdf["id"] = _check_ids(gdf, original, rows, label, report, prefix="F")
    names = _clean_text(gdf["name"])
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

    for column in ("beds", "outpatient_slots"):
        if column in gdf.columns:
            gdf[column] = _check_numeric(gdf, column, original, rows, label, report, required=False)
    if "beds" not in gdf.columns:
        gdf["beds"] = np.nan

    gdf["source"] = (
        _clean_text(gdf["source"]).fillna("user").astype(str) if "source" in gdf.columns else "user"
    )
    if "level_source" in gdf.columns:
        gdf["level_source"] = _clean_text(gdf["level_source"]).fillna("data").astype(str)
    else:
        gdf["level_source"] = "data"
    if "district" in gdf.columns:
        gdf["district"] = _clean_text(gdf["district"])
    if "parent_id" in gdf.columns:
        # A campus names its parent institution; the parent must be in the same file.
        parents = _ids_as_text(gdf["parent_id"])
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
    out = _order_columns(gdf, (*FACILITY_COLUMNS, "district", "outpatient_slots", "lon", "lat"))
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


def _order_columns(gdf: gpd.GeoDataFrame, first: Sequence[str]) -> gpd.GeoDataFrame:
    lead = [c for c in first if c in gdf.columns]
    rest = [c for c in gdf.columns if c not in lead and c != gdf.geometry.name]
    out = gdf[[*lead, *rest, gdf.geometry.name]].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.name, crs=gdf.crs)


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

    Returns
    -------
    GeoDataFrame
        Polygons in EPSG:4326 with ``id``, ``name``, ``population`` (+ ``pop_65plus``,
        ``district`` and extras when present).
    """
    return _run_reader(
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
    df, original = _rename(df, aliases, geometry_name)
    rows = _row_labels(df, is_table, "id" if "id" in df.columns else None)
    required = ["population", "lon", "lat"] if is_table else ["population"]
    missing = [c for c in required if c not in df.columns]
    for col in missing:
        spellings = aliases[col]
        report.error("missing_column", label, None, col, aliases=" / ".join(spellings))
    if missing:
        raise _AbortError

    if is_table:
        points = _points_from_table(df, original, rows, coords, label, report)
        return _points_to_units(points, original, rows, label, report, boundary, cell_m)

    gdf = _to_wgs84(df, coords, label, report, rows)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    # One positional index for the frame and its row labels (an in-memory frame may have any).
    rows = pd.Series(rows.to_numpy(), index=pd.RangeIndex(len(gdf)))
    gdf = gdf.reset_index(drop=True)
    kinds = _geometry_kinds(gdf)
    present = _present(gdf.geometry)
    pointlike = kinds.isin(["Point", "MultiPoint"])
    if present.any() and pointlike[present].all():
        points = _drop_null_geometry(gdf, rows, label, report, error=False).copy()
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
    gdf["id"] = _check_ids(gdf, original, rows, label, report, prefix="U")
    gdf["population"] = _check_numeric(
        gdf, "population", original, rows, label, report, required=True
    )
    if "pop_65plus" in gdf.columns:
        gdf["pop_65plus"] = _check_numeric(
            gdf, "pop_65plus", original, rows, label, report, required=False
        )
    if "name" in gdf.columns:
        names = _clean_text(gdf["name"])
        gdf["name"] = names.where(names.notna() & names.astype(str).ne(""), gdf["id"]).astype(str)
    else:
        gdf["name"] = gdf["id"]
    if "district" in gdf.columns:
        gdf["district"] = _clean_text(gdf["district"])
    return _order_columns(gdf, (*UNIT_COLUMNS, "pop_65plus", "district"))


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
    kinds = _geometry_kinds(gdf)
    polygonal = kinds.isin(_POLYGONS)
    present = _present(geoms)
    fixed = geoms.copy()
    invalid = polygonal & present & ~geoms.is_valid
    if invalid.any():
        repaired = [_polygonal_part(g) for g in shapely.make_valid(np.asarray(geoms[invalid].values))]
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
        raise _AbortError
    return keep.reset_index(drop=True)


def _present(geoms: gpd.GeoSeries) -> pd.Series:
    """Rows with a geometry that is neither missing nor empty."""
    arr = np.asarray(geoms.values)
    return pd.Series(~(shapely.is_missing(arr) | shapely.is_empty(arr)), index=geoms.index)


def _metric_for(gdf: gpd.GeoDataFrame) -> str:
    valid = gdf[_present(gdf.geometry).to_numpy()]
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
    points["population"] = _check_numeric(
        points, "population", original, rows, label, report, required=True
    )
    weights = ["population"]
    if "pop_65plus" in points.columns:
        points["pop_65plus"] = _check_numeric(
            points, "pop_65plus", original, rows, label, report, required=False
        )
        weights.append("pop_65plus")
    points = points[points["population"].notna()]
    if len(points) == 0:
        report.error("no_rows_left", label)
        raise _AbortError
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
        raise _AbortError
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
            gpd.GeoSeries([_polygonal_part(g) for g in clipped], crs=metric)
        )[keep]
    cells = cells.reset_index(drop=True)
    cells.insert(0, "id", [f"C{a}_{b}" for a, b in zip(cells["ix"], cells["iy"], strict=True)])
    cells.insert(1, "name", cells["id"])
    cells = cells.drop(columns=["ix", "iy"]).to_crs(WGS84)
    return cells, dropped


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
    return _run_reader(
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
        raise _AbortError
    df, _ = _rename(df, _POLYGON_ALIASES, df.geometry.name)
    rows = _row_labels(df, False, None)
    gdf = _to_wgs84(df, coords, label, report, rows)
    gdf = _drop_null_geometry(gdf, rows, label, report, error=False)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    kinds = _geometry_kinds(gdf)
    gdf = _drop_wrong_kinds(gdf, kinds, _POLYGONS, "Polygon/MultiPolygon", rows, label, report)
    gdf = _repair_polygons(gdf, rows[gdf.index], label, report)
    if "name" not in gdf.columns:
        gdf["name"] = [f"{Path(label).stem}" if dissolve else f"#{k + 1}" for k in range(len(gdf))]
    gdf["name"] = gdf["name"].astype(str)
    if dissolve:
        name = gdf["name"].iloc[0] if len(gdf) == 1 else Path(label).stem
        outline = shapely.union_all(np.asarray(gdf.geometry.values))
        return gpd.GeoDataFrame({"name": [name]}, geometry=[outline], crs=WGS84)
    return _order_columns(gdf, ("name",))


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
    return _run_reader(
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
        raise _AbortError
    df, original = _rename(df, schema.ROAD_ALIASES, df.geometry.name)
    rows = _row_labels(df, False, None)
    gdf = _to_wgs84(df, coords, label, report, rows)
    gdf = _drop_null_geometry(gdf, rows, label, report, error=False)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    kinds = _geometry_kinds(gdf)
    gdf = _drop_wrong_kinds(
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
        _clean_text(gdf["highway"]).astype(object) if "highway" in gdf.columns else None
    )
    if "speed_kmh" in gdf.columns:
        gdf["speed_kmh"] = _check_numeric(
            gdf, "speed_kmh", original, rows[gdf.index], label, report, required=False
        )
    else:
        gdf["speed_kmh"] = np.nan
    return _order_columns(gdf, ("highway", "speed_kmh"))
