"""XLSX workbooks, streamed: parts checked from the zip directory, then every part read as bounded XML (:mod:`grid_planning.io.xlsx`), rows no wider than their header, formulas without saved results refused naming their cells."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from grid_planning.io.limits import MB, InputError, Limits, SubLayer, limits
from grid_planning.io.xlsx import (
    MAX_PARTS_MB,
    SHARED_STRINGS_PER_ROW,
    OpenBook,
    open_workbook,
    read_rows,
)


def check_workbook_parts(path: Path, lim: Limits) -> None:
    """Refuse a workbook whose parts other than its sheets would be too large to hold.

    The shared text table and the styles are held whole (bounded), the sheets streamed; their
    unpacked sizes come from the zip directory, which the unpacking enforces (a member longer than
    it says fails its check). The shared strings are counted as they are parsed
    (:func:`grid_planning.io.xlsx.shared_strings`).

    Raises
    ------
    InputError
        ``workbook_text_too_large``.
    """
    most = lim.rows * SHARED_STRINGS_PER_ROW
    with zipfile.ZipFile(path) as zf:
        parts = [i for i in zf.infolist() if not i.filename.lower().startswith("xl/worksheets/")]
        if sum(i.file_size for i in parts) > MAX_PARTS_MB * MB:
            raise InputError("workbook_text_too_large", limit=f"{most:,}", limit_mb=MAX_PARTS_MB)


def sheet_sublayers(path: Path) -> list[SubLayer]:
    """Every sheet of a workbook: whether it holds a header and at least one data row, read as a
    stream (only the first non-empty rows of each sheet)."""
    lim = limits()
    out = []
    with zipfile.ZipFile(path) as zf:
        book = open_workbook(zf, lim)
        for title, part in book.book.sheets:
            rows = read_rows(book, part, lim, most_rows=1)
            header: tuple[str, ...] = ()
            if rows.header is not None:
                header = tuple("" if v is None else str(v).strip() for v in rows.header)
            has_data = bool(rows.numbers)
            out.append(
                SubLayer(title, None if has_data else 0, None, header, path, title, book=book)
            )
    return out


def _filled(value: object) -> bool:
    """Whether a cell holds something (not empty, not only spaces)."""
    return value is not None and bool(str(value).strip())


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


def read_sheet(sub: SubLayer, lim: Limits) -> pd.DataFrame:
    """One sheet as text cells (blank cells NaN), the first non-blank row the header.

    The sheet's XML is streamed (:mod:`grid_planning.io.xlsx`): rows no wider than the header,
    each cell's text bounded as it arrives, the read stopped at the first row past the limit.

    Raises
    ------
    InputError
        ``too_many_rows``, ``too_many_columns``, ``too_many_cells``, ``text_too_long``, or
        ``formula_without_value`` for formulas whose result was never saved (their cells would
        read as empty).
    """
    with zipfile.ZipFile(sub.path) as zf:
        listed = sub.book
        # The shared text table as parsed when the sheets were listed (the same file, the same
        # limits), instead of a second parse of up to 2 million texts.
        if isinstance(listed, OpenBook) and listed.cell_chars == lim.cell_chars:
            book = dataclasses.replace(listed, zf=zf)
        else:
            book = open_workbook(zf, lim)
        sheets = dict(book.book.sheets)
        if sub.layer is not None and sub.layer in sheets:
            part = sheets[sub.layer]
        elif sub.layer is None and book.book.sheets:
            part = book.book.sheets[0][1]
        else:
            raise InputError("format_not_recognised", format="Excel (.xlsx)")
        rows = read_rows(book, part, lim)
    if rows.unsaved:
        raise InputError("formula_without_value", cells=", ".join(rows.unsaved))
    if rows.header is None:
        return pd.DataFrame()
    frame = {
        name: np.array([_cell_text(v) for v in column], dtype=object)
        for name, column in zip(_sheet_header(rows.header), rows.columns or [], strict=True)
    }
    # Index = spreadsheet row - 2, as for a CSV read with its blank lines: findings name the row
    # the planner sees in Excel (layers._row_labels).
    return pd.DataFrame(frame, index=pd.Index([n - 2 for n in rows.numbers or []], dtype="int64"))


def _cell_text(value: object) -> object:
    """A cell as text the way pandas' Excel reader gives it (a whole float without ``.0``)."""
    if value is None:
        return np.nan
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
