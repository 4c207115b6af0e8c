"""Hostile and broken archives for the input tests, built in a few milliseconds and a few MB.

The centrepiece is :func:`dbf_bomb_zip`: a zipped Shapefile whose ``.dbf`` has a valid dBase header
declaring millions of records and expands to ~1.5 GB of zero-filled records, while the zip itself is
~1.5 MB. The deflate stream is not produced by compressing 1.5 GB (seconds of CPU): after the first
MiB, every further MiB of zeros compresses to the same bytes once the window is all zeros, so the
stream is the first block, that repeated block, and a tail. The zip container is written by hand so
the central directory can also be made to *lie* about the size (``declared_size``).
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

MIB = 1024 * 1024


def dbf_header(n_records: int, fields: list[tuple[str, str, int]]) -> bytes:
    """A dBase III header: ``fields`` as ``(name, type, width)`` (names up to 10 bytes)."""
    record_len = 1 + sum(width for _, _, width in fields)
    header_len = 32 + 32 * len(fields) + 1
    head = struct.pack("<B3BIHH20x", 0x03, 124, 1, 1, n_records, header_len, record_len)
    for name, kind, width in fields:
        raw = name.encode("utf-8")[:10]
        head += struct.pack("<11sc4xBB14x", raw, kind.encode(), width, 0)
    return head + b"\r"


def _shp_empty(kind: int = 5) -> bytes:
    """A valid .shp/.shx header with no records (polygon type by default)."""
    return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, 50) + struct.pack(
        "<2i4d4d", 1000, kind, *[0.0] * 8
    )


def _deflate_zeros(prefix: bytes, total: int) -> tuple[bytes, int]:
    """Raw deflate of ``prefix`` followed by zeros up to ``total`` bytes, and its CRC-32."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = prefix + bytes(MIB - len(prefix))
    out = [comp.compress(first), comp.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(first)
    zeros = bytes(MIB)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(zeros, crc)
    full_blocks = (total - MIB) // MIB  # the first block plus this many, then a short tail
    out.append(block * full_blocks)
    for _ in range(full_blocks - 1):
        crc = zlib.crc32(zeros, crc)
    tail = bytes(total - MIB * (1 + full_blocks))
    out.append(comp.compress(tail) + comp.flush())
    crc = zlib.crc32(tail, crc)
    return b"".join(out), crc & 0xFFFFFFFF


def write_zip(
    path: Path, members: list[tuple[str | bytes, bytes, int, int, int]], *, flags: int = 0x800
) -> Path:
    """A zip of raw members ``(name, deflated bytes, crc, uncompressed size, declared size)``.

    ``flags`` are the general-purpose bits of every member: 0x800 says the names are UTF-8 (a
    ``bytes`` name is written as given, e.g. GBK with ``flags=0``); 0x1 marks encryption.
    """
    local, central = bytearray(), bytearray()
    for name, data, crc, _real, declared in members:
        offset = len(local)
        raw_name = name if isinstance(name, bytes) else name.encode("utf-8")
        local += (
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                flags,
                8,
                0,
                0x21,
                crc,
                len(data),
                declared,
                len(raw_name),
                0,
            )
            + raw_name
            + data
        )
        central += (
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                flags,
                8,
                0,
                0x21,
                crc,
                len(data),
                declared,
                len(raw_name),
                0,
                0,
                0,
                0,
                0o100644 << 16,
                offset,
            )
            + raw_name
        )
    eocd = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0
    )
    path.write_bytes(bytes(local + central + eocd))
    return path


def member(name: str | bytes, content: bytes) -> tuple[str | bytes, bytes, int, int, int]:
    """A deflated member for :func:`write_zip`."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = comp.compress(content) + comp.flush()
    return name, data, zlib.crc32(content) & 0xFFFFFFFF, len(content), len(content)


def dbf_bomb_zip(path: Path, size: int = 1536 * MIB, *, declared_size: int | None = None) -> Path:
    """A zipped Shapefile (``bomb.shp/.shx/.dbf/.prj``) whose ``.dbf`` expands to ``size`` bytes.

    The dBase header declares as many records as fit (``name`` C(50), ``population`` N(10)), so
    the file is a valid ``.dbf`` of zero-filled records. ``declared_size`` makes the zip directory
    state another uncompressed size than the real one (a lying header).
    """
    fields = [("name", "C", 50), ("population", "N", 10)]
    record_len = 1 + 50 + 10
    header = dbf_header(0, fields)
    n_records = (size - len(header)) // record_len
    header = dbf_header(n_records, fields)
    data, crc = _deflate_zeros(header, size)
    prj = b'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
    members = [
        member("bomb.shp", _shp_empty()),
        member("bomb.shx", _shp_empty()),
        member("bomb.prj", prj),
        ("bomb.dbf", data, crc, size, size if declared_size is None else declared_size),
    ]
    return write_zip(path, members)


def zip_with(path: Path, entries: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> Path:
    """An ordinary zip of ``entries`` (names used exactly as given, ``../`` included); names in
    ``symlinks`` are stored as symbolic links whose target is their content."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, content)
    return path
