"""Opening a planner's files safely: bounded, unambiguous, and leaving nothing behind.

Every file a planner gives (an upload or a command-line path) is opened here before
:mod:`grid_planning.city.layers` validates its rows. Three questions are answered, each with a finding
(never a crash, a traceback or a server path):

**Can it be read without exhausting the server?** The limits of :func:`limits` (settings
``max_upload_mb``, ``max_archive_members``, ``max_uncompressed_mb``, ``max_rows``,
``max_vertices``; see the README "Limits" table) are checked from cheap metadata *before* the data
is read: a zip's member count from its end record and unpacked sizes from its directory (nothing
is unpacked when they are too large, and no member may unpack beyond its declared size), a plain
file's size, a GIS layer's feature count from its driver, a CSV's line count by streaming its
bytes, a spreadsheet's rows while they stream, and the vertices of a large GIS layer in batches of
geometry only. Zip members that would land outside the unpacking folder (``../``, absolute
paths), symbolic links and encrypted members refuse the archive; archives inside the archive are
never unpacked.

**Is it the right data?** A source with several layers (a GeoPackage, a zip of several
Shapefiles) or sheets (an XLSX) is read from the layer the planner chose (``choice``; on the
command line ``--layer SLOT=NAME``, on the data page a select box per file). Without a choice, the
layers that hold usable data *for that input* are found (rows, a fitting geometry kind, the
required columns); exactly one is read, with a warning naming it when the file holds other layers;
several are refused with their names and how to choose. A Shapefile's text encoding comes from its
``.cpg``, else from a bounded sniff of its ``.dbf`` (UTF-8 or GB18030), and field names that the
10-byte dBase limit cut in the middle of a character are repaired in a private copy (GDAL writes
them; pyogrio cannot read them otherwise).

**Does it leave anything behind?** Archives are unpacked into a private temporary folder that is
removed as soon as the layer is read (``tempfile.TemporaryDirectory``, whose finaliser also
removes it at interpreter exit if the reading is interrupted).

Names of layers and sheets
--------------------------
The name to choose is the layer name of a GeoPackage/KML, the sheet name of an XLSX, the layer
(file stem) of a Shapefile or GeoJSON; in a zip that holds several data files, the member's path
(``roads/roads.shp``) or ``member::layer`` for a multi-layer member. A choice also matches
ignoring case and width, or by the bare layer name when that is unique.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import shutil
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd

from grid_planning.base.config import setting
from grid_planning.base.i18n import t
from grid_planning.domain import schema

MB = 1024 * 1024


TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml", ".fgb")


VECTOR_SUFFIXES = (*GIS_SUFFIXES, ".zip")


#: Members of a zip that are archives themselves: never unpacked (no recursion, no nested bomb).
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".kmz", ".zst")


#: Upper bound of the bytes read from a .dbf to guess its encoding.
DBF_SNIFF_BYTES = 1 * MB


#: Geometry is counted in batches of this many features (memory of one batch, not of the layer).
VERTEX_BATCH = 20_000


#: Fewest bytes one vertex takes in a file (``0,0 `` in KML; 16 bytes in binary formats): a file
#: smaller than ``limit * bytes`` cannot hold more vertices than the limit, so it is not counted.
_TEXT_BYTES_PER_VERTEX = 4


_BINARY_BYTES_PER_VERTEX = 16


_TEXT_GIS = (".geojson", ".json", ".kml")


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
KINDS = ("units", "facilities", "boundary", "districts", "roads")


_POLYGONAL = ("Polygon", "MultiPolygon")


_KIND_GEOMETRY: dict[str, tuple[str, ...]] = {
    "units": (*_POLYGONAL, "Point", "MultiPoint"),
    "facilities": ("Point", "MultiPoint"),
    "boundary": _POLYGONAL,
    "districts": _POLYGONAL,
    "roads": ("LineString", "MultiLineString"),
}


_KIND_TABLES = ("units", "facilities")


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
    """

    upload_mb: int = 100
    archive_members: int = 200
    uncompressed_mb: int = 500
    rows: int = 500_000
    vertices: int = 5_000_000
    columns: int = 1_000
    cells: int = 10_000_000


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


def _unreadable(exc: BaseException, suffix: str, label: str, paths: Sequence[object]) -> InputError:
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
# Zip archives
# =============================================================================================
def _zip_entry_count(path: Path) -> int:
    """The entry count from a zip's end record (zip64 aware), read before the directory is parsed:
    :class:`zipfile.ZipFile` builds one object per entry, which is the memory to protect."""
    with path.open("rb") as fh:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        tail_len = min(size, 22 + 0xFFFF + 20)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            raise zipfile.BadZipFile("no end of central directory record")
        count = struct.unpack("<H", tail[pos + 10 : pos + 12])[0]
        if count == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07":
            (offset,) = struct.unpack("<Q", tail[pos - 12 : pos - 4])
            fh.seek(offset)
            record = fh.read(56)
            if record[:4] != b"PK\x06\x06":
                raise zipfile.BadZipFile("bad zip64 end record")
            (count,) = struct.unpack("<Q", record[32:40])
    return count


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its author wrote it: zips from Chinese Windows tools store GBK names
    without the UTF-8 flag, which Python decodes as CP437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = None
        if raw is not None and not raw.isascii():
            for codec in ("utf-8", "gb18030"):
                try:
                    name = raw.decode(codec)
                    break
                except UnicodeDecodeError:
                    continue
    return name.replace("\\", "/")


def _is_link(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


def _skipped(name: str) -> bool:
    """macOS resource forks and folders, which are not data."""
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._") or name.endswith("/")


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The member's path parts when it stays inside the unpacking folder, else ``None``."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if not parts or any(p == ".." for p in parts):
        return None
    return parts


def check_archive(path: Path, lim: Limits | None = None) -> list[zipfile.ZipInfo]:
    """The members of a zip after the checks that need no unpacking.

    Checked, in order: the entry count (from the end record, before the directory is parsed),
    that the directory can be read, and the total declared unpacked size of every member that is
    not skipped (macOS forks, nested archives).

    Raises
    ------
    InputError
        ``archive_too_many_members``, ``archive_damaged`` or ``archive_too_large``.
    """
    lim = lim or limits()
    try:
        count = _zip_entry_count(path)
        if count > lim.archive_members:
            raise InputError(
                "archive_too_many_members", count=f"{count:,}", limit=f"{lim.archive_members:,}"
            )
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, EOFError) as exc:
        raise InputError("archive_damaged", detail=short_detail(exc, path.name, [path])) from None
    if len(infos) > lim.archive_members:  # an end record that lies about the count
        raise InputError(
            "archive_too_many_members", count=f"{len(infos):,}", limit=f"{lim.archive_members:,}"
        )
    wanted = [
        i
        for i in infos
        if not i.is_dir()
        and not _skipped(_member_name(i))
        and not _member_name(i).lower().endswith(ARCHIVE_SUFFIXES)
    ]
    total = sum(i.file_size for i in wanted)
    if total > lim.uncompressed_mb * MB:
        biggest = max(wanted, key=lambda i: i.file_size)
        raise InputError(
            "archive_too_large",
            size_mb=f"{total / MB:,.0f}",
            limit_mb=f"{lim.uncompressed_mb:,}",
            member=_member_name(biggest),
            member_mb=f"{biggest.file_size / MB:,.0f}",
        )
    return infos


def extract_archive(
    path: Path, dest: Path, lim: Limits | None = None
) -> tuple[list[Path], list[str]]:
    """Unpack a zip's data members into ``dest`` (a folder the caller owns and removes).

    Returns the files written and the names of nested archives that were left packed. Nothing is
    written unless every member passes :func:`check_archive` and the safety checks; each member is
    copied in 1 MiB chunks and stops at its declared size (a directory that lies about sizes ends
    in a CRC error, not in a full disk).

    Raises
    ------
    InputError
        ``archive_unsafe_path``, ``archive_link``, ``archive_encrypted``, ``archive_damaged``,
        ``archive_too_large``, ``archive_too_many_members``.
    """
    lim = lim or limits()
    infos = check_archive(path, lim)
    plan: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    nested: list[str] = []
    for info in infos:
        name = _member_name(info)
        if info.is_dir() or _skipped(name):
            continue
        parts = _safe_parts(name)
        if parts is None:
            raise InputError("archive_unsafe_path", member=name)
        if _is_link(info):
            raise InputError("archive_link", member=name)
        if info.flag_bits & 0x1:
            raise InputError("archive_encrypted", member=name)
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            nested.append(name)
            continue
        plan.append((info, parts))
    root = dest.resolve()
    written: list[Path] = []
    budget = lim.uncompressed_mb * MB
    try:
        with zipfile.ZipFile(path) as zf:
            for info, parts in plan:
                target = root.joinpath(*parts)
                if not target.resolve().is_relative_to(root):
                    raise InputError("archive_unsafe_path", member=_member_name(info))
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    left = info.file_size
                    while chunk := src.read(min(MB, left + 1)):
                        left -= len(chunk)
                        budget -= len(chunk)
                        if left < 0 or budget < 0:
                            raise InputError(
                                "archive_too_large",
                                size_mb=f"> {lim.uncompressed_mb:,}",
                                limit_mb=f"{lim.uncompressed_mb:,}",
                                member=_member_name(info),
                                member_mb=f"> {info.file_size / MB:,.0f}",
                            )
                        out.write(chunk)
                written.append(target)
    except InputError:
        raise
    except (
        zipfile.BadZipFile,
        OSError,
        zlib.error,
        EOFError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise InputError(
            "archive_damaged", detail=short_detail(exc, path.name, [path, dest, root])
        ) from None
    return written, nested


# =============================================================================================
# Shapefile text encoding and cut field names
# =============================================================================================
_CPG_CODECS = {
    "UTF8": "utf-8",
    "UTF-8": "utf-8",
    "65001": "utf-8",
    "GBK": "gb18030",
    "CP936": "gb18030",
    "936": "gb18030",
    "ANSI936": "gb18030",
    "GB2312": "gb18030",
    "GB18030": "gb18030",
    "EUC-CN": "gb18030",
}


def _decodes(raw: bytes, codec: str) -> bool:
    """True when ``raw`` decodes, allowing one character cut at the end (fixed-width fields)."""
    for cut in range(4):
        try:
            raw[: len(raw) - cut].decode(codec)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _dbf_fields(head: bytes) -> list[tuple[int, bytes, str, int]]:
    """``(offset, name bytes, type, width)`` of each field descriptor in a dBase header."""
    if len(head) < 33:
        return []
    header_len = struct.unpack("<H", head[8:10])[0]
    out = []
    pos = 32
    while pos + 32 <= min(header_len, len(head)) and head[pos] != 0x0D:
        desc = head[pos : pos + 32]
        out.append((pos, desc[:11].split(b"\0", 1)[0], chr(desc[11]), desc[16]))
        pos += 32
    return out


def dbf_encoding(head: bytes) -> str:
    """Encoding of a .dbf without a .cpg from the first bytes of the file: ``"UTF-8"`` when its
    field names and text values decode as UTF-8, else ``"GB18030"``.

    Shapefiles exported by Chinese GIS software often carry GBK text and no .cpg; GDAL would then
    read them as Latin-1 and every Chinese column name would be garbled. Only ``head`` (at most
    :data:`DBF_SNIFF_BYTES`) is looked at, never the whole file.
    """
    descriptors = _dbf_fields(head)
    if not descriptors:
        return "UTF-8" if _decodes(head, "utf-8") else "GB18030"
    header_len = struct.unpack("<H", head[8:10])[0]
    record_len = struct.unpack("<H", head[10:12])[0]
    texts = [name for _, name, _, _ in descriptors]
    if record_len > 1:
        for start in range(header_len, len(head) - record_len + 1, record_len):
            pos = start + 1
            for _, _, kind, width in descriptors:
                if kind == "C":
                    texts.append(head[pos : pos + width].rstrip(b" \0"))
                pos += width
    return "UTF-8" if all(_decodes(t, "utf-8") for t in texts) else "GB18030"


def _cut_name_fixes(head: bytes, codec: str) -> list[tuple[int, bytes]]:
    """Field names cut inside a character by the 10-byte limit: ``(offset, repaired name)``."""
    fixes: list[tuple[int, bytes]] = []
    names = {name.lower() for _, name, _, _ in _dbf_fields(head)}
    for offset, name, _, _ in _dbf_fields(head):
        try:
            name.decode(codec)
            continue
        except UnicodeDecodeError:
            pass
        for cut in range(1, 4):
            try:
                name[:-cut].decode(codec)
            except UnicodeDecodeError:
                continue
            fixed = name[:-cut]
            k = 2
            while fixed.lower() in names or not fixed:  # keep names unique
                suffix = f"_{k}".encode()
                fixed = name[: -cut - len(suffix)] + suffix
                k += 1
            names.add(fixed.lower())
            fixes.append((offset, fixed))
            break
    return fixes


def _siblings(shp: Path) -> dict[str, Path]:
    """Files next to ``shp`` with its stem, by lower-case suffix (``.DBF`` and ``.dbf`` alike)."""
    stem = shp.stem.lower()
    return {
        p.suffix.lower(): p for p in shp.parent.iterdir() if p.stem.lower() == stem and p.is_file()
    }


def _prepare_shapefile(shp: Path, owned: bool, scratch) -> tuple[Path, str | None]:
    """The Shapefile to open and the encoding to pass to GDAL (``None``: GDAL's own, from .cpg).

    Cut field names are repaired in place when the files are our own unpacked copy (``owned``),
    else in a copy made in ``scratch()`` (a private temporary folder).
    """
    parts = _siblings(shp)
    dbf = parts.get(".dbf")
    if dbf is None:
        return shp, None
    with dbf.open("rb") as fh:
        head = fh.read(DBF_SNIFF_BYTES)
    explicit = None
    codec = None
    cpg = parts.get(".cpg")
    if cpg is not None:
        with cpg.open("rb") as fh:
            label = fh.read(64).decode("ascii", "ignore").strip().upper().replace(" ", "")
        codec = _CPG_CODECS.get(label)
    else:
        explicit = dbf_encoding(head)
        codec = "utf-8" if explicit == "UTF-8" else "gb18030"
    fixes = _cut_name_fixes(head, codec) if codec else []
    if fixes:
        if not owned:
            folder = scratch()
            for part in parts.values():
                shutil.copyfile(part, folder / part.name)
            shp, dbf = folder / shp.name, folder / dbf.name
        with dbf.open("r+b") as fh:
            for offset, name in fixes:
                fh.seek(offset)
                fh.write(name.ljust(11, b"\0")[:11])
    return shp, explicit


# =============================================================================================
# Listing the layers of a source
# =============================================================================================
def _gis_sublayers(
    path: Path, encoding: str | None
) -> list[tuple[str, int | None, str | None, tuple[str, ...]]]:
    import pyogrio

    out = []
    for name, geometry in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=name, encoding=encoding, force_feature_count=True)
        count = info.get("features")
        rows = None if count is None or count < 0 else int(count)
        geometry = info.get("geometry_type") or geometry
        geom = None if geometry in (None, "", "None") else str(geometry)
        out.append((str(name), rows, geom, tuple(str(f) for f in info.get("fields", ()))))
    return out


#: Most megabytes an XLSX's parts other than its sheets may take unpacked: a reader holds them
#: whole (the shared text table, styles, the workbook), while sheets are streamed.
MAX_WORKBOOK_PARTS_MB = 64


#: Shared strings allowed per allowed row (``max_rows``): 4 text cells of different text a row.
SHARED_STRINGS_PER_ROW = 4


def _check_workbook_parts(path: Path, lim: Limits) -> None:
    """Refuse a workbook whose shared text table would take minutes and gigabytes to load.

    openpyxl loads every part but the sheets whole, even read-only; a 1 MB upload whose shared
    string table unpacks to 425 MB took 5.5 minutes and 2.4 GB. The parts' sizes come from the
    zip directory, the number of strings from a byte count of ``<si`` tags (no parsing).

    Raises
    ------
    InputError
        ``workbook_text_too_large``.
    """
    most = lim.rows * SHARED_STRINGS_PER_ROW
    with zipfile.ZipFile(path) as zf:
        parts = [i for i in zf.infolist() if not i.filename.lower().startswith("xl/worksheets/")]
        size = sum(i.file_size for i in parts)
        if size > MAX_WORKBOOK_PARTS_MB * MB:
            raise InputError("workbook_text_too_large", limit=f"{most:,}", limit_mb=MAX_WORKBOOK_PARTS_MB)
        count = 0
        for info in parts:
            if not info.filename.lower().endswith(".xml"):
                continue
            with zf.open(info) as fh:
                count += sum(_tags_in(fh, (b"<si>", b"<si ", b":si>", b":si ")))  # ":" a prefixed <x:si>
            if count > most:
                raise InputError(
                    "workbook_text_too_large", limit=f"{most:,}", limit_mb=MAX_WORKBOOK_PARTS_MB
                )


def _tags_in(stream, tags: tuple[bytes, ...]) -> Iterator[int]:
    """How many of ``tags`` (all of one length) each megabyte of a streamed XML part holds: a
    byte count, no parsing; a tag cut between two reads is counted once."""
    keep = len(tags[0]) - 1  # shorter than a tag: the carried tail never holds a whole one
    tail = b""
    while chunk := stream.read(MB):
        text = tail + chunk
        yield sum(text.count(tag) for tag in tags)
        tail = text[-keep:]


def _sheet_sublayers(path: Path) -> list[SubLayer]:
    """Every sheet of a workbook: whether it holds a header and at least one data row, read as a
    stream (only the first non-empty rows of each sheet)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        out = []
        for sheet in book.worksheets:
            header: tuple[str, ...] = ()
            has_data = False
            rows = _sheet_rows(sheet, limits())
            found = next(rows, None)
            if found is not None:
                header = tuple("" if v is None else str(v).strip() for v in found[1])
                has_data = next(rows, None) is not None
            out.append(SubLayer(sheet.title, None if has_data else 0, None, header, path, sheet.title))
        return out
    finally:
        book.close()


def _filled(value: object) -> bool:
    """Whether a cell holds something (not empty, not only spaces)."""
    return value is not None and bool(str(value).strip())


def _blank(values: tuple) -> bool:
    if values.count(None) == len(values):  # the common case at C speed (gaps between rows)
        return True
    return not any(_filled(v) for v in values)


def _sheet_rows(sheet, lim: Limits) -> Iterator[tuple[int, tuple]]:
    """The non-blank rows of a read-only worksheet, first the header (the first non-blank row),
    as ``(row number, values)`` cut to the header's width.

    Never as wide as the sheet says it is: ``reset_dimensions`` drops the declared size and the
    header is looked for in the first ``lim.columns`` + 1 columns only.

    Raises
    ------
    InputError
        ``too_many_columns`` when the header is wider than ``lim.columns``.
    """
    sheet.reset_dimensions()
    found = next(_nonblank(sheet.iter_rows(max_col=lim.columns + 1, values_only=True), 1), None)
    if found is None:
        return
    header_row, header = found
    width = max(i for i, v in enumerate(header) if _filled(v)) + 1
    if width > lim.columns:
        raise _too_many_columns(lim)
    yield from _nonblank(sheet.iter_rows(min_row=header_row, max_col=width, values_only=True), header_row)


def _nonblank(rows: Iterator[tuple], start: int) -> Iterator[tuple[int, tuple]]:
    """``(row number, values)`` of the rows that hold something, numbered from ``start``."""
    gap = None  # openpyxl yields one shared tuple for every row missing from the file
    for number, values in enumerate(rows, start=start):
        if values is gap:
            continue
        if _blank(values):
            gap = values
            continue
        yield number, values


def _plain_sublayers(path: Path, owned: bool, scratch, display: str | None) -> list[SubLayer]:
    """The layers of one data file. ``display`` prefixes names in a zip of several files."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _sheet_sublayers(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return [SubLayer(path.stem, None, None, (), path, None)]
    encoding = None
    target = path
    if suffix == ".shp":
        target, encoding = _prepare_shapefile(path, owned, scratch)
    found = _gis_sublayers(target, encoding)
    subs = []
    for name, rows, geom, columns in found:
        shown = name if display is None else display if len(found) == 1 else f"{display}::{name}"
        subs.append(SubLayer(shown, rows, geom, columns, target, name, encoding))
    return subs


@contextlib.contextmanager
def _sublayers(path: Path, label: str, lim: Limits) -> Iterator[list[SubLayer]]:
    """Every layer of ``path`` (unpacking a zip into a private folder for the block's duration)."""
    with contextlib.ExitStack() as stack:
        folders: list[Path] = []

        def scratch() -> Path:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grid_read_")))
            folders.append(folder)
            return folder

        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            try:  # an XLSX is a zip: its parts are bounded the same way
                check_archive(path, lim)
                _check_workbook_parts(path, lim)
            except InputError as problem:
                if problem.code == "archive_damaged":
                    raise InputError("format_not_recognised", format=FORMAT_NAMES[suffix]) from None
                raise
        if suffix != ".zip":
            try:
                plain = _plain_sublayers(path, False, scratch, None)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - every reader failure is the user's file
                raise _unreadable(exc, suffix, label, [path, *folders]) from None
            yield plain
            return
        root = scratch()
        written, nested = extract_archive(path, root, lim)
        data = sorted(
            (p for p in written if p.suffix.lower() in GIS_SUFFIXES), key=lambda p: p.as_posix()
        )
        if not data:
            if nested:
                raise InputError("archive_nested", member=", ".join(nested[:3]))
            names = [p.relative_to(root).as_posix() for p in written]
            raise InputError("zip_without_data", contents=", ".join(names[:8]) or "-")
        subs: list[SubLayer] = []
        first_error: BaseException | None = None
        for file in data:
            display = None if len(data) == 1 else file.relative_to(root).as_posix()
            try:
                subs.extend(_plain_sublayers(file, True, scratch, display))
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - a stray .json next to the Shapefile is no reason to fail
                first_error = first_error or exc
        if not subs:
            assert first_error is not None
            raise _unreadable(first_error, data[0].suffix.lower(), label, [path, *folders])
        yield subs


def list_layers(path: str | Path, *, label: str | None = None) -> list[SubLayer]:
    """The layers (GIS sources, zips) or sheets (workbooks) of a file, with their row counts.

    Parameters
    ----------
    path : str or Path
        Any file :func:`open_layer` reads.
    label : str, optional
        The file's name as the user knows it (used in error details).

    Raises
    ------
    InputError
        When the file cannot be opened safely (limits, damaged, unsafe archive).
    """
    path = Path(path)
    lim = limits()
    _check_plain_size(path, lim)
    with _sublayers(path, label or path.name, lim) as subs:
        return [SubLayer(s.name, s.rows, s.geometry, s.columns) for s in subs]


# =============================================================================================
# Choosing a layer
# =============================================================================================
def _geometry_base(geometry: str) -> str:
    return geometry.replace("3D ", "").split(" ")[0]


def _fits(sub: SubLayer, kind: str) -> bool:
    if sub.is_table:
        return kind in _KIND_TABLES
    base = _geometry_base(sub.geometry or "")
    return base in ("Unknown", "GeometryCollection", "Geometry") or base in _KIND_GEOMETRY[kind]


def _complete(sub: SubLayer, kind: str) -> bool:
    """True when the layer has the columns the input needs (so it is the data meant)."""
    if kind == "units":
        aliases, needed = schema.UNIT_ALIASES, {"population"}
    elif kind == "facilities":
        aliases, needed = schema.FACILITY_ALIASES, {"name"}
    else:
        return True
    if sub.is_table:
        aliases = aliases | {
            "lon": schema.FACILITY_ALIASES["lon"],
            "lat": schema.FACILITY_ALIASES["lat"],
        }
        needed = needed | {"lon", "lat"}
    return needed <= set(schema.resolve_columns(sub.columns, aliases).values())


def _names(subs: Sequence[SubLayer]) -> str:
    return ", ".join(f"'{s.name}'" for s in subs)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _match(subs: Sequence[SubLayer], choice: str) -> SubLayer | None:
    for test in (
        lambda s: s.name == choice,
        lambda s: _fold(s.name) == _fold(choice),
        lambda s: s.layer is not None and _fold(s.layer) == _fold(choice),
        lambda s: _fold(s.path.stem) == _fold(choice) or _fold(s.path.name) == _fold(choice),
    ):
        found = [s for s in subs if test(s)]
        if len(found) == 1:
            return found[0]
    return None


def candidates(subs: Sequence[SubLayer], kind: str | None) -> list[SubLayer]:
    """The layers a planner may mean for input ``kind``: with data and of a fitting kind (all
    layers with data when none fits, or when ``kind`` is ``None``)."""
    with_rows = [s for s in subs if s.has_rows]
    if kind is None:
        return with_rows
    fit = [s for s in with_rows if _fits(s, kind)]
    return fit or with_rows


def choose(
    subs: Sequence[SubLayer], kind: str | None, choice: str | None
) -> tuple[SubLayer, list[tuple[str, dict]]]:
    """The layer to read and the notes (warnings) about the choice.

    With ``choice``: that layer (``layer_not_found`` when there is none of that name). Without:
    the one layer with data that fits ``kind`` and has its required columns, else the one that
    fits, else the one with data; ``layer_ambiguous`` when a tier holds several,
    ``file_empty`` when no layer holds data.
    """
    if choice is not None and str(choice).strip():
        found = _match(subs, str(choice).strip())
        if found is None:
            raise InputError("layer_not_found", layer=str(choice), available=_names(subs) or "-")
        return found, []
    with_rows = [s for s in subs if s.has_rows]
    if not with_rows:
        raise InputError("file_empty")
    fit = [s for s in with_rows if kind is None or _fits(s, kind)]
    complete = [s for s in fit if kind is None or _complete(s, kind)]
    for tier in (complete, fit, with_rows):
        if len(tier) == 1:
            pick = tier[0]
            break
        if len(tier) > 1:
            raise InputError("layer_ambiguous", layers=_names(tier), slot=kind or "units")
    others = [s for s in with_rows if s is not pick]
    notes: list[tuple[str, dict]] = []
    if others or pick is not subs[0]:
        rest = [s for s in subs if s is not pick]
        notes.append(("layer_chosen", {"layer": pick.name, "others": _names(rest)}))
    return pick, notes


# =============================================================================================
# Reading the chosen layer
# =============================================================================================
def _check_plain_size(path: Path, lim: Limits) -> None:
    size = path.stat().st_size
    if path.suffix.lower() != ".zip" and size > lim.uncompressed_mb * MB:
        raise InputError(
            "file_too_large", size_mb=f"{size / MB:,.0f}", limit_mb=f"{lim.uncompressed_mb:,}"
        )


def _count_lines(path: Path) -> int:
    """Line breaks in a text file, streamed (a UTF-16 file is decoded: its "上" holds a 0x0A byte).

    In UTF-8 and GB18030 a 0x0A or 0x0D byte is always a line break, so bytes are counted there.
    Line feeds or carriage returns, whichever are more: a file saved as "CSV (Macintosh)" ends
    its lines with a carriage return alone, which the CSV reader takes as a line break too.
    """
    with path.open("rb") as fh:
        bom = fh.read(2)
    lf = cr = 0
    if bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        with path.open(encoding="utf-16", errors="replace", newline="") as fh:
            while chunk := fh.read(MB):
                lf, cr = lf + chunk.count("\n"), cr + chunk.count("\r")
        return max(lf, cr)
    with path.open("rb") as fh:
        while chunk := fh.read(MB):
            lf, cr = lf + chunk.count(b"\n"), cr + chunk.count(b"\r")
    return max(lf, cr)


def _decode(raw: bytes) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: UTF-8 (with or without BOM), UTF-16, GB18030."""
    if raw.startswith(codecs.BOM_UTF8):
        with contextlib.suppress(UnicodeDecodeError):
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        # A UTF-8 mark before GBK text: a GBK file edited by a tool that added the mark.
        return raw[len(codecs.BOM_UTF8) :].decode("gb18030"), "gb18030"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # GB18030 is a superset of GBK and GB2312, the usual encodings of a CSV saved by Chinese Excel.
    return raw.decode("gb18030"), "gb18030"


def _sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", "\t", ";", "|", "，")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _too_many_rows(lim: Limits) -> InputError:
    return InputError("too_many_rows", limit=f"{lim.rows:,}")


def _too_many_columns(lim: Limits) -> InputError:
    return InputError("too_many_columns", limit=f"{lim.columns:,}")


def _too_many_cells(lim: Limits) -> InputError:
    return InputError("too_many_cells", limit=f"{lim.cells:,}")


def _read_csv(path: Path, lim: Limits) -> tuple[pd.DataFrame, str]:
    lines = _count_lines(path)
    if lines > lim.rows + 1:
        raise _too_many_rows(lim)
    text, encoding = _decode(path.read_bytes())
    if not text.strip():
        return pd.DataFrame(), encoding
    sep = _sniff_delimiter(text)
    # The header's fields (quoting aside: an upper bound), before pandas makes a column of each.
    width = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0].count(sep) + 1
    if width > lim.columns:
        raise _too_many_columns(lim)
    if lines * width > lim.cells:
        raise _too_many_cells(lim)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            skip_blank_lines=False,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            nrows=lim.rows + 1,
        )
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    if len(df) > lim.rows:  # never cut at nrows in silence, whatever the count above missed
        raise _too_many_rows(lim)
    return df, encoding


def _tidy_table(df: pd.DataFrame, encoding: str) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    # Drop unnamed all-empty columns (a trailing comma on every line) and blank rows.
    df = df.loc[:, ~(df.columns.str.startswith("Unnamed:") & df.isna().all().to_numpy())]
    df = df.dropna(how="all")
    df.attrs["encoding"] = encoding
    return df


def _sheet_header(values: tuple) -> list[str]:
    """Column names as pandas gives them (``Unnamed: i`` for a blank heading, ``a.1`` for a
    second ``a``), so that a sheet reads like the same table saved as CSV."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        name = str(v).strip() if _filled(v) else f"Unnamed: {i}"
        base = name
        while name in seen:
            seen[base] += 1
            name = f"{base}.{seen[base]}"
        seen[name] = 0
        names.append(name)
    return names


def _uncached_formulas(sub: SubLayer, blank: Callable[[int, int], bool], first: int, width: int) -> list[str]:
    """Up to five cells (``"E2"``) from row ``first`` on that hold a formula with no saved result
    (a workbook written by a script or a web export, never opened in Excel): read as results
    they are blank. ``blank(row number, column index)`` says whether the results read left the
    cell blank."""
    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    book = openpyxl.load_workbook(sub.path, read_only=True, data_only=False, keep_links=False)
    try:
        sheet = book[sub.layer] if sub.layer is not None else book.worksheets[0]
        sheet.reset_dimensions()
        cells = []
        for number, values in enumerate(
            sheet.iter_rows(min_row=first, max_col=width, values_only=True), start=first
        ):
            for col, cell in enumerate(values):
                formula = isinstance(cell, ArrayFormula | DataTableFormula) or (
                    isinstance(cell, str) and cell.startswith("=")
                )
                if formula and blank(number, col):
                    cells.append(f"{get_column_letter(col + 1)}{number}")
            if len(cells) >= 5:
                return cells[:5]
        return cells
    finally:
        book.close()


def _has_formulas(sheet) -> bool:
    """Whether the sheet's XML holds a formula element (a byte scan, no parsing)."""
    try:
        source = sheet._get_source()  # openpyxl's read-only sheets open their part this way
    except AttributeError:
        return True  # cannot tell: look at the cells
    with source:
        return any(_tags_in(source, (b"<f>", b"<f ", b":f>")))


def _read_sheet(sub: SubLayer, lim: Limits) -> pd.DataFrame:
    """One sheet as text cells (blank cells NaN), the first non-blank row the header.

    Read as a stream of rows no wider than the header (see :func:`_sheet_rows`); stops at the
    row limit.

    Raises
    ------
    InputError
        ``too_many_rows``, ``too_many_columns``, or ``formula_without_value`` for formulas whose
        result was never saved (their cells would read as empty).
    """
    import openpyxl

    book = openpyxl.load_workbook(sub.path, read_only=True, data_only=True, keep_links=False)
    try:
        sheet = book[sub.layer] if sub.layer is not None else book.worksheets[0]
        formulas = _has_formulas(sheet)
        rows = _sheet_rows(sheet, lim)
        first = next(rows, None)
        width = len(first[1]) if first else 0
        # Column by column as the rows stream: no row is kept (the memory of the text only).
        columns: list[list[object]] = [[] for _ in range(width)]
        numbers: list[int] = []
        for number, values in rows:
            if len(numbers) >= lim.rows:
                raise _too_many_rows(lim)
            if (len(numbers) + 2) * width > lim.cells:
                raise _too_many_cells(lim)
            numbers.append(number)
            for column, value in zip(columns, values, strict=True):
                column.append(_cell_text(value))
    finally:
        book.close()
    if formulas:
        where = {n: i for i, n in enumerate(numbers)}

        def blank(number: int, col: int) -> bool:
            if first is not None and number == first[0]:
                return first[1][col] is None
            i = where.get(number)
            return i is None or not isinstance(columns[col][i], str)

        start, scan = (first[0], width) if first else (1, lim.columns)
        cells = _uncached_formulas(sub, blank, start, scan)
        if cells:
            raise InputError("formula_without_value", cells=", ".join(cells))
    if first is None:
        return pd.DataFrame()
    frame = {
        name: np.array(column, dtype=object)
        for name, column in zip(_sheet_header(first[1]), columns, strict=True)
    }
    # Index = spreadsheet row - 2, as for a CSV read with its blank lines: findings name the row
    # the planner sees in Excel (layers._row_labels).
    return pd.DataFrame(frame, index=pd.Index([n - 2 for n in numbers], dtype="int64"))


def _cell_text(value: object) -> object:
    """A cell as text the way pandas' Excel reader gives it (a whole float without ``.0``)."""
    if value is None:
        return np.nan
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _vertex_bound(sub: SubLayer) -> int:
    """Most vertices the layer's file could hold, from its size (see the byte constants)."""
    size = sub.path.stat().st_size
    per = (
        _TEXT_BYTES_PER_VERTEX if sub.path.suffix.lower() in _TEXT_GIS else _BINARY_BYTES_PER_VERTEX
    )
    return size // per


def count_vertices(sub: SubLayer, stop_above: int | None = None) -> int:
    """Vertices of a GIS layer, read in batches of geometry only (the memory of one batch).

    Stops counting once ``stop_above`` is exceeded.
    """
    import pyarrow as pa  # noqa: F401 - open_arrow(use_pyarrow=True) needs it
    import pyogrio
    import shapely

    total = 0
    with pyogrio.open_arrow(
        sub.path,
        layer=sub.layer,
        encoding=sub.encoding,
        columns=[],
        batch_size=VERTEX_BATCH,
        use_pyarrow=True,
    ) as (meta, reader):
        name = meta.get("geometry_name") or "wkb_geometry"
        for batch in reader:
            if name not in batch.schema.names:
                return 0
            wkb = batch.column(name).to_numpy(zero_copy_only=False)
            total += int(shapely.get_num_coordinates(shapely.from_wkb(wkb)).sum())
            if stop_above is not None and total > stop_above:
                break
    return total


def check_layer_size(sub: SubLayer, lim: Limits) -> None:
    """The limits on a GIS layer's rows, columns, cells and vertices, before it is read: from
    its feature count and fields, and its geometry counted in batches only when the file is
    large enough to exceed the vertex limit.

    Raises
    ------
    InputError
        ``too_many_rows``, ``too_many_columns``, ``too_many_cells`` or ``too_many_vertices``.
    """
    if sub.rows is not None and sub.rows > lim.rows:
        raise _too_many_rows(lim)
    if len(sub.columns) > lim.columns:
        raise _too_many_columns(lim)
    if sub.rows is not None and sub.rows * (len(sub.columns) + 1) > lim.cells:
        raise _too_many_cells(lim)
    if (
        not sub.is_table
        and _vertex_bound(sub) > lim.vertices
        and count_vertices(sub, stop_above=lim.vertices) > lim.vertices
    ):
        raise InputError("too_many_vertices", limit=f"{lim.vertices:,}")


def _read_gis(sub: SubLayer, lim: Limits) -> pd.DataFrame:
    check_layer_size(sub, lim)
    kwargs = {"encoding": sub.encoding} if sub.encoding else {}
    df = gpd.read_file(
        sub.path, layer=sub.layer, engine="pyogrio", max_features=lim.rows + 1, **kwargs
    )
    if len(df) > lim.rows:
        raise _too_many_rows(lim)
    return df


def open_layer(
    path: str | Path,
    *,
    kind: str | None = None,
    choice: str | None = None,
    label: str | None = None,
) -> Opened:
    """Read one layer of a file within the limits, choosing the layer as the module describes.

    Parameters
    ----------
    path : str or Path
        CSV/TXT/TSV, XLSX/XLSM, GeoJSON, GeoPackage, Shapefile, KML, FlatGeobuf or a zip of them.
    kind : {"units", "facilities", "boundary", "districts", "roads"}, optional
        The input the file is for: decides which layers fit when no choice is made.
    choice : str, optional
        The layer or sheet to read.
    label : str, optional
        The file's name as the user knows it (error details name it, never a server path).

    Returns
    -------
    Opened
        Tables have every cell as text (NaN when empty) and an index of spreadsheet row minus 2;
        GIS layers are GeoDataFrames as stored (no CRS handling here). Unpacked files are gone
        when this returns.

    Raises
    ------
    InputError
        For every file that cannot be read safely or unambiguously, with the finding's code.
    """
    path = Path(path)
    label = label or path.name
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES and suffix not in VECTOR_SUFFIXES:
        raise InputError("unsupported_format", suffix=suffix or "?")
    lim = limits()
    _check_plain_size(path, lim)
    try:
        with _sublayers(path, label, lim) as subs:
            sub, notes = choose(subs, kind, choice)
            folders = {s.path.parent for s in subs}
            try:
                if sub.path.suffix.lower() in (".xlsx", ".xlsm"):
                    frame, is_table = _tidy_table(_read_sheet(sub, lim), "xlsx"), True
                elif sub.path.suffix.lower() in (".csv", ".txt", ".tsv"):
                    frame, is_table = _tidy_table(*_read_csv(sub.path, lim)), True
                else:
                    frame = _read_gis(sub, lim)
                    is_table = not isinstance(frame, gpd.GeoDataFrame)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - every reader failure is the user's file
                raise _unreadable(exc, sub.path.suffix.lower(), label, [path, *folders]) from None
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _unreadable(exc, suffix, label, [path]) from None
    return Opened(frame, is_table, sub.name, tuple(notes))


def read_table(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV or Excel table with every cell as text (see :func:`open_layer` for the rules).

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` in UTF-8, UTF-8 with BOM, UTF-16 or GBK/GB18030 (detected), with
        a comma, tab, semicolon or bar delimiter (detected); or ``.xlsx``/``.xlsm``.
    sheet : str, optional
        The sheet to read; by default the one sheet that holds data (an error when several do).

    Returns
    -------
    DataFrame
        Cells as strings (NaN when empty), so ids such as ``"007"`` keep their zeros. The index
        is the spreadsheet row number minus 2 (header = row 1), kept even where blank rows are
        dropped, so ``index + 2`` is the row the user sees. ``attrs["encoding"]`` tells the
        encoding found.

    Raises
    ------
    InputError (a ValueError)
        For an unsupported suffix (``.xls``: save as ``.xlsx``), limits, several sheets with data.
    """
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError("unsupported_format", suffix=path.suffix.lower() or "?")
    try:
        return open_layer(path, choice=sheet).frame
    except InputError as exc:
        if exc.code == "file_empty":
            return _tidy_table(pd.DataFrame(), "utf-8")
        raise


def read_vector(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage, Shapefile or zipped Shapefile as it is stored.

    ``layer`` chooses among several layers; without it the one layer with data is read (an error
    when several have data). A Shapefile without a ``.cpg`` is read as UTF-8 when its text decodes
    as UTF-8, else as GB18030 (GBK). No CRS check or conversion happens here.
    """
    path = Path(path)
    if path.suffix.lower() not in VECTOR_SUFFIXES:
        raise InputError("unsupported_format", suffix=path.suffix.lower() or "?")
    return open_layer(path, choice=layer).frame


__all__ = [
    "DEFAULT_LIMITS",
    "InputError",
    "KINDS",
    "Limits",
    "Opened",
    "SubLayer",
    "candidates",
    "check_archive",
    "choose",
    "count_vertices",
    "dbf_encoding",
    "extract_archive",
    "limits",
    "list_layers",
    "open_layer",
    "read_table",
    "read_vector",
    "short_detail",
]
