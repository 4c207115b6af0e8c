"""CSV and TXT tables: lines counted by streaming before pandas reads them, the text encoding and the delimiter found.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from pathlib import Path

import pandas as pd

from grid_planning.io.limits import (
    MB,
    Limits,
    too_many_cells,
    too_many_columns,
    too_many_rows,
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


def read_csv(path: Path, lim: Limits) -> tuple[pd.DataFrame, str]:
    lines = _count_lines(path)
    if lines > lim.rows + 1:
        raise too_many_rows(lim)
    text, encoding = _decode(path.read_bytes())
    if not text.strip():
        return pd.DataFrame(), encoding
    sep = _sniff_delimiter(text)
    # The header's fields (quoting aside: an upper bound), before pandas makes a column of each.
    width = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0].count(sep) + 1
    if width > lim.columns:
        raise too_many_columns(lim)
    if lines * width > lim.cells:
        raise too_many_cells(lim)
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
        raise too_many_rows(lim)
    return df, encoding
