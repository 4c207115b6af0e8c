"""What every reader does to a layer's rows: the source read within the limits, row labels, numbers, ids and text cleaned, coordinates brought to WGS84, geometry kinds checked and polygons repaired; each problem a finding naming the file, rows and column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning.base.config import SettingError
from grid_planning.domain import schema
from grid_planning.geo import coords as _coords
from grid_planning.io import inputs as _inputs
from grid_planning.io import limits
from grid_planning.io.findings import ValidationReport

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
class ReadAbortedError(Exception):
    """The file cannot be used at all; the finding is already in the report (raised by the
    readers, caught by :func:`run_reader`)."""


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


POLYGON_KINDS = ("Polygon", "MultiPolygon")


def run_reader(
    read,
    path: LayerInput,
    coords: str,
    report: ValidationReport | None,
    label: str | None,
    kind: str,
    empty_columns: Iterable[str],
    *args,
    choice: str | None = None,
    encoding: str | None = None,
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
        df, is_table = _read_any(path, label, report, kind, choice, encoding)
        out = read(df, is_table, coords, label, report, *args)
    except ReadAbortedError:
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


def clean_text(series: pd.Series) -> pd.Series:
    """Strings with surrounding space removed; missing stays missing."""
    return series.map(lambda v: v.strip() if isinstance(v, str) else v)


def ids_as_text(series: pd.Series) -> pd.Series:
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
    encoding: str | None = None,
) -> tuple[pd.DataFrame, bool]:
    """The raw rows of a layer and whether they came from a table (no geometry column).

    Files are opened by :func:`grid_planning.io.inputs.open_layer` (limits, archives, the choice of
    a layer or sheet); its problems become findings on ``label``. Raises :class:`ReadAbortedError`
    after recording the finding when the file cannot be used.
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        is_table = not isinstance(df, gpd.GeoDataFrame)
        if is_table and not isinstance(df.index, pd.RangeIndex):
            df = df.reset_index(drop=True)
        if len(df) == 0:
            report.error("file_empty", label)
            raise ReadAbortedError
        return df, is_table
    path = Path(source)
    if not path.exists():
        report.error("file_missing", label, path=str(source))
        raise ReadAbortedError
    if path.stat().st_size == 0:
        report.error("file_empty", label)
        raise ReadAbortedError
    try:
        opened = _inputs.open_layer(path, kind=kind, choice=choice, label=label, encoding=encoding)
    except limits.InputError as problem:
        report.error(problem.code, label, None, problem.column, **problem.params)
        raise ReadAbortedError from problem
    except SettingError:
        raise  # the server's configuration, not the user's file
    except Exception as exc:  # any reader failure is the user's file, not our crash
        report.error("file_unreadable", label, detail=limits.short_detail(exc, label, [path]))
        raise ReadAbortedError from exc
    for code, params in opened.notes:
        report.warning(code, label, **params)
    df = opened.frame
    if len(df) == 0:
        report.error("file_empty", label)
        raise ReadAbortedError
    return df, opened.is_table


def row_labels(df: pd.DataFrame, is_table: bool, id_col: object | None) -> pd.Series:
    """How each row is named in findings: spreadsheet row for tables, feature id for GIS files."""
    if is_table:
        return pd.Series([str(int(i) + 2) for i in df.index], index=df.index)
    numbers = pd.Series([f"#{k + 1}" for k in range(len(df))], index=df.index)
    if id_col is None:
        return numbers
    ids = ids_as_text(df[id_col])
    return ids.where(ids.notna() & ids.ne(""), numbers).astype(str)


def rename_columns(
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


def to_wgs84(
    gdf: gpd.GeoDataFrame, coords: str, label: str, report: ValidationReport, rows: pd.Series
) -> gpd.GeoDataFrame:
    """CRS checks, reprojection to WGS84 and the GCJ-02/BD-09 shift for a GIS layer (geometries
    with non-finite coordinates dropped first: :func:`_drop_non_finite`)."""
    gdf = _drop_non_finite(gdf, rows, label, report)
    geoms = gdf.geometry
    valid = present_mask(geoms)
    bounds = geoms[valid].total_bounds if valid.any() else np.array([0.0, 0.0, 0.0, 0.0])
    lonlat_source = True
    if gdf.crs is None:
        if _looks_like_degrees(bounds):
            report.warning("crs_assumed_wgs84", label)
            gdf = gdf.set_crs(WGS84)
        else:
            report.error("projected_without_crs", label, bounds=_fmt_bounds(bounds))
            raise ReadAbortedError
    elif gdf.crs.is_geographic:
        if not _looks_like_degrees(bounds):
            report.error("projected_without_crs", label, bounds=_fmt_bounds(bounds))
            raise ReadAbortedError
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


def points_from_table(
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
            raise ReadAbortedError
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
def check_numeric(
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


def check_ids(
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
    ids = ids_as_text(gdf["id"])
    blank = ids.isna() | ids.eq("")
    if blank.any():
        report.error("missing_value", label, rows_text(rows[blank]), original["id"])
    dup = ids.duplicated(keep=False) & ~blank
    if dup.any():
        for value, idx in ids[dup].groupby(ids[dup], sort=False).groups.items():
            report.error("duplicate_id", label, rows_text(rows[idx]), original["id"], value=value)
    return ids


def geometry_kinds(gdf: gpd.GeoDataFrame) -> pd.Series:
    return gdf.geometry.geom_type.fillna("None")


def repair_polygons(
    gdf: gpd.GeoDataFrame, rows: pd.Series, label: str, report: ValidationReport
) -> gpd.GeoDataFrame:
    """Make invalid polygons valid (shapely ``make_valid``, polygon parts kept) with a warning."""
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        fixed = shapely.make_valid(np.asarray(gdf.geometry[invalid].values))
        # make_valid may return a collection with stray lines; keep only the area.
        fixed = [polygonal_part(g) for g in fixed]
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = gpd.GeoSeries(
            fixed, index=gdf.index[invalid], crs=gdf.crs
        )
        report.warning(
            "geometry_repaired", label, rows_text(rows[invalid]), count=int(invalid.sum())
        )
    return gdf


def polygonal_part(geom):
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def drop_wrong_kinds(
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
        raise ReadAbortedError
    return gdf


def drop_null_geometry(
    gdf: gpd.GeoDataFrame, rows: pd.Series, label: str, report: ValidationReport, *, error: bool
) -> gpd.GeoDataFrame:
    null = gdf.geometry.isna() | gdf.geometry.is_empty
    if null.any():
        (report.error if error else report.warning)(
            "missing_geometry", label, rows_text(rows[null])
        )
        gdf = gdf[~null]
    return gdf


def order_columns(gdf: gpd.GeoDataFrame, first: Sequence[str]) -> gpd.GeoDataFrame:
    lead = [c for c in first if c in gdf.columns]
    rest = [c for c in gdf.columns if c not in lead and c != gdf.geometry.name]
    out = gdf[[*lead, *rest, gdf.geometry.name]].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.name, crs=gdf.crs)


def present_mask(geoms: gpd.GeoSeries) -> pd.Series:
    """Rows with a geometry that is neither missing nor empty."""
    arr = np.asarray(geoms.values)
    return pd.Series(~(shapely.is_missing(arr) | shapely.is_empty(arr)), index=geoms.index)
