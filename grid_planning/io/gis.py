"""GIS layers (GeoJSON, GeoPackage, Shapefile, KML): rows, columns and vertices checked from the driver and in batches of geometry before the layer is read."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow  # noqa: F401 - open_arrow(use_pyarrow=True) needs it (geopandas loads it anyway)
import pyogrio
import shapely

from grid_planning.io.gistext import check_dbf_text
from grid_planning.io.limits import (
    BINARY_BYTES_PER_VERTEX,
    TEXT_BYTES_PER_VERTEX,
    TEXT_GIS,
    InputError,
    Limits,
    SubLayer,
    too_many_cells,
    too_many_columns,
    too_many_rows,
)

#: Geometry is counted in batches of this many features (memory of one batch, not of the layer).
VERTEX_BATCH = 20_000


def _vertex_bound(sub: SubLayer) -> int:
    """Most vertices the layer's file could hold, from its size (see the byte constants)."""
    size = sub.path.stat().st_size
    per = TEXT_BYTES_PER_VERTEX if sub.path.suffix.lower() in TEXT_GIS else BINARY_BYTES_PER_VERTEX
    return size // per


def count_vertices(sub: SubLayer, stop_above: int | None = None) -> int:
    """Vertices of a GIS layer, read in batches of geometry only (the memory of one batch).

    Stops counting once ``stop_above`` is exceeded.
    """
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
        raise too_many_rows(lim)
    if len(sub.columns) > lim.columns:
        raise too_many_columns(lim)
    if sub.rows is not None and sub.rows * (len(sub.columns) + 1) > lim.cells:
        raise too_many_cells(lim)
    if (
        not sub.is_table
        and _vertex_bound(sub) > lim.vertices
        and count_vertices(sub, stop_above=lim.vertices) > lim.vertices
    ):
        raise InputError("too_many_vertices", limit=f"{lim.vertices:,}")


def check_gpkg_text(path: Path, table: str | None, lim: Limits) -> None:
    """Refuse a GeoPackage layer holding a text longer than ``max_cell_chars``, asked of SQLite
    (``length()`` per text column) before any value is read into Python.

    Raises
    ------
    InputError
        ``text_too_long`` naming the feature and column.
    """
    if path.suffix.lower() != ".gpkg" or not table:
        return
    quoted = '"' + table.replace('"', '""') + '"'
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as con:
        # Every column: SQLite stores a value of any declared type as text if given text.
        columns = [str(r[1]) for r in con.execute("SELECT * FROM pragma_table_info(?)", (table,))]
        for column in columns:
            name = '"' + column.replace('"', '""') + '"'
            sql = f"SELECT rowid FROM {quoted} WHERE typeof({name}) = 'text' AND length({name}) > ? LIMIT 1"
            found = con.execute(sql, (lim.cell_chars,)).fetchone()
            if found is not None:
                raise InputError(
                    "text_too_long",
                    column=column[:100],
                    cell=f"#{found[0]} {column[:100]}",
                    limit=f"{lim.cell_chars:,}",
                )


def check_file_text(sub: SubLayer, lim: Limits) -> None:
    """Refuse a layer holding a text longer than ``max_cell_chars`` before GDAL builds it: a
    GeoPackage's asked of SQLite, a Shapefile's .dbf from its field widths
    (:mod:`grid_planning.io.gistext`). GeoJSON and KML files are streamed before GDAL lists their
    layers (:func:`grid_planning.io.inputs.open_layer`); FlatGeobuf is checked after reading.

    Raises
    ------
    InputError
        ``text_too_long``.
    """
    suffix = sub.path.suffix.lower()
    if suffix == ".gpkg":
        check_gpkg_text(sub.path, sub.layer, lim)
    elif suffix == ".shp":
        stem = sub.path.stem.lower()
        for dbf in sub.path.parent.glob("*"):
            if dbf.stem.lower() == stem and dbf.suffix.lower() == ".dbf" and dbf.is_file():
                check_dbf_text(dbf, lim.cell_chars, sub.encoding)


def read_gis(sub: SubLayer, lim: Limits) -> pd.DataFrame:
    check_layer_size(sub, lim)
    check_file_text(sub, lim)
    kwargs = {"encoding": sub.encoding} if sub.encoding else {}
    df = gpd.read_file(
        sub.path, layer=sub.layer, engine="pyogrio", max_features=lim.rows + 1, **kwargs
    )
    if len(df) > lim.rows:
        raise too_many_rows(lim)
    check_text_lengths(df, lim)
    return df


def check_text_lengths(frame: pd.DataFrame, lim: Limits) -> None:
    """Refuse a layer with an attribute value longer than ``max_cell_chars``, naming the first
    (feature number, column). GDAL builds each value as it reads (the layer itself is bounded by
    ``max_uncompressed_mb``); what is refused here never reaches a finding, a map or an export.

    Raises
    ------
    InputError
        ``text_too_long``.
    """
    for column in frame.columns:
        values = frame[column]
        if column == getattr(frame, "_geometry_column_name", None) or not (
            values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
        ):
            continue
        if values.dtype == object:
            lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0)
        else:  # a string dtype: every value a str or missing, measured at once
            lengths = values.str.len().fillna(0)
        too_long = lengths.to_numpy() > lim.cell_chars
        if too_long.any():
            at = int(too_long.argmax())
            raise InputError(
                "text_too_long",
                column=str(column)[:100],
                cell=f"#{at + 1} {str(column)[:100]}",
                limit=f"{lim.cell_chars:,}",
            )
