"""What a planner's file may be: the limits (settings), the formats and layer kinds, the error a refused file raises, and the messages that never show a server path."""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from grid_planning.base.config import setting
from grid_planning.base.i18n import t

MB = 1024 * 1024


TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml", ".fgb")


VECTOR_SUFFIXES = (*GIS_SUFFIXES, ".zip")


#: Members of a zip that are archives themselves: never unpacked (no recursion, no nested bomb).
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".kmz", ".zst")


#: Upper bound of the bytes read from a .dbf to guess its encoding.
DBF_SNIFF_BYTES = 1 * MB


#: Fewest bytes one vertex takes in a file (``0,0 `` in KML; 16 bytes in binary formats): a file
#: smaller than ``limit * bytes`` cannot hold more vertices than the limit, so it is not counted.
TEXT_BYTES_PER_VERTEX = 4


BINARY_BYTES_PER_VERTEX = 16


TEXT_GIS = (".geojson", ".json", ".kml")


#: Name of a format for messages, by suffix.
FORMAT_NAMES = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".kml": "KML",
    ".fgb": "FlatGeobuf",
    ".zip": "zip",
    ".csv": "CSV",
    ".txt": "CSV",
    ".tsv": "CSV",
    ".xlsx": "Excel (.xlsx)",
    ".xlsm": "Excel (.xlsm)",
}


#: The inputs of a city (the data page's upload slots and the CLI's file options).
KINDS = ("units", "facilities", "boundary", "districts", "roads", "water", "crossings")


_POLYGONAL = ("Polygon", "MultiPolygon")


KIND_GEOMETRY: dict[str, tuple[str, ...]] = {
    "units": (*_POLYGONAL, "Point", "MultiPoint"),
    "facilities": ("Point", "MultiPoint"),
    "boundary": _POLYGONAL,
    "districts": _POLYGONAL,
    "roads": ("LineString", "MultiLineString"),
    "water": (*_POLYGONAL, "LineString", "MultiLineString"),
    "crossings": ("Point", "MultiPoint"),
}


KIND_TABLES = ("units", "facilities")


# =============================================================================================
# Limits
# =============================================================================================
@dataclass(frozen=True)
class Limits:
    """What one input may take; each field is the setting ``max_<field>``.

    Attributes
    ----------
    upload_mb : int
        Largest file accepted by the data page (also Streamlit's ``server.maxUploadSize``).
    archive_members : int
        Most entries in a zip (a zipped Shapefile has 4-8).
    uncompressed_mb : int
        Most megabytes a layer may take unpacked: a plain file's size, or the total of the zip
        members that are unpacked (and of an XLSX's parts).
    rows : int
        Most rows (tables) or features (GIS layers) in one layer.
    vertices : int
        Most vertices in one GIS layer.
    columns : int
        Most columns in one layer (a sheet's header row, a CSV's first line, a GIS layer's
        fields). Cells right of a sheet's last heading are never read: a workbook of a few KB
        may declare 16,384 columns, which a reader would pad every row to.
    cells : int
        Most cells (rows x columns) in one layer: every cell is read as text, some 60-100 bytes
        of memory each.
    cell_chars : int
        Most characters in one cell, field or attribute value (a sheet's cell, a CSV field, a GIS
        attribute), checked as the text is read, before it is built: a 464 KB workbook can hold
        a 450 MB cell.
    """

    upload_mb: int = 100
    archive_members: int = 200
    uncompressed_mb: int = 500
    rows: int = 500_000
    vertices: int = 5_000_000
    columns: int = 1_000
    cells: int = 10_000_000
    cell_chars: int = 10_000


DEFAULT_LIMITS = Limits()


def _positive_int(value: object) -> int:
    number = int(str(value).replace("_", "").replace(",", "").strip())
    if number <= 0:
        raise ValueError(value)
    return number


def limits() -> Limits:
    """The limits in force, read now from the settings (environment, then settings file).

    Raises
    ------
    grid_planning.base.config.SettingError
        When a setting is not a positive whole number.
    """
    return Limits(
        **{
            f.name: setting(f"max_{f.name}", getattr(DEFAULT_LIMITS, f.name), _positive_int)
            for f in fields(Limits)
        }
    )


# =============================================================================================
# Problems and layer descriptions
# =============================================================================================
class InputError(ValueError):
    """A file that cannot be read safely or unambiguously.

    ``code`` is a finding code (``layers.finding.<code>`` in the catalogue) and ``params`` its
    placeholders; :mod:`grid_planning.city.layers` turns it into a finding on the user's file.
    """

    def __init__(self, code: str, *, column: str | None = None, **params: object):
        self.code = code
        self.column = column
        self.params = params
        super().__init__(
            t(f"layers.finding.{code}", "en", file="-", row=None, column=column, **params)
        )


@dataclass(frozen=True)
class SubLayer:
    """One layer of a GIS source or one sheet of a workbook.

    Attributes
    ----------
    name : str
        What the planner chooses it by (see the module docstring).
    rows : int or None
        Features or data rows; ``None`` when the source has data but does not tell how much
        without reading it (spreadsheets, CSV).
    geometry : str or None
        Geometry type (``"Polygon"``, ``"Unknown"`` ...); ``None`` for a table or sheet.
    columns : tuple of str
        Column names as stored.
    """

    name: str
    rows: int | None
    geometry: str | None
    columns: tuple[str, ...] = ()
    path: Path = field(default=Path(), repr=False, compare=False)
    layer: str | None = field(default=None, repr=False, compare=False)
    encoding: str | None = field(default=None, repr=False, compare=False)
    #: What reading a sheet needs from the rest of its workbook, parsed once when the sheets are
    #: listed (:class:`grid_planning.io.xlsx.OpenBook`, its zip closed).
    book: object = field(default=None, repr=False, compare=False)

    @property
    def has_rows(self) -> bool:
        """True when it holds (or may hold) data."""
        return self.rows is None or self.rows > 0

    @property
    def is_table(self) -> bool:
        """True for a CSV, a sheet, or a GIS layer without geometry."""
        return self.geometry is None


@dataclass(frozen=True)
class Opened:
    """A layer read from a file: the rows, whether they are a table, and notes for the report.

    ``notes`` are ``(warning code, params)`` pairs, e.g. which layer of several was read.
    """

    frame: pd.DataFrame
    is_table: bool
    layer: str
    notes: tuple[tuple[str, dict], ...] = ()


# =============================================================================================
# Error details without server paths
# =============================================================================================
_PATHS = re.compile(
    # Not after a letter, digit or dot: "and/or", "TCP/IP", "1/2" are words, not paths.
    r"(?<![\w.])(?:/vsi\w+/)?(?:[A-Za-z]:[\\/]|/)(?:[^\s'\":;,()\[\]]+[\\/])*[^\s'\":;,()\[\]]*"
)


_NOISE = (
    re.compile(r"sqlite3_\w+\(.*?\) failed: ", re.S),
    re.compile(r"It might help to specify the correct driver.*", re.S),
)


def short_detail(exc: BaseException, label: str, paths: Sequence[object] = ()) -> str:
    """A reader's error as a short, path-free detail for a finding.

    Known paths become the file's label; any other absolute path (``/tmp/...``, ``/vsizip/...``,
    ``C:\\...``) becomes the label too; repeated clauses are dropped; at most 160 characters.
    """
    text = str(exc).strip() or type(exc).__name__
    known = {str(p) for p in paths if isinstance(p, (str, os.PathLike)) and str(p) not in ("", ".")}
    known |= {str(Path(p).resolve()) for p in list(known)}
    # A bare relative name ("in", a folder given as the CLI's cwd-relative path) is a word too:
    # "in" was replaced inside "invalid continuation byte".
    known = {p for p in known if "/" in p or "\\" in p}
    for path in sorted(known, key=len, reverse=True):
        text = text.replace(path, label)
    text = _PATHS.sub(label, text)
    for noise in _NOISE:
        text = noise.sub("", text)
    parts: list[str] = []
    for part in re.split(r";\s+|\n", text):
        part = part.strip().rstrip(".;").strip()
        if part and part not in parts:
            parts.append(part)
    text = "; ".join(parts) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


def unreadable(exc: BaseException, suffix: str, label: str, paths: Sequence[object]) -> InputError:
    """The finding for a reader's failure: not this format, damaged, or (else) unreadable."""
    text = str(exc)
    detail = short_detail(exc, label, paths)
    fmt = FORMAT_NAMES.get(suffix, suffix or "?")
    if isinstance(exc, zipfile.BadZipFile) and suffix in (".xlsx", ".xlsm"):
        return InputError("format_not_recognised", format=fmt)
    if "not recognized as" in text or "not a supported file format" in text:
        return InputError("format_not_recognised", format=fmt)
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)) or any(
        s in text
        for s in (
            "malformed",
            "not a database",
            "Failed to read",
            "Unterminated",
            "truncated",
            "corrupt",
            "Bad CRC",
            "unexpected end",
        )
    ):
        return InputError("file_damaged", format=fmt, detail=detail)
    return InputError("file_unreadable", detail=detail)


# =============================================================================================
# Reading the chosen layer
# =============================================================================================
def check_plain_size(path: Path, lim: Limits) -> None:
    size = path.stat().st_size
    if path.suffix.lower() != ".zip" and size > lim.uncompressed_mb * MB:
        raise InputError(
            "file_too_large", size_mb=f"{size / MB:,.0f}", limit_mb=f"{lim.uncompressed_mb:,}"
        )


def too_many_rows(lim: Limits) -> InputError:
    return InputError("too_many_rows", limit=f"{lim.rows:,}")


def too_many_columns(lim: Limits) -> InputError:
    return InputError("too_many_columns", limit=f"{lim.columns:,}")


def too_many_cells(lim: Limits) -> InputError:
    return InputError("too_many_cells", limit=f"{lim.cells:,}")
