"""City layers: load, validate and reproject the files a planner brings.

CONTRACT (filled in by the layers work; other modules rely only on what is written here):

``CityLayers`` holds, all in EPSG:4326 (WGS84) unless stated:

- ``units``: GeoDataFrame, RangeIndex; ``id`` (str, unique), ``name`` (str), ``population``
  (float >= 0), optional ``pop_65plus`` (float), optional ``district`` (str), user extras kept;
  valid Polygon/MultiPolygon geometry.
- ``facilities``: GeoDataFrame of Points; ``id`` (str, unique), ``name``, ``level``
  (:data:`schema.LEVELS`), ``type`` (:data:`schema.TYPES`), ``owner_level``
  (:data:`schema.OWNER_LEVELS`), ``beds`` (float, NaN when unknown), ``source`` ("real",
  "illustrative" or the user's own text, default "user"), ``level_source`` ("data" or "assumed"),
  optional ``district``, ``outpatient_slots``; extras kept.
- ``boundary``: GeoDataFrame with the city outline (union of the units when no file is given).
- ``districts``: GeoDataFrame (``name``, geometry) or ``None``.
- ``roads``: GeoDataFrame of LineStrings (``highway`` str or None, ``speed_kmh`` float or NaN) or None.
- ``metric_crs``: a projected CRS string chosen from the data (UTM zone of the centroid).
- ``report``: :class:`grid_planning.report.ValidationReport`.
- ``sources``: layer name -> file shown to the user.

Also: facilities carry ``lon``/``lat`` columns with their WGS84 position (after any GCJ-02/BD-09
conversion), and the boundary has one row (``name``, geometry: the dissolved outline).

How problems are reported
-------------------------
Every reader takes an optional :class:`~grid_planning.report.ValidationReport`. With a report,
nothing raises for bad data: each problem becomes a finding naming the file, the row (1-based
spreadsheet row with the header as row 1, or the feature id for GIS files), the column as the user
named it, and what to do; rows that cannot be used are dropped from the returned layer. Without a
report, a reader raises :class:`LayerError` when it finds an error (warnings are then discarded).
:func:`load_city` never raises for bad data.

Choices worth knowing
---------------------
- Files are opened by :mod:`grid_planning.inputs`: limits checked before memory is spent (zip
  directory, feature count, line count, vertices), zips unpacked safely into a temporary folder
  removed after reading, and the layer or sheet chosen (``layer=`` / ``load_city(layers=...)``;
  without a choice the one layer with usable data, named in a warning when the file holds others;
  several candidates are an error listing them).
- Swapped lon/lat is fixed automatically, with a warning naming the rows, in the two cases where
  the swap is unambiguous: the latitude is beyond +-90 deg while the longitude is a valid latitude,
  or the point lies outside the city boundary and the swapped point lies inside it.
- Points outside the city boundary are kept with a warning when they are more than
  :data:`OUTSIDE_TOLERANCE_M` beyond it (hospitals just across the city line are real and serve it).
- Point population (points, or a raster-like CSV of cell centres) becomes regular square cells of
  ``cell_m`` metres in the metric CRS, clipped to the boundary, with the population summed.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_planning import coords as _coords
from grid_planning import inputs as _inputs
from grid_planning import rules, schema
from grid_planning.config import SettingError
from grid_planning.inputs import read_table, read_vector
from grid_planning.report import ValidationReport
from grid_planning.rules import OUTSIDE_CITY_M

if TYPE_CHECKING:
    from grid_planning.cityindex import CityIndex

#: Facilities farther than this outside the city boundary get a warning (the same distance makes a
#: hospital "outside the city" for the lead rule G4).
OUTSIDE_TOLERANCE_M = OUTSIDE_CITY_M
#: Default side of the cells that point population is aggregated onto.
DEFAULT_CELL_M = 1000.0
#: At most this many rows are listed in one finding; the rest are counted.
MAX_ROWS_LISTED = 10
#: At most this many per-facility "outside the boundary" findings before they are grouped.
MAX_OUTSIDE_FINDINGS = 20

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "wuhan"

WGS84 = "EPSG:4326"
# Only used when no layer has any geometry (the report has errors then).
_FALLBACK_METRIC_CRS = "EPSG:3857"

PathLike = str | Path
# Guards the creation of a city's index (two sessions asking at once get the same one).
_INDEX_LOCK = threading.Lock()
LayerInput = PathLike | pd.DataFrame


class LayerError(ValueError):
    """Raised by a reader called without a report when its input has an error."""

    def __init__(self, report: ValidationReport, lang: str = "en"):
        self.report = report
        super().__init__(report.format(lang=lang))


@dataclass(frozen=True, eq=False)
class CityLayers:
    """Validated layers of one city (see the module docstring for the column contract)."""

    name: str
    units: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    metric_crs: str
    report: ValidationReport = field(default_factory=ValidationReport)
    districts: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no error blocks planning."""
        return self.report.ok

    @property
    def index(self) -> CityIndex:
        """The city's :class:`~grid_planning.cityindex.CityIndex` (adjacency, facility locations,
        travel costs ...), built on first use and shared by everything that plans this city."""
        idx = self.__dict__.get("_index")
        if idx is None or idx.units is not self.units:
            from grid_planning.cityindex import CityIndex

            with _INDEX_LOCK:
                idx = self.__dict__.get("_index")
                if idx is None or idx.units is not self.units:
                    idx = CityIndex(self.units, self.metric_crs, self.roads)
                    object.__setattr__(self, "_index", idx)
        return idx

    def with_facilities(self, facilities: gpd.GeoDataFrame) -> CityLayers:
        """The same city with other facilities (what-if edits); it shares this city's index, since
        units, roads and the metric CRS are unchanged."""
        new = replace(self, facilities=facilities)
        object.__setattr__(new, "_index", self.index)
        return new

    def fingerprint(self) -> str:
        """A stable hash of the units, facilities and roads (and the metric CRS): the key of
        everything computed from these layers (travel costs, figures, maps) and the city a
        scenario was made on. Computed once per object (it hashes every row)."""
        fp = self.__dict__.get("_fingerprint")
        if fp is None:
            h = hashlib.sha256()
            h.update(self.metric_crs.encode())
            for gdf in (self.units, self.facilities, self.roads):
                hash_frame(h, gdf)
            fp = h.hexdigest()[:16]
            object.__setattr__(self, "_fingerprint", fp)
        return fp


def hash_frame(h: hashlib._Hash, frame: gpd.GeoDataFrame | None) -> None:
    """Feed one layer into the hash ``h``: its attributes as CSV and its geometry as WKB
    (``None``: a marker), as :meth:`CityLayers.fingerprint` does for each of its layers."""
    if frame is None:
        h.update(b"none")
        return
    cols = [c for c in frame.columns if c != frame.geometry.name]
    h.update(frame[cols].to_csv(index=False).encode())
    h.update(frame.geometry.to_wkb().sum() if len(frame) else b"")


# =============================================================================================
# Small helpers
# =============================================================================================
class _AbortError(Exception):
    """Internal: the file cannot be used at all; the finding is already in the report."""


def _label(source: LayerInput, label: str | None, default: str) -> str:
    if label:
        return label
    if isinstance(source, (str, Path)):
        return Path(source).name
    return default


def _rows_text(labels: Sequence[object]) -> str:
    """``"2, 5, 9"`` or ``"2, 5, ... (+40 more)"`` for a finding's row field."""
    labels = [str(x) for x in labels]
    if len(labels) <= MAX_ROWS_LISTED:
        return ", ".join(labels)
    return ", ".join(labels[:MAX_ROWS_LISTED]) + f", ... (+{len(labels) - MAX_ROWS_LISTED})"


def _finish(report: ValidationReport, own_report: bool) -> None:
    if own_report and not report.ok:
        raise LayerError(report)


def _empty_gdf(columns: Iterable[str]) -> gpd.GeoDataFrame:
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
    label = _label(path, label, kind)
    coords = _coords.normalise_coord_system(coords)
    try:
        df, is_table = _read_any(path, label, report, kind, choice)
        out = read(df, is_table, coords, label, report, *args)
    except _AbortError:
        out = _empty_gdf(empty_columns)
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

    Files are opened by :func:`grid_planning.inputs.open_layer` (limits, archives, the choice of
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
    report.warning("geometry_not_finite", label, _rows_text(rows.iloc[bad_pos]), count=len(bad_pos))
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


def _coord_system(coords: str | Mapping[str, str] | None, layer: str) -> str:
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
                    _rows_text(rows[idx]),
                    original[col],
                    value=value,
                )
    missing = (lon.isna() & ~bad_lon) | (lat.isna() & ~bad_lat)
    if missing.any():
        cols = f"{original['lon']}/{original['lat']}"
        report.error("coordinate_missing", label, _rows_text(rows[missing]), cols)
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
                _rows_text(rows[swapped.index[swapped]]),
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
        report.error("not_numeric", label, _rows_text(rows[idx]), name, value=value)
    negative = values < 0
    if negative.any():
        for idx in negative.index[negative]:
            report.error("negative_value", label, rows[idx], name, value=f"{values[idx]:g}")
        values = values.where(~negative)
    if required:
        empty = values.isna() & ~bad & ~negative
        if empty.any():
            report.error("missing_value", label, _rows_text(rows[empty]), name)
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
        report.error("missing_value", label, _rows_text(rows[blank]), original["id"])
    dup = ids.duplicated(keep=False) & ~blank
    if dup.any():
        for value, idx in ids[dup].groupby(ids[dup], sort=False).groups.items():
            report.error("duplicate_id", label, _rows_text(rows[idx]), original["id"], value=value)
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
            "geometry_repaired", label, _rows_text(rows[invalid]), count=int(invalid.sum())
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
                "wrong_geometry", label, _rows_text(rows[idx]), None, expected=expected, found=kind
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
            "missing_geometry", label, _rows_text(rows[null])
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
        that holds usable data (see :mod:`grid_planning.inputs`).

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
        report.warning("name_missing", label, _rows_text(rows[blank]), original["name"])
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
                    _rows_text(rows[idx]),
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
                    _rows_text(rows[idx]),
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
    canonical = {schema._fold(v): v for v in vocabulary}
    cache: dict[object, str | None] = {}

    def one(value: object) -> str | None:
        if value not in cache:
            folded = None if pd.isna(value) else schema._fold(value)
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
        that holds usable data (see :mod:`grid_planning.inputs`).

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
                "geometry_repaired", label, _rows_text(rows[ok]), count=int(ok.sum())
            )
        if len(changed):
            detail = "; ".join(
                f"{rows[i]}: {before[i] / 1e6:,.3f} → {area[i] / 1e6:,.3f} km²" for i in changed[:MAX_ROWS_LISTED]
            ) + (f"; … (+{len(changed) - MAX_ROWS_LISTED})" if len(changed) > MAX_ROWS_LISTED else "")
            report.warning(
                "geometry_area_changed", label, _rows_text(rows[changed]), count=len(changed),
                detail=detail,
            )
    wrong = present & ~polygonal
    for kind, idx in kinds[wrong].groupby(kinds[wrong]).groups.items():
        report.warning(
            "wrong_geometry", label, _rows_text(rows[idx]), None,
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
            _rows_text([rows[i] for i, _, _ in moved]),
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
            _rows_text([rows[i] for i in lost]),
            count=len(lost),
            residents=f"{sum(float(pop[i]) for i in lost):,.0f}",
        )
    if empty:
        report.warning("unit_unusable_empty", label, _rows_text([rows[i] for i in empty]), count=len(empty))
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
    return _coords.pick_metric_crs(valid) if len(valid) else _FALLBACK_METRIC_CRS


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


# =============================================================================================
# The whole city
# =============================================================================================
def load_city(
    units: LayerInput,
    facilities: LayerInput,
    boundary: LayerInput | None = None,
    roads: LayerInput | None = None,
    *,
    districts: LayerInput | None = None,
    coords: str | Mapping[str, str] = "wgs84",
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    cell_m: float = DEFAULT_CELL_M,
    layers: Mapping[str, str] | None = None,
) -> CityLayers:
    """Load, validate and reproject a city's layers. Never raises for bad data.

    Parameters
    ----------
    units, facilities : str, Path or DataFrame
        Population units and facilities (see :func:`read_units`, :func:`read_facilities`).
    boundary, roads, districts : str, Path or DataFrame, optional
        City outline (default: the union of the units), road lines, district polygons.
    coords : {"wgs84", "gcj02", "bd09"} or mapping
        System of lon/lat input, for every layer or per layer (``{"facilities": "gcj02"}``;
        layers not named are WGS84). Layers with a projected CRS are never shifted.
    name : str, optional
        City name (default: the boundary's name or the units file's stem).
    labels : mapping, optional
        Layer -> name shown in findings (e.g. the uploaded file's original name).
    cell_m : float
        Cell side for point population.
    layers : mapping, optional
        Input -> layer or sheet to read from a file that holds several (``{"units": "streets",
        "facilities": "医院"}``). Without a choice, the one layer that holds usable data for that
        input is read (with a warning naming it when the file holds others); when several do, an
        error lists them.

    Returns
    -------
    CityLayers
        Layers in WGS84 with a report: errors mean the layers must not be used for planning.
    """
    report = ValidationReport()
    labels = dict(labels or {})
    sources: dict[str, str] = {}
    choices = {str(k): str(v) for k, v in (layers or {}).items() if v is not None and str(v).strip()}
    for slot in sorted(set(choices) - set(_inputs.KINDS)):
        report.error("layer_choice_unknown_input", "-", slot=slot)
        del choices[slot]

    def lab(layer: str, source: LayerInput | None) -> str:
        text = _label(source, labels.get(layer), layer)
        sources[layer] = text
        return text

    try:
        loaded = _load_city(
            units, facilities, boundary, roads, districts, coords, name, lab, report, cell_m, choices
        )
    except Exception as exc:  # a bug must not hide behind a traceback in the dashboard either
        detail = _inputs.short_detail(exc, "-", [units, facilities, boundary, roads, districts])
        report.error("internal_error", "-", detail=f"{type(exc).__name__}: {detail}"[:300])
        loaded = None
    if loaded is None:
        empty_units = _empty_gdf(UNIT_COLUMNS)
        return CityLayers(
            name=name or "city",
            units=empty_units,
            facilities=_empty_gdf((*FACILITY_COLUMNS, "lon", "lat")),
            boundary=_empty_gdf(("name",)),
            metric_crs=_FALLBACK_METRIC_CRS,
            report=report,
            sources=sources,
        )
    # The readers keep bookkeeping (row labels for findings) in DataFrame.attrs; pandas deep-copies
    # attrs on every operation, which costs ~0.1 s per map or metrics call on the sample city.
    # It has served its purpose once the report is written.
    for value in loaded.values():
        if isinstance(value, pd.DataFrame):
            value.attrs = {}
    city = CityLayers(**loaded, report=report, sources=sources)
    if len(city.units) and len(city.facilities):
        _lead_findings(city, sources.get("facilities", "facilities"), report)
    if report.ok and len(city.units):
        _island_findings(city, sources.get("units", "units"), report)
    return city


def _island_findings(layers: CityLayers, label: str, report: ValidationReport) -> None:
    """Say every link the planner adds between separate parts of the city (islands, exclaves,
    units across water): contiguity through them is a choice the planner should see."""
    try:
        links = layers.index.links
    except ValueError as exc:  # a unit without geometry would be a reader bug: say it, don't crash
        report.error("internal_error", label, detail=str(exc)[:300])
        return
    for k, row in enumerate(links.itertuples()):
        if k == MAX_OUTSIDE_FINDINGS:
            rest = links.iloc[k:]
            report.warning(
                "island_links_many", label, _rows_text(rest["unit_a"]), None, count=len(rest)
            )
            break
        report.warning(
            "island_link_corner" if row.distance_m < 1.0 else "island_link",
            label,
            f"{row.unit_a}, {row.unit_b}",
            None,
            unit_a=f"{row.unit_a} ({row.name_a})",
            unit_b=f"{row.unit_b} ({row.name_b})",
            distance_km=f"{row.distance_m / 1000:.2f}",
        )


def _load_city(
    units, facilities, boundary, roads, districts, coords, name, lab, report, cell_m, choices
) -> dict:
    boundary_gdf = None
    if boundary is not None:
        boundary_gdf = read_boundary(
            boundary,
            _coord_system(coords, "boundary"),
            report,
            label=lab("boundary", boundary),
            layer=choices.get("boundary"),
        )
        if len(boundary_gdf) == 0:
            boundary_gdf = None
    units_gdf = read_units(
        units,
        _coord_system(coords, "units"),
        report,
        boundary=boundary_gdf,
        cell_m=cell_m,
        label=lab("units", units),
        layer=choices.get("units"),
    )
    facilities_gdf = read_facilities(
        facilities,
        _coord_system(coords, "facilities"),
        report,
        label=lab("facilities", facilities),
        layer=choices.get("facilities"),
    )
    districts_gdf = None
    if districts is not None:
        districts_gdf = read_districts(
            districts,
            _coord_system(coords, "districts"),
            report,
            label=lab("districts", districts),
            layer=choices.get("districts"),
        )
    roads_gdf = None
    if roads is not None:
        roads_gdf = read_roads(
            roads,
            _coord_system(coords, "roads"),
            report,
            label=lab("roads", roads),
            layer=choices.get("roads"),
        )

    if boundary_gdf is None:
        outline = (
            shapely.union_all(np.asarray(units_gdf.geometry.values))
            if len(units_gdf)
            else shapely.Polygon()
        )
        city = name or Path(lab("units", units)).stem
        boundary_gdf = gpd.GeoDataFrame({"name": [city]}, geometry=[outline], crs=WGS84)
    city_name = name or (str(boundary_gdf["name"].iloc[0]) if len(boundary_gdf) else "city")

    metric_crs = _FALLBACK_METRIC_CRS
    for gdf in (boundary_gdf, units_gdf, facilities_gdf):
        if gdf is not None and len(gdf) and not gdf.geometry.is_empty.all():
            metric_crs = _coords.pick_metric_crs(gdf[~gdf.geometry.is_empty])
            break

    if len(facilities_gdf) and len(boundary_gdf) and not boundary_gdf.geometry.is_empty.all():
        facilities_gdf = _check_inside(
            facilities_gdf, boundary_gdf, metric_crs, lab("facilities", facilities), report
        )
    if len(units_gdf) and float(units_gdf["population"].fillna(0).sum()) <= 0:
        report.error("population_zero", lab("units", units))  # nothing to plan for

    return {
        "name": city_name,
        "units": units_gdf,
        "facilities": facilities_gdf,
        "boundary": boundary_gdf,
        "metric_crs": metric_crs,
        "districts": districts_gdf,
        "roads": roads_gdf,
    }


def _check_inside(
    facilities: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame,
    metric_crs: str,
    label: str,
    report: ValidationReport,
) -> gpd.GeoDataFrame:
    """Swap lon/lat where that puts an outside point inside the city; warn about far-away points."""
    labels = dict(facilities.attrs.get("row_labels", {}))

    def where(fid: str) -> str:
        return str(labels.get(fid, fid))

    outline = shapely.union_all(np.asarray(boundary.to_crs(metric_crs).geometry.values))
    pts = facilities.to_crs(metric_crs).geometry
    dist = pd.Series(shapely.distance(np.asarray(pts.values), outline), index=facilities.index)
    outside = dist > OUTSIDE_TOLERANCE_M
    if outside.any():
        # Only points whose swap is a valid lon/lat can be swapped (|lon| <= 90 to become a latitude).
        cand = facilities[outside & (facilities.geometry.x.abs() <= 90)]
        swapped = gpd.GeoSeries(
            gpd.points_from_xy(cand.geometry.y, cand.geometry.x), index=cand.index, crs=WGS84
        )
        sdist = shapely.distance(np.asarray(swapped.to_crs(metric_crs).values), outline)
        fix = pd.Series(sdist <= OUTSIDE_TOLERANCE_M, index=cand.index)
        if len(cand) and fix.any():
            idx = fix.index[fix]
            facilities = facilities.copy()
            facilities.loc[idx, "geometry"] = swapped[idx]
            facilities.loc[idx, "lon"] = swapped[idx].x
            facilities.loc[idx, "lat"] = swapped[idx].y
            report.warning(
                "swapped_lonlat", label, _rows_text(facilities.loc[idx, "id"].map(where)), "lon/lat"
            )
            outside[idx] = False
    far = facilities[outside]
    for k, (idx, row) in enumerate(far.iterrows()):
        if k == MAX_OUTSIDE_FINDINGS:
            rest = far.iloc[k:]
            report.warning(
                "outside_boundary_many",
                label,
                _rows_text(rest["id"].map(where)),
                None,
                count=len(rest),
                tolerance_m=f"{OUTSIDE_TOLERANCE_M:g}",
            )
            break
        report.warning(
            "outside_boundary",
            label,
            where(row["id"]),
            None,
            name=row["name"],
            distance_km=f"{dist[idx] / 1000:.1f}",
            tolerance_m=f"{OUTSIDE_TOLERANCE_M:g}",
        )
    return facilities


def _lead_findings(layers: CityLayers, label: str, report: ValidationReport) -> None:
    """Who can lead (G4, :mod:`grid_planning.rules`): an error only when nobody can, not even by a
    recorded designation; a warning when leads are few, lie outside the city or need one."""
    fac = layers.facilities
    if len(fac) == 0:
        return
    outside = layers.index.locate(fac).outside
    eligible = rules.g4_eligible(fac).to_numpy()
    designatable = rules.g4_designatable(fac, outside).to_numpy()
    inside = int((eligible & ~outside).sum())
    names = fac["name"].astype(str).to_numpy()
    for i in np.flatnonzero(eligible & outside):
        report.warning(
            "lead_outside_city", label, str(fac["id"].iloc[i]), None, name=names[i],
            tolerance_m=f"{OUTSIDE_TOLERANCE_M:g}",
        )
    listed = ", ".join(names[designatable][:5]) + (" …" if designatable.sum() > 5 else "")
    if inside == 0 and not designatable.any():
        report.error("no_eligible_lead", label)
    elif inside == 0:
        report.warning("no_eligible_lead_designatable", label, count=int(designatable.sum()), names=listed)
    elif inside < 2:
        report.warning(
            "few_eligible_leads", label, count=inside, designatable=int(designatable.sum()),
            names=listed or "-",
        )


# =============================================================================================
# The sample city and the summary
# =============================================================================================
def sample_paths() -> dict[str, Path]:
    """Files of the bundled sample city (Wuhan)."""
    return {
        "units": SAMPLE_DIR / "population_units.geojson",
        "facilities": SAMPLE_DIR / "facilities.csv",
        "boundary": SAMPLE_DIR / "city_boundary.geojson",
        "districts": SAMPLE_DIR / "districts.geojson",
    }


@lru_cache(maxsize=1)
def load_sample_city() -> CityLayers:
    """The bundled sample city (Wuhan), loaded once per process.

    The returned layers are shared by every caller: treat them as read-only (copy before editing).
    """
    paths = sample_paths()
    districts = paths["districts"] if paths["districts"].exists() else None
    return load_city(
        paths["units"],
        paths["facilities"],
        paths["boundary"],
        districts=districts,
        name="武汉市 Wuhan",
    )


def summarise(layers: CityLayers) -> dict:
    """Headline figures of a city's layers.

    Returns
    -------
    dict
        ``population`` (float), ``area_km2`` (boundary area in the metric CRS), ``units`` (count),
        ``facilities`` (count), ``by_level`` / ``by_type`` / ``by_source`` (value -> count),
        ``beds`` (total known beds), ``beds_per_1000`` (NaN without population or beds),
        ``beds_illustrative_share`` (share of those beds that are generated, not data: from
        illustrative facilities or ``capacity_source = illustrative``), ``eligible_leads`` (count
        under G4), ``eligible_leads_assumed`` (of which ``level_source = assumed``), ``real`` /
        ``illustrative`` (facility counts), ``errors`` / ``warnings`` (finding counts).
    """
    units, fac = layers.units, layers.facilities
    population = float(units["population"].fillna(0).sum()) if len(units) else 0.0
    area = 0.0
    if len(layers.boundary) and not layers.boundary.geometry.is_empty.all():
        area = float(layers.boundary.to_crs(layers.metric_crs).geometry.area.sum()) / 1e6
    beds_known = fac["beds"].notna().any() if len(fac) and "beds" in fac.columns else False
    beds = float(fac["beds"].fillna(0).sum()) if beds_known else 0.0
    by_source = fac["source"].value_counts().to_dict() if len(fac) else {}
    # A figure that rests on generated data must say so (never present invented data as real).
    generated = schema.generated_capacity_mask(fac)
    beds_generated = float(fac.loc[generated, "beds"].fillna(0).sum()) if beds_known else 0.0
    eligible = (
        rules.g4_eligible(fac) & ~layers.index.locate(fac).outside
        if len(fac) and len(units)
        else pd.Series(False, index=fac.index)
    )
    assumed = (
        fac["level_source"].astype(str).eq("assumed")
        if "level_source" in fac.columns
        else pd.Series(False, index=fac.index)
    )
    return {
        "name": layers.name,
        "population": population,
        "area_km2": area,
        "units": int(len(units)),
        "facilities": int(len(fac)),
        "by_level": _counts(fac, "level", schema.LEVELS),
        "by_type": _counts(fac, "type", schema.TYPES),
        "by_source": {str(k): int(v) for k, v in by_source.items()},
        "beds": beds,
        "beds_per_1000": beds / population * 1000
        if population > 0 and beds_known
        else float("nan"),
        "beds_illustrative_share": beds_generated / beds if beds > 0 else 0.0,
        "eligible_leads": int(eligible.sum()),
        "eligible_leads_assumed": int((eligible & assumed).sum()),
        "real": int(by_source.get("real", 0)),
        "illustrative": int(by_source.get("illustrative", 0)),
        "errors": len(layers.report.errors),
        "warnings": len(layers.report.warnings),
    }


def _counts(df: pd.DataFrame, column: str, order: Sequence[str]) -> dict[str, int]:
    if len(df) == 0 or column not in df.columns:
        return {}
    counts = df[column].value_counts()
    return {k: int(counts[k]) for k in order if k in counts.index}


def format_summary(summary: Mapping, lang: str = "en") -> str:
    """The summary as plain text for the terminal (labels from the message catalogue)."""
    from grid_planning.i18n import t

    def num(v: float, digits: int = 0) -> str:
        return "-" if v != v else f"{v:,.{digits}f}"  # NaN check without numpy

    lines = [
        t("layers.summary.title", lang, name=summary["name"]),
        f"  {t('layers.summary.population', lang)}: {num(summary['population'])}",
        f"  {t('layers.summary.area', lang)}: {num(summary['area_km2'], 1)} km²",
        f"  {t('layers.summary.units', lang)}: {summary['units']:,}",
        f"  {t('layers.summary.facilities', lang)}: {summary['facilities']:,}"
        f" ({t('layers.summary.real', lang)} {summary['real']:,},"
        f" {t('layers.summary.illustrative', lang)} {summary['illustrative']:,})",
        f"  {t('layers.summary.by_level', lang)}: "
        + ", ".join(f"{t(f'vocab.level.{k}', lang)} {v}" for k, v in summary["by_level"].items()),
        f"  {t('layers.summary.by_type', lang)}: "
        + ", ".join(f"{t(f'vocab.type.{k}', lang)} {v}" for k, v in summary["by_type"].items()),
        f"  {t('layers.summary.beds', lang)}: {num(summary['beds'])}"
        f" ({t('layers.summary.beds_per_1000', lang)}: {num(summary['beds_per_1000'], 2)})"
        + (
            f" [{t('layers.summary.illustrative_share', lang, share=f'{share:.0%}')}]"
            if (share := summary.get("beds_illustrative_share", 0.0)) > 0
            else ""
        ),
        f"  {t('layers.summary.eligible_leads', lang)}: {summary['eligible_leads']}"
        + (
            f" [{t('layers.summary.assumed_count', lang, count=summary['eligible_leads_assumed'])}]"
            if summary.get("eligible_leads_assumed")
            else ""
        ),
    ]
    return "\n".join(lines)


__all__ = [
    "CityLayers",
    "LayerError",
    "aggregate_points_to_cells",
    "format_summary",
    "load_city",
    "load_sample_city",
    "read_boundary",
    "read_districts",
    "read_facilities",
    "read_roads",
    "read_table",
    "read_units",
    "read_vector",
    "sample_paths",
    "summarise",
]
