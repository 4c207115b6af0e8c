"""XLSX workbooks, streamed: parts and shared strings checked from the zip before openpyxl loads them, rows read no wider than their header, formulas without saved results refused naming their cells.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from grid_planning.io.limits import (
    MB,
    InputError,
    Limits,
    SubLayer,
    limits,
    too_many_cells,
    too_many_columns,
    too_many_rows,
)

#: Most megabytes an XLSX's parts other than its sheets may take unpacked: a reader holds them
#: whole (the shared text table, styles, the workbook), while sheets are streamed.
MAX_WORKBOOK_PARTS_MB = 64


#: Shared strings allowed per allowed row (``max_rows``): 4 text cells of different text a row.
SHARED_STRINGS_PER_ROW = 4


def check_workbook_parts(path: Path, lim: Limits) -> None:
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


def sheet_sublayers(path: Path) -> list[SubLayer]:
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
        raise too_many_columns(lim)
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


def read_sheet(sub: SubLayer, lim: Limits) -> pd.DataFrame:
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
                raise too_many_rows(lim)
            if (len(numbers) + 2) * width > lim.cells:
                raise too_many_cells(lim)
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
