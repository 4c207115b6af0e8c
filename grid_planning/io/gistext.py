"""Long texts in GIS files found before GDAL reads them (issue 18): a Shapefile's .dbf from its
header's field widths and then only its wide fields, a GeoJSON file streamed for its strings, a
KML file streamed through expat for its texts (coordinates aside), a FlatGeobuf file's features
from their sizes and their properties' lengths (geometry never read).

GDAL builds every attribute value whole as it reads a layer, so a GeoJSON file of 400 MB holding
one string of 400 MB takes gigabytes before :func:`grid_planning.io.gis.check_text_lengths` can
refuse it. Here the file is read in chunks of :data:`CHUNK` bytes and a string is refused as soon
as it passes ``max_cell_chars`` characters, with nothing of it kept; the same limit and finding
(``text_too_long``) as every other reader. A .dbf's values are fixed-width: a field no wider (in
bytes) than the limit cannot hold a longer text, so only a file with a wider field is streamed,
record by record. What cannot be told exactly before reading (a GeoJSON in another encoding than
UTF-8) is checked again after reading by the rule every reader shares.

GDAL reads a .dbf text field at most 255 bytes wide (the width byte of its descriptor), so with
the default ``max_cell_chars`` (10,000) no .dbf can hold a longer text and nothing past its header
is read; the records are streamed only when the setting is below a field's width.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from grid_planning.io.limits import InputError
from grid_planning.io.xlsx import parse_part

#: Bytes read at a time (memory of one chunk, whatever a file holds).
CHUNK = 1 << 20

#: Every byte that is not a UTF-8 continuation byte (0x80-0xBF): deleting them from a piece of
#: text leaves its continuation bytes, so characters = bytes - continuation bytes.
_NOT_CONTINUATION = bytes(b for b in range(256) if not 0x80 <= b <= 0xBF)
#: Inside a JSON string: its end or an escape.
_IN_STRING = re.compile(rb'["\\]')


def _refuse(where: str, column: str, limit: int) -> InputError:
    return InputError("text_too_long", column=column[:100], cell=f"{where} {column[:100]}".strip(),
                      limit=f"{limit:,}")


#: The property name just before a string's opening quote: ``"name": `` (JSON escapes allowed).
_KEY_BEFORE = re.compile(rb'"((?:[^"\\]|\\.){1,400})"\s*:\s*$')
#: Bytes read back from a long string for its property name.
_LOOKBACK = 2048


def _where_in_geojson(path: Path, start: int) -> tuple[str, str]:
    """``("#feature", property)`` of the string starting at byte ``start``, for the message.

    Only on the way to a refusal: the features before ``start`` are counted by their
    ``"Feature"`` type strings (a chunk at a time, never kept) and the property name read from the
    bytes just before the string; either falls back to the byte offset when it cannot be told.
    """
    features = 0
    tail = b""
    with path.open("rb") as fh:
        left = start
        while left > 0 and (chunk := fh.read(min(CHUNK, left))):
            left -= len(chunk)
            joined = tail + chunk
            features += joined.count(b'"Feature"') - tail.count(b'"Feature"')
            tail = joined[-16:]
        fh.seek(max(start - _LOOKBACK, 0))
        before = fh.read(min(start, _LOOKBACK))
    key = _KEY_BEFORE.search(before)
    # A long property name has no name before it: the feature alone is named.
    column = key.group(1).decode("utf-8", "replace") if key is not None else ""
    where = f"#{features}" if features else f"byte {start:,}"
    return where, column


def _chars(piece: bytes, utf8: bool) -> int:
    """Characters in ``piece`` (UTF-8: exact; another encoding: a lower bound, 4 bytes a character)."""
    if utf8:
        return len(piece) - len(piece.translate(None, _NOT_CONTINUATION))
    return len(piece) // 4


def check_geojson_text(path: Path, limit: int, encoding: str | None = None) -> None:
    """Refuse a GeoJSON file with a string (a property's value or name) longer than ``limit``
    characters, streamed in chunks before GDAL reads it.

    Characters are counted as JSON gives them (an escape such as ``\\u957f`` is one); in a file
    declared in another encoding than UTF-8 a lower bound is counted (GDAL's read is checked again).

    Raises
    ------
    InputError
        ``text_too_long`` naming the feature (its number) and the property, or the byte offset
        where the string starts when they cannot be told.
    """
    utf8 = (encoding or "utf-8").lower().replace("_", "-") in ("utf-8", "utf8")
    in_string = False
    escaped = False  # the chunk ended inside an escape: the next byte(s) belong to it
    skip_hex = 0  # hex digits of a \\u escape still to skip
    count = 0
    start = 0
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            pos = 0
            end = len(chunk)
            last_escape = chunk.rfind(b"\\")
            while pos < end:
                if not (in_string or escaped or skip_hex) and pos > last_escape:
                    # No escape in the rest of the chunk (GDAL and QGIS write UTF-8 as is): its
                    # quotes pair up, so every string is measured at once and only one longer in
                    # bytes is counted. Taken again once a string begun in the chunk before ends,
                    # so that such a string does not make the whole chunk go the slow way below.
                    quotes = np.flatnonzero(np.frombuffer(chunk, np.uint8, offset=pos) == 0x22) + pos
                    opens, closes = quotes[0::2], quotes[1::2]
                    paired = opens[: len(closes)]
                    long = closes - paired > limit + 1
                    for a, b in zip(paired[long], closes[long], strict=True):
                        if _chars(chunk[a + 1 : b], utf8) > limit:
                            raise _refuse(*_where_in_geojson(path, offset + int(a)), limit)
                    if len(opens) == len(closes):
                        break
                    pos = int(opens[-1])  # a string goes on into the next chunk: read it as below
                if not in_string:
                    found = chunk.find(b'"', pos)
                    if found < 0:
                        break
                    in_string, count, start, pos = True, 0, offset + found, found + 1
                    continue
                if skip_hex:
                    step = min(skip_hex, end - pos)
                    skip_hex -= step
                    pos += step
                    continue
                if escaped:
                    escaped = False
                    count += 1
                    if chunk[pos : pos + 1] == b"u":
                        skip_hex = 4
                    pos += 1
                    continue
                match = _IN_STRING.search(chunk, pos)
                stop = match.start() if match else end
                count += _chars(chunk[pos:stop], utf8)
                if count > limit:
                    raise _refuse(*_where_in_geojson(path, start), limit)
                if match is None:
                    break
                if match.group() == b'"':
                    in_string = False
                else:
                    escaped = True
                pos = stop + 1
            offset += end


def _dbf_layout(head: bytes) -> tuple[int, int, int, list[tuple[str, int, int]]]:
    """(records, header bytes, record bytes, [(field name, offset in the record, width)])."""
    records, header_len, record_len = struct.unpack("<IHH", head[4:12])
    fields = []
    at = 1  # the deletion flag
    pos = 32
    while pos + 32 <= min(header_len, len(head)) and head[pos] != 0x0D:
        desc = head[pos : pos + 32]
        # As GDAL's shapelib reads it: one byte (it does not take the decimals byte as a high
        # byte of a text field's width, an extension some writers use), so at most 255 bytes.
        width = desc[16]
        fields.append((desc[:11].split(b"\0", 1)[0].decode("latin-1"), at, width))
        at += width
        pos += 32
    return records, header_len, record_len, fields


def _dbf_chars(raw: bytes, codec: str) -> int:
    """Characters of a .dbf value; a lower bound (4 bytes a character) when it does not decode
    in ``codec`` (GDAL's own reading is checked again after it)."""
    try:
        return len(raw.decode(codec))
    except (UnicodeDecodeError, LookupError):
        return len(raw) // 4


def check_dbf_text(dbf: Path, limit: int, encoding: str | None = None) -> None:
    """Refuse a .dbf with a value longer than ``limit`` characters before GDAL reads it.

    Its header gives each field's width in bytes (at most 255, as GDAL reads it); a field no wider
    than ``limit`` bytes holds no longer text, so a file without wider fields is not read further. Otherwise the records are
    read :data:`CHUNK` bytes at a time and only the wide fields' values decoded.

    Raises
    ------
    InputError
        ``text_too_long`` naming the record (feature number) and the field.
    """
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return
        header_len = struct.unpack("<H", head[8:10])[0]
        head += fh.read(max(header_len - 32, 0))
        records, header_len, record_len, fields = _dbf_layout(head)
        wide = [f for f in fields if f[2] > limit]
        if not wide or record_len <= 0:
            return
        codec = encoding or "utf-8"
        fh.seek(header_len)
        per_chunk = max(CHUNK // record_len, 1)
        number = 0
        while number < records and (block := fh.read(per_chunk * record_len)):
            for i in range(len(block) // record_len):
                record = block[i * record_len : (i + 1) * record_len]
                number += 1
                for name, at, width in wide:
                    raw = record[at : at + width].rstrip(b" \0")
                    if len(raw) > limit and _dbf_chars(raw, codec) > limit:
                        raise _refuse(f"#{number}", name, limit)


#: KML elements whose text is geometry, not an attribute (a polygon's coordinates run long).
KML_GEOMETRY_TEXT = frozenset({"coordinates", "coord"})


def check_kml_text(path: Path, limit: int) -> None:
    """Refuse a KML file with an element's text or an attribute longer than ``limit`` characters
    (coordinates aside), streamed through expat before GDAL reads it: text is counted as it
    arrives, never joined; no tag may hold more than :data:`grid_planning.io.xlsx.TOKEN_BYTES`
    (a geometry's coordinates may: they are text, handed on in pieces).

    Raises
    ------
    InputError
        ``text_too_long`` naming the placemark (its number) and the element; ``file_damaged`` for
        malformed XML, a DTD or an entity.
    """
    state = {"placemark": 0, "element": "", "count": 0, "geometry": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "Placemark":
            state["placemark"] += 1
        state["element"], state["count"] = name, 0
        state["geometry"] = name in KML_GEOMETRY_TEXT
        for key, value in attrs.items():
            if len(value) > limit:
                raise _refuse(f"#{state['placemark']}", f"{name}@{key.rpartition(':')[2]}", limit)

    def end(_name: str) -> None:
        state["count"] = 0
        state["geometry"] = False

    def chars(text: str) -> None:
        if state["geometry"]:
            return
        state["count"] += len(text)
        if state["count"] > limit:
            raise _refuse(f"#{state['placemark']}", str(state["element"]), limit)

    with path.open("rb") as fh:
        try:
            # A long road's or boundary's coordinates are text expat hands on in pieces: bounded
            # by max_vertices when GDAL reads the layer, not by the token bound.
            parse_part(fh, start, end, chars, long_text=lambda: bool(state["geometry"]))
        except InputError as exc:
            if exc.code != "file_damaged":
                raise
            raise InputError("file_damaged", format="KML", detail=str(exc.params.get("detail", ""))) from None


#: FlatGeobuf's magic bytes (the fourth is the major version, the eighth the patch level).
FGB_MAGIC = b"fgb\x03"
#: Bytes of one node of a FlatGeobuf packed R-tree (four doubles and an offset).
_FGB_NODE = 40
#: Bytes of each fixed-size FlatGeobuf column type, by its number in the format's ColumnType;
#: String (11), Json (12), DateTime (13) and Binary (14) are a uint32 length and the bytes.
_FGB_FIXED = {0: 1, 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 8, 8: 8, 9: 4, 10: 8}
_FGB_TEXT = frozenset({11, 12, 13})
#: Bytes read from a feature's start for its table (flatbuffers write the root table first).
_FGB_HEAD = 512


class _Flat:
    """Reading flatbuffer tables in one buffer (only what the FlatGeobuf check needs)."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf

    def u16(self, at: int) -> int:
        return struct.unpack_from("<H", self.buf, at)[0]

    def u32(self, at: int) -> int:
        return struct.unpack_from("<I", self.buf, at)[0]

    def field(self, table: int, number: int) -> int | None:
        """Where field ``number`` of the table at ``table`` is, or None when absent."""
        vtable = table - struct.unpack_from("<i", self.buf, table)[0]
        slot = 4 + 2 * number
        if slot + 2 > self.u16(vtable):
            return None
        offset = self.u16(vtable + slot)
        return table + offset if offset else None

    def ref(self, table: int, number: int) -> int | None:
        """Where the string, vector or table that field ``number`` points to starts."""
        at = self.field(table, number)
        return None if at is None else at + self.u32(at)


def _fgb_columns(header: bytes) -> list[tuple[str, int]]:
    """``[(name, type)]`` of a FlatGeobuf header's columns (names cut to 100 characters)."""
    flat = _Flat(header)
    root = flat.u32(0)
    vec = flat.ref(root, 7)
    out = []
    for i in range(flat.u32(vec) if vec is not None else 0):
        at = vec + 4 + 4 * i
        col = at + flat.u32(at)
        name_at = flat.ref(col, 0)
        name = "" if name_at is None else header[name_at + 4 : name_at + 4 + min(flat.u32(name_at), 400)]
        type_at = flat.field(col, 1)
        out.append((bytes(name).decode("utf-8", "replace")[:100], header[type_at] if type_at is not None else 0))
    return out


def _fgb_header(fh: BinaryIO) -> tuple[bytes, int]:
    """The header's bytes and the number of bytes to skip after it (the spatial index)."""
    size = struct.unpack("<I", fh.read(4))[0]
    if size > 64 * CHUNK:  # a header of its columns' names and metadata; never this large
        raise InputError("file_damaged", format="FlatGeobuf", detail="header too large")
    header = fh.read(size)
    flat = _Flat(header)
    root = flat.u32(0)
    count_at, node_at = flat.field(root, 8), flat.field(root, 9)
    count = struct.unpack_from("<Q", header, count_at)[0] if count_at is not None else 0
    node_size = flat.u16(node_at) if node_at is not None else 16
    index = 0
    if node_size and count:
        node_size = min(max(node_size, 2), 65535)
        n = nodes = count
        while n != 1:
            n = -(-n // node_size)
            nodes += n
        index = nodes * _FGB_NODE
    return header, index


def check_fgb_text(path: Path, limit: int) -> None:
    """Refuse a FlatGeobuf file with a text value longer than ``limit`` characters before GDAL
    reads it (GDAL builds every value of a feature whole).

    Each feature's size comes first: one no longer than ``limit`` bytes holds no longer text, and
    of a longer one only its table and its properties are read (never its geometry), each text's
    length before its bytes; only a text longer than ``limit`` bytes but at most four times that is
    read, to count its characters.

    Raises
    ------
    InputError
        ``text_too_long`` naming the feature (its number) and the column; ``file_damaged`` for a
        file whose structure cannot be followed.
    """
    with path.open("rb") as fh:
        if fh.read(4) != FGB_MAGIC:
            return  # not a version-3 FlatGeobuf: GDAL's reading, checked after it, decides
        fh.seek(8)
        try:
            header, index = _fgb_header(fh)
            columns = _fgb_columns(header)
            fh.seek(index, 1)
            number = 0
            while len(size_bytes := fh.read(4)) == 4:
                size = struct.unpack("<I", size_bytes)[0]
                start = fh.tell()
                number += 1
                if size > limit:
                    _fgb_feature(fh, start, size, number, columns, limit)
                fh.seek(start + size)
        except (struct.error, IndexError, TypeError) as exc:
            raise InputError("file_damaged", format="FlatGeobuf", detail=type(exc).__name__) from None


def _fgb_feature(fh: BinaryIO, start: int, size: int, number: int,
                 columns: list[tuple[str, int]], limit: int) -> None:
    """Check one feature's properties, read from the file a value at a time."""
    root = struct.unpack("<I", fh.read(4))[0]
    fh.seek(start)
    head = fh.read(min(size, root + _FGB_HEAD))  # the table and its vtable, not the geometry
    flat = _Flat(head)
    props = flat.ref(flat.u32(0), 1)
    if props is None:
        return
    fh.seek(start + props)
    length = struct.unpack("<I", fh.read(4))[0]
    if length <= limit:
        return
    end = fh.tell() + length
    while fh.tell() + 2 <= end:
        col = struct.unpack("<H", fh.read(2))[0]
        name, kind = columns[col] if col < len(columns) else (f"#{col}", 11)
        if kind in _FGB_FIXED:
            fh.seek(_FGB_FIXED[kind], 1)
            continue
        n = struct.unpack("<I", fh.read(4))[0]
        if kind in _FGB_TEXT and n > limit:
            # Four bytes a character at most: past 4 x limit bytes it is too long unread.
            if n > 4 * limit or _chars(fh.read(n), True) > limit:
                raise _refuse(f"#{number}", name, limit)
        else:
            fh.seek(n, 1)
