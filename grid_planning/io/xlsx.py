"""XLSX parts read as bounded streams of XML (expat over the zip member): the sheet list, the shared
text table, the styles that make a number a date, and a sheet's rows.

Nothing is ever held whole that a file could make large. Each part is fed to expat in chunks of
:data:`CHUNK` bytes; a cell's text is counted as it arrives and the read stops at the limit
(``max_cell_chars``) before the text is joined; a token that expat must buffer (a tag with a huge
attribute, a comment) stops the read at :data:`TOKEN_BYTES`; shared strings are counted as parsed
elements (``<si>``, ``<si/>``, ``<x:si >`` alike); the first data row past ``max_rows`` stops the
read. No DTD or entity is accepted (no entity expansion).
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO
from xml.parsers import expat

from grid_planning.io.limits import (
    MB,
    InputError,
    Limits,
    too_many_cells,
    too_many_columns,
    too_many_rows,
)

#: Bytes fed to expat at a time.
CHUNK = 64 * 1024


#: Most bytes expat may hold for one token (a start tag and its attributes, a comment): far above
#: any real tag, far below the memory to protect.
TOKEN_BYTES = 4 * MB


#: Shared strings allowed per allowed row (``max_rows``): 4 text cells of different text a row.
SHARED_STRINGS_PER_ROW = 4


#: Most megabytes an XLSX's parts other than its sheets may take unpacked: the shared text table
#: and the styles are held whole (bounded), while sheets are streamed.
MAX_PARTS_MB = 64


_OFFICE_RELS = "officeDocument"


class _Stop(Exception):  # noqa: N818 - not an error: the reader has what it wanted
    """Raised by a handler to end a parse early."""


def _local(name: str) -> str:
    """An element's or attribute's name without its prefix (``x:row`` -> ``row``)."""
    return name.rpartition(":")[2]


def _attr(attrs: dict[str, str], local: str) -> str | None:
    """The attribute named ``local`` in any namespace."""
    if local in attrs:
        return attrs[local]
    for key, value in attrs.items():
        if _local(key) == local:
            return value
    return None


def _no_dtd(*_args: object) -> None:
    raise InputError("file_damaged", format="Excel (.xlsx)", detail="DTD or entity declaration")


def parse_part(
    stream: IO[bytes],
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    chars: Callable[[str], None] | None = None,
    long_text: Callable[[], bool] | None = None,
) -> None:
    """Feed an XML part to expat in chunks, calling ``start(local name, attrs)``, ``end(local
    name)`` and ``chars(text)``; a handler may raise :class:`_Stop` to end the read.

    Names are compared without their prefix (``x:row`` is ``row``). No token may make expat hold
    more than :data:`TOKEN_BYTES`: outside comments, CDATA and processing instructions no text,
    tag or attribute value holds a ``<``, so the bytes between two ``<`` (counted across chunks,
    at C speed) bound them all; once a part shows ``<!`` or a ``<?`` past its declaration, the
    parser's position is followed at every event instead (slower, and only then).

    ``long_text()`` true says the parser is inside an element whose text may run past that bound
    (expat hands text on in pieces of :data:`CHUNK`, so it is never held whole): the bytes since
    the last ``<`` are that text, not a token, and are not counted (a KML geometry's coordinates).

    Raises
    ------
    InputError
        ``file_damaged`` for a DTD, an entity, malformed XML or a token over :data:`TOKEN_BYTES`.
    """
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    seen = [0]
    careful = [False]

    def local_start(name: str, attrs: dict[str, str]) -> None:
        start(_local(name), attrs)

    def local_end(name: str) -> None:
        end(_local(name))

    def first(name: str, attrs: dict[str, str]) -> None:
        # The root's spelling decides: Excel writes no prefix, and then the handlers are called
        # with the names as they are (no call per element to strip a prefix).
        prefixed = ":" in name
        parser.StartElementHandler = local_start if prefixed else start
        parser.EndElementHandler = local_end if prefixed else end
        parser.StartElementHandler(name, attrs)

    def followed(handler: Callable[..., None] | None) -> Callable[..., None]:
        def call(*args: object) -> None:
            seen[0] = parser.CurrentByteIndex
            if handler is not None:
                handler(*args)

        return call

    def follow() -> None:
        careful[0] = True
        parser.StartElementHandler = followed(local_start)
        parser.EndElementHandler = followed(local_end)
        parser.CharacterDataHandler = followed(chars)
        parser.CommentHandler = followed(None)
        parser.ProcessingInstructionHandler = followed(None)

    parser.StartElementHandler = first
    parser.EndElementHandler = end
    if chars is not None:
        parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    fed = gap = 0
    last = b""
    too_long = InputError(
        "file_damaged", format="Excel (.xlsx)", detail=f"an XML token over {TOKEN_BYTES // MB} MB"
    )
    try:
        while chunk := stream.read(CHUNK):
            if long_text is not None and long_text():
                gap = 0
                seen[0] = fed
            if not careful[0]:
                joined = last + chunk
                declaration = 5 if fed == 0 and chunk.startswith(b"<?xml") else 0
                if b"<!" in joined or b"<?" in joined[declaration:]:
                    seen[0] = fed
                    follow()
                else:
                    at = chunk.find(b"<")
                    if at < 0:
                        gap += len(chunk)
                    else:
                        if gap + at > TOKEN_BYTES:
                            raise too_long
                        gap = len(chunk) - chunk.rfind(b"<") - 1
                    if gap > TOKEN_BYTES:
                        raise too_long
                last = chunk[-1:]
            parser.Parse(chunk, False)
            fed += len(chunk)
            if careful[0] and fed - seen[0] > TOKEN_BYTES:
                raise too_long
        parser.Parse(b"", True)
    except _Stop:
        return
    except expat.ExpatError as exc:
        raise InputError(
            "file_damaged", format="Excel (.xlsx)", detail=f"XML: {exc}"[:160]
        ) from None


# =============================================================================================
# The workbook: sheets, shared strings, styles
# =============================================================================================
@dataclass(frozen=True)
class Workbook:
    """What reading a sheet needs from the rest of the workbook.

    Attributes
    ----------
    sheets : tuple of (str, str)
        ``(title, part name)`` of each worksheet, in the workbook's order (chart sheets left out).
    strings_part : str or None
        The shared text table's part name.
    styles_part : str or None
        The styles part's name.
    epoch_1904 : bool
        Whether date serials count from 1904 (old Mac workbooks).
    """

    sheets: tuple[tuple[str, str], ...]
    strings_part: str | None
    styles_part: str | None
    epoch_1904: bool


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """``{id: (type's last word, target part)}`` of a part's relationships."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", name + ".rels")
    out: dict[str, tuple[str, str]] = {}
    try:
        stream = zf.open(rels_name)
    except KeyError:
        return out

    def start(local: str, attrs: dict[str, str]) -> None:
        if local == "Relationship":
            target = attrs.get("Target", "")
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            out[attrs.get("Id", "")] = (attrs.get("Type", "").rsplit("/", 1)[-1], target)

    with stream:
        parse_part(stream, start, lambda _local: None)
    return out


def _member(zf: zipfile.ZipFile, name: str) -> str | None:
    """The zip member named ``name`` (case-insensitively, as Excel finds it), or None."""
    names = {n.lower(): n for n in zf.namelist()}
    return names.get(name.lower())


def read_workbook(zf: zipfile.ZipFile) -> Workbook:
    """The sheets and the parts a sheet's cells refer to, from the workbook part and its links."""
    root = _rels(zf, "")
    book_part = next((t for kind, t in root.values() if kind == _OFFICE_RELS), "xl/workbook.xml")
    book_part = _member(zf, book_part) or _member(zf, "xl/workbook.xml")
    if book_part is None:
        raise InputError("format_not_recognised", format="Excel (.xlsx)")
    links = _rels(zf, book_part)
    titles: list[tuple[str, str]] = []
    epoch = [False]

    def start(local: str, attrs: dict[str, str]) -> None:
        if local == "sheet":
            titles.append((attrs.get("name", ""), _attr(attrs, "id") or ""))
        elif local == "workbookPr":
            epoch[0] = attrs.get("date1904", "0").lower() in ("1", "true")

    with zf.open(book_part) as stream:
        parse_part(stream, start, lambda _local: None)
    sheets = []
    for title, rid in titles:
        kind, target = links.get(rid, ("", ""))
        found = _member(zf, target) if kind == "worksheet" else None
        if found is not None:
            sheets.append((title, found))

    def linked(kind: str, default: str) -> str | None:
        target = next((t for k, t in links.values() if k == kind), default)
        return _member(zf, target) or _member(zf, default)

    return Workbook(
        tuple(sheets),
        linked("sharedStrings", "xl/sharedStrings.xml"),
        linked("styles", "xl/styles.xml"),
        epoch[0],
    )


def text_too_long(lim: Limits, where: str) -> InputError:
    return InputError("text_too_long", cell=where, limit=f"{lim.cell_chars:,}")


def shared_strings(zf: zipfile.ZipFile, book: Workbook, lim: Limits) -> list[str]:
    """The shared text table, each ``<si>`` element counted as parsed (any spelling) and each text
    bounded while it arrives.

    Raises
    ------
    InputError
        ``workbook_text_too_large`` past ``max_rows`` x :data:`SHARED_STRINGS_PER_ROW` strings;
        ``text_too_long`` for a text over ``max_cell_chars``.
    """
    if book.strings_part is None:
        return []
    most = lim.rows * SHARED_STRINGS_PER_ROW
    out: list[str] = []
    state = {"depth": 0, "si": False, "t": False, "rph": 0, "length": 0}
    parts: list[str] = []

    def start(local: str, attrs: dict[str, str]) -> None:
        state["depth"] += 1
        if state["depth"] == 2 and local == "si":
            if len(out) >= most:
                raise InputError(
                    "workbook_text_too_large", limit=f"{most:,}", limit_mb=MAX_PARTS_MB
                )
            state["si"], state["length"] = True, 0
            parts.clear()
        elif state["si"]:
            if local == "rPh":
                state["rph"] += 1
            elif local == "t" and not state["rph"]:
                state["t"] = True

    def end(local: str) -> None:
        if state["si"]:
            if local == "t":
                state["t"] = False
            elif local == "rPh":
                state["rph"] -= 1
            elif state["depth"] == 2 and local == "si":
                out.append("".join(parts).replace("x005F_", ""))
                state["si"] = False
        state["depth"] -= 1

    def chars(text: str) -> None:
        if state["t"]:
            state["length"] += len(text)
            if state["length"] > lim.cell_chars:
                raise text_too_long(lim, f"shared text {len(out) + 1:,}")
            parts.append(text)

    if _tags_at_least(zf, book.strings_part, _SI_TAG, most + 1):
        raise InputError("workbook_text_too_large", limit=f"{most:,}", limit_mb=MAX_PARTS_MB)
    with zf.open(book.strings_part) as stream:
        parse_part(stream, start, end, chars)
    return out


#: A start tag of an element named ``si`` in any spelling: any prefix, then white space, ``/`` or
#: ``>`` (``<si>``, ``<si/>``, ``<si\t>``, ``<x:si\n>``). It may also match inside a comment: an
#: upper bound, so it only refuses early what the parse would refuse later.
_SI_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")


def _tags_at_least(zf: zipfile.ZipFile, part: str, tag: re.Pattern, most: int) -> bool:
    """Whether a part holds at least ``most`` matches of ``tag`` (scanned at C speed, in
    megabyte chunks; a tag cut between two chunks is found in the carried tail)."""
    count = 0
    tail = b""
    with zf.open(part) as stream:
        while chunk := stream.read(MB):
            text = tail + chunk
            cut = max(0, len(text) - 64)
            count += len(tag.findall(text, 0, cut))
            if count >= most:
                return True
            tail = text[cut:]
    return count + len(tag.findall(tail)) >= most


def date_styles(zf: zipfile.ZipFile, book: Workbook) -> tuple[frozenset[int], frozenset[int]]:
    """The cell style numbers whose number format is a date, and those that are a duration, as
    openpyxl decides (its own format tests)."""
    if book.styles_part is None:
        return frozenset(), frozenset()
    # why: openpyxl (~0.4 s) loads only for a workbook that has styles, not with every city
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    custom: dict[int, str] = {}
    xfs: list[int] = []
    where = {"cellXfs": False}

    def start(local: str, attrs: dict[str, str]) -> None:
        if local == "numFmt":
            with contextlib.suppress(ValueError):
                custom[int(attrs.get("numFmtId", "-1"))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            where["cellXfs"] = True
        elif local == "xf" and where["cellXfs"]:
            try:
                xfs.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                xfs.append(0)

    def end(local: str) -> None:
        if local == "cellXfs":
            where["cellXfs"] = False

    with zf.open(book.styles_part) as stream:
        parse_part(stream, start, end)
    dates, spans = set(), set()
    for style, fmt_id in enumerate(xfs):
        fmt = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, "General"))
        if is_date_format(fmt):
            dates.add(style)
        if is_timedelta_format(fmt):
            spans.add(style)
    return frozenset(dates), frozenset(spans)


# =============================================================================================
# A sheet's rows
# =============================================================================================
def column_index(ref: str) -> int:
    """The 0-based column of a cell reference (``"C7"`` -> 2); -1 when it has no letters."""
    col = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            col = col * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            col = col * 26 + ord(ch) - 96
        else:
            break
        if col > 1_000_000:
            break
    return col - 1


def column_letters(index: int) -> str:
    """``2`` -> ``"C"``."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


@dataclass
class SheetRows:
    """The rows a sheet read gave: the header, the data rows column by column, and the formula
    cells that have no saved result.

    Attributes
    ----------
    header : tuple or None
        The first non-blank row's values, cut to its last filled cell; None for an empty sheet.
    header_row : int
        Its spreadsheet row number.
    numbers : list of int
        Each data row's spreadsheet row number.
    columns : list of list
        Each column's values, one per data row (None for an empty cell).
    unsaved : list of str
        Up to five cells (``"B2"``) holding a formula with no saved result.
    """

    header: tuple | None = None
    header_row: int = 0
    numbers: list[int] | None = None
    columns: list[list[object]] | None = None
    unsaved: list[str] | None = None


def _filled(value: object) -> bool:
    return value is not None and bool(str(value).strip())


class _SheetParser:
    """expat handlers for one worksheet part (see :func:`read_rows`)."""

    def __init__(self, strings, dates, spans, epoch_1904, lim: Limits, most_rows: int | None):
        self.strings = strings
        self.dates, self.spans = dates, spans
        self.epoch_1904 = epoch_1904
        self.lim = lim
        self.most_rows = most_rows
        self.out = SheetRows(numbers=[], columns=[], unsaved=[])
        self.row_number = 0
        self.row: dict[int, object] = {}
        self.width = lim.columns + 1  # columns looked at until the header is found
        self.in_data = False
        self.col = -1
        self.cell_ref = ""
        self.cell_type = "n"
        self.cell_style = 0
        self.formula = False
        self.value: str | None = None
        self.text: list[str] = []
        self.length = 0
        self.collect = False  # inside <v> or an inline <t> of a cell that is read
        self.wanted = False
        self.rph = 0
        self.in_is = False

    # -- expat handlers --------------------------------------------------------------------
    def start(self, local: str, attrs: dict[str, str]) -> None:
        if local == "c":
            ref = attrs.get("r")
            col = column_index(ref) if ref else -1
            self.col = col if col >= 0 else self.col + 1
            self.cell_ref = ref or f"{column_letters(self.col)}{self.row_number}"
            self.cell_type = attrs.get("t", "n")
            try:
                self.cell_style = int(attrs.get("s", "0"))
            except ValueError:
                self.cell_style = 0
            self.formula, self.value, self.in_is = False, None, False
            self.wanted = self.col < self.width
            self.text, self.length = [], 0
        elif local == "row":
            r = attrs.get("r")
            try:
                self.row_number = int(r) if r else self.row_number + 1
            except ValueError:
                self.row_number += 1
            self.row = {}
            self.col = -1
        elif local == "v":
            self.collect = self.wanted
            self.text, self.length = [], 0
        elif local == "f":
            self.formula = True
        elif local == "is":
            self.in_is = True
        elif local == "rPh":
            self.rph += 1
        elif local == "t" and self.in_is and not self.rph:
            self.collect = self.wanted

    def chars(self, text: str) -> None:
        if self.collect:
            self.length += len(text)
            if self.length > self.lim.cell_chars:
                raise text_too_long(self.lim, self.cell_ref)
            self.text.append(text)

    def end(self, local: str) -> None:
        if local == "v":
            self.value = "".join(self.text)
            self.collect = False
        elif local == "t" and self.in_is:
            self.collect = False
        elif local == "rPh":
            self.rph -= 1
        elif local == "c":
            if self.wanted:
                self._cell()
        elif local == "row":
            self._row()

    # -- cells and rows --------------------------------------------------------------------
    def _cell(self) -> None:
        kind = self.cell_type
        if kind == "inlineStr":
            value: object = "".join(self.text) if self.in_is else None
        else:
            raw = self.value or None
            value = None if raw is None else self._typed(raw, kind)
        if value is not None:
            self.row[self.col] = value
        elif (
            self.formula and len(self.out.unsaved) < 5 and (self.in_data or self.out.header is None)
        ):
            self.out.unsaved.append(self.cell_ref)

    def _typed(self, raw: str, kind: str) -> object:
        if kind == "s":
            try:
                return self.strings[int(raw)]
            except (ValueError, IndexError):
                raise InputError(
                    "file_damaged",
                    format="Excel (.xlsx)",
                    detail=f"cell {self.cell_ref}: no shared text {raw[:20]}",
                ) from None
        if kind == "b":
            return raw.strip() not in ("0", "")
        if kind in ("str", "e", "d"):
            return raw
        try:
            number: float | int = (
                float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
            )
        except ValueError:
            return raw
        if self.cell_style in self.dates:
            # why: openpyxl loads only when a workbook holds a date cell
            from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

            epoch = CALENDAR_MAC_1904 if self.epoch_1904 else CALENDAR_WINDOWS_1900
            try:
                return from_excel(number, epoch, timedelta=self.cell_style in self.spans)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number

    def _row(self) -> None:
        row = self.row
        out = self.out
        if not any(_filled(v) for v in row.values()):
            return
        if out.header is None:
            width = max(c for c, v in row.items() if _filled(v)) + 1
            if width > self.lim.columns:
                raise too_many_columns(self.lim)
            self.width = width
            out.header = tuple(row.get(c) for c in range(width))
            out.header_row = self.row_number
            out.columns = [[] for _ in range(width)]
            self.in_data = True
            if self.most_rows == 0:
                raise _Stop
            return
        if len(out.numbers) >= self.lim.rows:
            raise too_many_rows(self.lim)
        if (len(out.numbers) + 2) * self.width > self.lim.cells:
            raise too_many_cells(self.lim)
        out.numbers.append(self.row_number)
        for c, column in enumerate(out.columns):
            column.append(row.get(c))
        if self.most_rows is not None and len(out.numbers) >= self.most_rows:
            raise _Stop


@dataclass(frozen=True)
class OpenBook:
    """A workbook opened for reading: its zip, parts and shared strings."""

    zf: zipfile.ZipFile
    book: Workbook
    strings: list[str]
    dates: frozenset[int]
    spans: frozenset[int]
    cell_chars: int


def open_workbook(zf: zipfile.ZipFile, lim: Limits) -> OpenBook:
    """The workbook's parts a sheet needs, each read as a bounded stream."""
    book = read_workbook(zf)
    strings = shared_strings(zf, book, lim)
    dates, spans = date_styles(zf, book)
    return OpenBook(zf, book, strings, dates, spans, lim.cell_chars)


def read_rows(wb: OpenBook, part: str, lim: Limits, most_rows: int | None = None) -> SheetRows:
    """A sheet's header and data rows, streamed.

    Parameters
    ----------
    most_rows : int, optional
        Stop after this many data rows (0: the header only), e.g. to list sheets.

    Raises
    ------
    InputError
        ``too_many_rows`` at the first data row past ``max_rows``, ``too_many_columns``,
        ``too_many_cells``, ``text_too_long`` or ``file_damaged``.
    """
    parser = _SheetParser(wb.strings, wb.dates, wb.spans, wb.book.epoch_1904, lim, most_rows)
    with wb.zf.open(part) as stream:
        parse_part(stream, parser.start, parser.end, parser.chars)
    return parser.out
