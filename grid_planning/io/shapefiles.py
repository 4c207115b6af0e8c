"""Shapefiles as offices have them: the text encoding from the .cpg or a bounded sniff of the .dbf, and field names the 10-byte dBase limit cut mid-character repaired in a private copy.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from grid_planning.io.delimited import common_share
from grid_planning.io.limits import (
    DBF_SNIFF_BYTES,
)

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
    "BIG5": "big5hkscs",
    "CP950": "big5hkscs",
    "950": "big5hkscs",
    "BIG5HKSCS": "big5hkscs",
    "BIG5-HKSCS": "big5hkscs",
}

#: What GDAL is told a .dbf without a .cpg holds, by :func:`dbf_encoding`'s finding (GDAL's
#: iconv names), and the codec that reads it in Python.
DBF_ENCODINGS = {"UTF-8": "utf-8", "GB18030": "gb18030", "BIG5HKSCS": "big5hkscs"}


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
    field names and text values decode as UTF-8, else ``"GB18030"`` or ``"BIG5HKSCS"``, whichever
    decodes them and gives more common Chinese characters (GB18030 on a tie, as for a CSV).

    Shapefiles exported by Chinese GIS software often carry GBK (or, from Taiwan and Hong Kong,
    Big5) text and no .cpg; GDAL would then read them as Latin-1 and every Chinese column name
    would be garbled. Only ``head`` (at most :data:`DBF_SNIFF_BYTES`) is looked at, never the whole
    file.
    """
    descriptors = _dbf_fields(head)
    if not descriptors:
        texts = [head]
    else:
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
    if all(_decodes(t, "utf-8") for t in texts):
        return "UTF-8"
    fits = [e for e in ("GB18030", "BIG5HKSCS") if all(_decodes(t, DBF_ENCODINGS[e]) for t in texts)]
    if len(fits) < 2:
        return fits[0] if fits else "GB18030"
    joined = b" ".join(texts)
    return max(fits, key=lambda e: (common_share(joined.decode(DBF_ENCODINGS[e], "ignore")),
                                    e == "GB18030"))


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


def prepare_shapefile(shp: Path, owned: bool, scratch) -> tuple[Path, str | None]:
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
        codec = DBF_ENCODINGS[explicit]
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
