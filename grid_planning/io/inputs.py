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

import contextlib
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from grid_planning.domain import schema
from grid_planning.io.archives import check_archive, extract_archive
from grid_planning.io.delimited import read_csv
from grid_planning.io.gis import read_gis
from grid_planning.io.gistext import check_fgb_text, check_geojson_text, check_kml_text
from grid_planning.io.limits import (
    FORMAT_NAMES,
    GIS_SUFFIXES,
    KIND_GEOMETRY,
    KIND_TABLES,
    TABLE_SUFFIXES,
    VECTOR_SUFFIXES,
    InputError,
    Limits,
    Opened,
    SubLayer,
    check_plain_size,
    limits,
    unreadable,
)
from grid_planning.io.shapefiles import prepare_shapefile
from grid_planning.io.sheets import check_workbook_parts, read_sheet, sheet_sublayers


# =============================================================================================
# Listing the layers of a source
# =============================================================================================
def _gis_sublayers(
    path: Path, encoding: str | None
) -> list[tuple[str, int | None, str | None, tuple[str, ...]]]:
    out = []
    for name, geometry in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=name, encoding=encoding, force_feature_count=True)
        count = info.get("features")
        rows = None if count is None or count < 0 else int(count)
        geometry = info.get("geometry_type") or geometry
        geom = None if geometry in (None, "", "None") else str(geometry)
        out.append((str(name), rows, geom, tuple(str(f) for f in info.get("fields", ()))))
    return out


def _plain_sublayers(path: Path, owned: bool, scratch, display: str | None) -> list[SubLayer]:
    """The layers of one data file. ``display`` prefixes names in a zip of several files."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return sheet_sublayers(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return [SubLayer(path.stem, None, None, (), path, None)]
    encoding = None
    target = path
    if suffix == ".shp":
        target, encoding = prepare_shapefile(path, owned, scratch)
    elif suffix in (".geojson", ".json"):
        # Before GDAL opens it: GDAL parses the whole file to list its layer, building each value.
        check_geojson_text(path, limits().cell_chars)
    elif suffix == ".kml":
        check_kml_text(path, limits().cell_chars)  # GDAL's KML reader builds each text whole
    elif suffix == ".fgb":
        check_fgb_text(path, limits().cell_chars)  # and its FlatGeobuf reader each feature's
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
                check_workbook_parts(path, lim)
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
                raise unreadable(exc, suffix, label, [path, *folders]) from None
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
            raise unreadable(first_error, data[0].suffix.lower(), label, [path, *folders])
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
    check_plain_size(path, lim)
    with _sublayers(path, label or path.name, lim) as subs:
        return [SubLayer(s.name, s.rows, s.geometry, s.columns) for s in subs]


# =============================================================================================
# Choosing a layer
# =============================================================================================
def _geometry_base(geometry: str) -> str:
    return geometry.replace("3D ", "").split(" ")[0]


def _fits(sub: SubLayer, kind: str) -> bool:
    if sub.is_table:
        return kind in KIND_TABLES
    base = _geometry_base(sub.geometry or "")
    return base in ("Unknown", "GeometryCollection", "Geometry") or base in KIND_GEOMETRY[kind]


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


def _tidy_table(df: pd.DataFrame, encoding: str) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    # Drop unnamed all-empty columns (a trailing comma on every line) and blank rows.
    df = df.loc[:, ~(df.columns.str.startswith("Unnamed:") & df.isna().all().to_numpy())]
    df = df.dropna(how="all")
    df.attrs["encoding"] = encoding
    return df


def open_layer(
    path: str | Path,
    *,
    kind: str | None = None,
    choice: str | None = None,
    label: str | None = None,
    encoding: str | None = None,
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
    encoding : str, optional
        The text encoding of a CSV (any name Python knows: ``big5``, ``gbk``, ``utf-8``); by
        default it is detected (:func:`grid_planning.io.delimited.detect_encoding`).

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
    check_plain_size(path, lim)
    try:
        with _sublayers(path, label, lim) as subs:
            sub, notes = choose(subs, kind, choice)
            folders = {s.path.parent for s in subs}
            try:
                if sub.path.suffix.lower() in (".xlsx", ".xlsm"):
                    frame, is_table = _tidy_table(read_sheet(sub, lim), "xlsx"), True
                elif sub.path.suffix.lower() in (".csv", ".txt", ".tsv"):
                    frame, found, read_notes = read_csv(sub.path, lim, encoding)
                    frame, is_table = _tidy_table(frame, found), True
                    notes = [*notes, *read_notes]
                else:
                    frame = read_gis(sub, lim)
                    is_table = not isinstance(frame, gpd.GeoDataFrame)
                    if sub.encoding == "BIG5HKSCS":  # a .dbf without .cpg found to be Big5
                        notes = [*notes, ("dbf_encoding_detected", {"encoding": "Big5-HKSCS (Big5)"})]
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - every reader failure is the user's file
                raise unreadable(exc, sub.path.suffix.lower(), label, [path, *folders]) from None
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise unreadable(exc, suffix, label, [path]) from None
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


