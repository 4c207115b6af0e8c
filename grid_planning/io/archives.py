"""Zip archives: checked from their directory (member count, unpacked sizes, paths, links, encryption) before anything is unpacked, then unpacked into a private folder.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from grid_planning.io.limits import (
    ARCHIVE_SUFFIXES,
    MB,
    InputError,
    Limits,
    limits,
    short_detail,
)


# =============================================================================================
# Zip archives
# =============================================================================================
def _zip_entry_count(path: Path) -> int:
    """The entry count from a zip's end record (zip64 aware), read before the directory is parsed:
    :class:`zipfile.ZipFile` builds one object per entry, which is the memory to protect."""
    with path.open("rb") as fh:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        tail_len = min(size, 22 + 0xFFFF + 20)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            raise zipfile.BadZipFile("no end of central directory record")
        count = struct.unpack("<H", tail[pos + 10 : pos + 12])[0]
        if count == 0xFFFF and pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07":
            (offset,) = struct.unpack("<Q", tail[pos - 12 : pos - 4])
            fh.seek(offset)
            record = fh.read(56)
            if record[:4] != b"PK\x06\x06":
                raise zipfile.BadZipFile("bad zip64 end record")
            (count,) = struct.unpack("<Q", record[32:40])
    return count


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its author wrote it: zips from Chinese Windows tools store GBK names
    without the UTF-8 flag, which Python decodes as CP437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = None
        if raw is not None and not raw.isascii():
            for codec in ("utf-8", "gb18030"):
                try:
                    name = raw.decode(codec)
                    break
                except UnicodeDecodeError:
                    continue
    return name.replace("\\", "/")


def _is_link(info: zipfile.ZipInfo) -> bool:
    return (info.external_attr >> 16) & 0o170000 == 0o120000


def _skipped(name: str) -> bool:
    """macOS resource forks and folders, which are not data."""
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._") or name.endswith("/")


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The member's path parts when it stays inside the unpacking folder, else ``None``."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if not parts or any(p == ".." for p in parts):
        return None
    return parts


def check_archive(path: Path, lim: Limits | None = None) -> list[zipfile.ZipInfo]:
    """The members of a zip after the checks that need no unpacking.

    Checked, in order: the entry count (from the end record, before the directory is parsed),
    that the directory can be read, and the total declared unpacked size of every member that is
    not skipped (macOS forks, nested archives).

    Raises
    ------
    InputError
        ``archive_too_many_members``, ``archive_damaged`` or ``archive_too_large``.
    """
    lim = lim or limits()
    try:
        count = _zip_entry_count(path)
        if count > lim.archive_members:
            raise InputError(
                "archive_too_many_members", count=f"{count:,}", limit=f"{lim.archive_members:,}"
            )
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except InputError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, EOFError) as exc:
        raise InputError("archive_damaged", detail=short_detail(exc, path.name, [path])) from None
    if len(infos) > lim.archive_members:  # an end record that lies about the count
        raise InputError(
            "archive_too_many_members", count=f"{len(infos):,}", limit=f"{lim.archive_members:,}"
        )
    wanted = [
        i
        for i in infos
        if not i.is_dir()
        and not _skipped(_member_name(i))
        and not _member_name(i).lower().endswith(ARCHIVE_SUFFIXES)
    ]
    total = sum(i.file_size for i in wanted)
    if total > lim.uncompressed_mb * MB:
        biggest = max(wanted, key=lambda i: i.file_size)
        raise InputError(
            "archive_too_large",
            size_mb=f"{total / MB:,.0f}",
            limit_mb=f"{lim.uncompressed_mb:,}",
            member=_member_name(biggest),
            member_mb=f"{biggest.file_size / MB:,.0f}",
        )
    return infos


def extract_archive(
    path: Path, dest: Path, lim: Limits | None = None
) -> tuple[list[Path], list[str]]:
    """Unpack a zip's data members into ``dest`` (a folder the caller owns and removes).

    Returns the files written and the names of nested archives that were left packed. Nothing is
    written unless every member passes :func:`check_archive` and the safety checks; each member is
    copied in 1 MiB chunks and stops at its declared size (a directory that lies about sizes ends
    in a CRC error, not in a full disk).

    Raises
    ------
    InputError
        ``archive_unsafe_path``, ``archive_link``, ``archive_encrypted``, ``archive_damaged``,
        ``archive_too_large``, ``archive_too_many_members``.
    """
    lim = lim or limits()
    infos = check_archive(path, lim)
    plan: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    nested: list[str] = []
    for info in infos:
        name = _member_name(info)
        if info.is_dir() or _skipped(name):
            continue
        parts = _safe_parts(name)
        if parts is None:
            raise InputError("archive_unsafe_path", member=name)
        if _is_link(info):
            raise InputError("archive_link", member=name)
        if info.flag_bits & 0x1:
            raise InputError("archive_encrypted", member=name)
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            nested.append(name)
            continue
        plan.append((info, parts))
    root = dest.resolve()
    written: list[Path] = []
    budget = lim.uncompressed_mb * MB
    try:
        with zipfile.ZipFile(path) as zf:
            for info, parts in plan:
                target = root.joinpath(*parts)
                if not target.resolve().is_relative_to(root):
                    raise InputError("archive_unsafe_path", member=_member_name(info))
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    left = info.file_size
                    while chunk := src.read(min(MB, left + 1)):
                        left -= len(chunk)
                        budget -= len(chunk)
                        if left < 0 or budget < 0:
                            raise InputError(
                                "archive_too_large",
                                size_mb=f"> {lim.uncompressed_mb:,}",
                                limit_mb=f"{lim.uncompressed_mb:,}",
                                member=_member_name(info),
                                member_mb=f"> {info.file_size / MB:,.0f}",
                            )
                        out.write(chunk)
                written.append(target)
    except InputError:
        raise
    except (
        zipfile.BadZipFile,
        OSError,
        zlib.error,
        EOFError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise InputError(
            "archive_damaged", detail=short_detail(exc, path.name, [path, dest, root])
        ) from None
    return written, nested
