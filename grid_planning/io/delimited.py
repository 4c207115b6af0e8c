"""CSV and TXT tables: lines counted by streaming before pandas reads them, the text encoding and the delimiter found."""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from grid_planning.io.limits import (
    MB,
    InputError,
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


#: Encodings a CSV may come in besides UTF-8 and UTF-16 (which carry a mark or decode as UTF-8):
#: GB18030 (a superset of GBK and GB2312, Chinese Excel's "CSV") and Big5-HKSCS (a superset of
#: Big5, from Taiwan and Hong Kong). Which one is decided by :func:`common_share`.
LEGACY_ENCODINGS = ("gb18030", "big5hkscs")


#: How the encodings are named to a planner (and accepted by ``--encoding``).
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "gb18030": "GB18030 (GBK)",
    "big5hkscs": "Big5-HKSCS (Big5)",
}


#: Bytes of a file looked at to choose between GB18030 and Big5.
SAMPLE_BYTES = 256 * 1024


@functools.lru_cache(maxsize=65536)
def _common(ch: str) -> bool:
    """Whether ``ch`` is a common Chinese character: GB2312 level 1 (the 3,755 most used
    simplified characters) or Big5 level 1 (the 5,401 most used traditional ones). Text decoded in
    the wrong one of the two encodings is mostly rare characters and kana."""
    if not "\u4e00" <= ch <= "\u9fff":
        return False
    with contextlib.suppress(UnicodeEncodeError):
        if 0xB0 <= ch.encode("gb2312")[0] <= 0xD7:
            return True
    with contextlib.suppress(UnicodeEncodeError):
        return 0xA4 <= ch.encode("big5")[0] <= 0xC6
    return False


def common_share(text: str) -> float:
    """The share of common Chinese characters among the non-ASCII ones (1.0 when none): text
    decoded in the wrong one of GB18030 and Big5 scores low."""
    wide = [ch for ch in text if ord(ch) > 127]
    return sum(map(_common, wide)) / len(wide) if wide else 1.0


def _decodes(path: Path, encoding: str, skip: int = 0) -> bool:
    """Whether the whole file decodes in ``encoding`` without a replacement (streamed)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as fh:
            fh.seek(skip)
            while chunk := fh.read(MB):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> tuple[str, bool, int]:
    """The encoding of a text file and whether it decodes only with replacements, streamed (the
    file is never held whole).

    A byte-order mark decides (UTF-8, UTF-16); else UTF-8 when the whole file decodes as UTF-8;
    else whichever of GB18030 and Big5-HKSCS decodes the whole file and gives more common Chinese
    characters in its first :data:`SAMPLE_BYTES` (GB18030 on a tie). A file no encoding decodes
    is read as GB18030 with replacements, and the second value says so. The third is how many
    bytes to skip (a UTF-8 mark before GBK text).
    """
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", not _decodes(path, "utf-16"), 0
    if head.startswith(codecs.BOM_UTF8):
        if _decodes(path, "utf-8", len(codecs.BOM_UTF8)):
            return "utf-8-sig", False, 0
        # A UTF-8 mark before GBK text: a GBK file edited by a tool that added the mark.
        candidates = [e for e in LEGACY_ENCODINGS if _decodes(path, e, len(codecs.BOM_UTF8))]
        head, skip = head[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
    elif _decodes(path, "utf-8"):
        return "utf-8", False, 0
    else:
        candidates, skip = [e for e in LEGACY_ENCODINGS if _decodes(path, e)], 0
    if not candidates:
        return "gb18030", True, skip
    scores = {e: common_share(head.decode(e, errors="ignore")) for e in candidates}
    return max(candidates, key=lambda e: (scores[e], e == "gb18030")), False, skip


@contextlib.contextmanager
def _text(path: Path, encoding: str, skip: int) -> Iterator[io.TextIOWrapper]:
    """The file as a stream of text from byte ``skip`` on, bad bytes replaced."""
    with path.open("rb") as raw:
        raw.seek(skip)
        with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as fh:
            yield fh


def _header_text(path: Path, encoding: str, skip: int, most: int) -> str:
    """The file's first line (at most ``most`` characters of it), decoded."""
    with _text(path, encoding, skip) as fh:
        text = fh.read(most)
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|", "，")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


_FIELD_LIMIT = threading.Lock()


class _Records:
    """The file's lines for the csv module, none built longer than ``most`` characters, and no
    record (the lines since :meth:`next_record`) longer either: a quoted field may run over many
    short lines, and a record of a hundred million empty fields weighs gigabytes as a row.

    ``header`` (set once the first record is read) names the column of a line too long.
    """

    def __init__(self, fh: io.TextIOWrapper, most: int, lim: Limits, sep: str):
        self.fh, self.most, self.lim, self.sep = fh, most, lim, sep
        self.number = 0  # lines read
        self.start = 1  # the current record's first line
        self.used = 0  # characters of the current record read so far
        self.header: list[str] | None = None

    def next_record(self) -> None:
        self.start, self.used = self.number + 1, 0

    def __iter__(self) -> Iterator[str]:
        while line := self.fh.readline(self.most + 1):
            self.number += 1
            self.used += len(line)
            if self.used > self.most:
                raise self.too_long(line if self.used == len(line) else None)
            yield line

    def column(self, index: int) -> str | None:
        """The header's name of column ``index`` (cut to 100 characters), if it has one."""
        if self.header is None or index >= len(self.header):
            return None
        return self.header[index][:100]

    def too_long(self, line: str | None, index: int | None = None) -> InputError:
        """The refusal of the current record, naming its first line and, when it can be told,
        the column: the field at ``index``, or the last field begun in ``line`` (a record that
        starts on that line and holds no more fields than the header)."""
        if index is None and line is not None:
            with contextlib.suppress(csv.Error, StopIteration):
                begun = next(csv.reader([line[: self.most]], delimiter=self.sep))
                index = len(begun) - 1
        return InputError(
            "text_too_long",
            column=None if index is None else self.column(index),
            cell=f"line {self.start:,}",
            limit=f"{self.lim.cell_chars:,}",
        )


def _check_fields(
    path: Path, encoding: str, skip: int, sep: str, lim: Limits, most_line: int
) -> tuple[int, int]:
    """Every field's length, streamed with the csv module, each record (one line, or several
    when a quoted field holds line breaks) read no longer than ``most_line`` characters (as many
    fields of the limit as the header has: a longer record holds a longer field, or more fields
    than the header), each field no longer than ``max_cell_chars``; the header's width and the
    number of records.

    Raises
    ------
    InputError
        ``text_too_long`` naming the line and column; ``too_many_rows``, ``too_many_columns``.
    """
    width = records = 0
    # The csv module's field limit is one for the process: set and restored under a lock.
    with _FIELD_LIMIT, _text(path, encoding, skip) as fh:
        saved = csv.field_size_limit(most_line + 1)
        try:
            lines = _Records(fh, most_line, lim, sep)
            reader = csv.reader(lines, delimiter=sep, skipinitialspace=True)
            try:
                for row in reader:
                    if row and max(map(len, row)) > lim.cell_chars:
                        long = next(i for i, v in enumerate(row) if len(v) > lim.cell_chars)
                        raise lines.too_long(None, long)
                    if records == 0:
                        width = len(row)
                        if width > lim.columns:
                            raise too_many_columns(lim)
                        lines.header = [v.strip() for v in row]
                    records += 1
                    if records > lim.rows + 1:
                        raise too_many_rows(lim)
                    lines.next_record()
            except csv.Error as exc:
                if "field larger than field limit" not in str(exc):
                    return width, records  # pandas names a malformed file better
                raise lines.too_long(None) from None
        finally:
            csv.field_size_limit(saved)
    return width, records


def encoding_name(name: str) -> str:
    """The codec of an encoding a planner names (``big5``, ``GBK``, ``utf-8`` ...), as Python
    knows it.

    Raises
    ------
    InputError
        ``encoding_unknown`` for a name no codec has.
    """
    try:
        return codecs.lookup(name.strip()).name
    except (LookupError, ValueError):
        raise InputError("encoding_unknown", encoding=name[:40]) from None


def read_csv(
    path: Path, lim: Limits, encoding: str | None = None
) -> tuple[pd.DataFrame, str, list[tuple[str, dict]]]:
    """A CSV/TXT/TSV table with every cell as text, within the limits, and notes for the report.

    Read as streams: lines counted, the encoding found (:func:`detect_encoding`), every field's
    length checked, then pandas reads the file in its encoding (never a copy of the whole text).

    Returns
    -------
    frame, encoding, notes
        ``notes`` name an encoding other than UTF-8 or GB18030 (``encoding_detected``) and
        replaced bytes (``text_replaced``).
    """
    lines = _count_lines(path)
    if lines > lim.rows + 1:
        raise too_many_rows(lim)
    notes: list[tuple[str, dict]] = []
    if encoding is not None:  # the planner's choice (--encoding): used, and said if it fails
        encoding, skip = encoding_name(encoding), 0
        with path.open("rb") as fh:
            if encoding in ("utf-8", "utf-8-sig") and fh.read(3) == codecs.BOM_UTF8:
                encoding = "utf-8-sig"
        replaced = not _decodes(path, encoding)
        shown = ENCODING_NAMES.get(encoding, encoding)
        notes.append(("text_replaced" if replaced else "encoding_chosen", {"encoding": shown}))
    else:
        encoding, replaced, skip = detect_encoding(path)
        shown = ENCODING_NAMES.get(encoding, encoding)
        if replaced:
            notes.append(("text_replaced", {"encoding": shown}))
        elif encoding not in ("utf-8", "utf-8-sig", "gb18030", "utf-16"):
            notes.append(("encoding_detected", {"encoding": shown}))
    header = _header_text(path, encoding, skip, lim.cell_chars * 4 + 4096)
    if not header.strip() and not _header_text(path, encoding, skip, 65536).strip():
        return pd.DataFrame(), encoding, notes
    sep = _sniff_delimiter(header)
    if header.count(sep) + 1 > lim.columns:  # before a row of them is built
        raise too_many_columns(lim)
    # The header's fields, quoting aside (an upper bound), each at most the cell limit long.
    most_line = (lim.cell_chars + 3) * (header.count(sep) + 1) + 2
    width, records = _check_fields(path, encoding, skip, sep, lim, most_line)
    if records == 0:
        return pd.DataFrame(), encoding, notes
    if max(lines, records) * max(width, 1) > lim.cells:
        raise too_many_cells(lim)
    with path.open("rb") as raw:
        raw.seek(skip)
        try:
            df = pd.read_csv(
                raw,
                sep=sep,
                dtype=str,
                encoding=encoding,
                encoding_errors="replace",
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
    return df, encoding, notes
