"""Hostile files built in a test, small on disk: a workbook holding one enormous cell, shared
text tables in every spelling of ``<si>``, a CSV with one enormous field; and a runner that reads
one in a subprocess under a memory cap and reports its peak memory and time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

MB = 1024 * 1024

ROOT = Path(__file__).resolve().parents[1]

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_BOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="医院" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"
HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>lon</t></is></c><c r="C1" t="inlineStr"><is><t>lat</t></is></c></row>'
)


def _write_part(zf: zipfile.ZipFile, name: str, pieces) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as fh:
        for piece in pieces:
            fh.write(piece.encode("utf-8") if isinstance(piece, str) else piece)


def workbook(path: Path, sheet_pieces, strings_pieces=None) -> Path:
    """An XLSX whose sheet (and shared text table) are written from the given pieces (str or
    bytes, streamed into a deflated member: a 450 MB cell takes well under 1 MB on disk)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", _BOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
        _write_part(zf, "xl/worksheets/sheet1.xml", sheet_pieces)
        sst = strings_pieces or [
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
        ]
        _write_part(zf, "xl/sharedStrings.xml", sst)
    return path


def repeated(text: str, total_mb: int):
    """``text`` repeated to ``total_mb`` megabytes, one megabyte at a time."""
    block = (text * (MB // len(text.encode("utf-8")) + 1)).encode("utf-8")[:MB]
    for _ in range(total_mb):
        yield block


def long_cell_workbook(path: Path, kind: str, total_mb: int = 450) -> Path:
    """A workbook with a header and one row whose name cell holds ``total_mb`` MB of text, as an
    inline string (``inline``), a formula's text result (``str``) or a shared string (``shared``),
    or whose cell tag carries a ``total_mb`` attribute (``attribute``)."""
    row_end = '</c><c r="B2"><v>114.3</v></c><c r="C2"><v>30.6</v></c></row>'
    if kind == "inline":
        sheet = [SHEET_HEAD, HEADER_ROW, '<row r="2"><c r="A2" t="inlineStr"><is><t>']
        sheet += [*repeated("长", total_mb), "</t></is>", row_end, SHEET_TAIL]
        return workbook(path, sheet)
    if kind == "str":
        sheet = [SHEET_HEAD, HEADER_ROW, '<row r="2"><c r="A2" t="str"><f>A1</f><v>']
        sheet += [*repeated("x", total_mb), "</v>", row_end, SHEET_TAIL]
        return workbook(path, sheet)
    if kind == "attribute":
        sheet = [SHEET_HEAD, HEADER_ROW, '<row r="2"><c r="A2" x="']
        sheet += [*repeated("x", total_mb), '"><v>1</v>', row_end, SHEET_TAIL]
        return workbook(path, sheet)
    assert kind == "shared"
    sheet = [SHEET_HEAD, HEADER_ROW, '<row r="2"><c r="A2" t="s"><v>0</v>', row_end, SHEET_TAIL]
    sst = ['<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>']
    sst += [*repeated("长", total_mb), "</t></si></sst>"]
    return workbook(path, sheet, sst)


def shared_strings_workbook(path: Path, spelling: str, count: int) -> Path:
    """A workbook whose shared text table holds ``count`` strings spelt ``spelling``."""
    sheet = [SHEET_HEAD, HEADER_ROW, SHEET_TAIL]
    head = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    batch = spelling * 10_000
    sst = [head, *(batch for _ in range(count // 10_000)), "</sst>"]
    return workbook(path, sheet, sst)


_RUNNER = r"""
import json, resource, sys, time
import grid_planning.io.inputs as inputs
import grid_planning.io.limits as limits
vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
cap = vm + int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
cpu = time.process_time()
out = {}
try:
    opened = inputs.open_layer(sys.argv[1])
    out["rows"] = len(opened.frame)
    out["longest"] = int(opened.frame.astype(str).map(len).max().max()) if len(opened.frame) else 0
except limits.InputError as exc:
    out["code"] = exc.code
    out["params"] = {k: str(v) for k, v in exc.params.items()}
    out["message"] = str(exc)
except MemoryError:
    out["code"] = "MemoryError"
out["seconds"] = time.perf_counter() - start
out["cpu_seconds"] = time.process_time() - cpu
out["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps(out))
"""


def read_capped(path: Path, cap_mb: int = 600, env: dict | None = None, timeout: int = 120) -> dict:
    """Open ``path`` with :func:`grid_planning.io.inputs.open_layer` in a subprocess whose address
    space may grow ``cap_mb`` past what its imports take; what it read or refused, its time and
    the growth of its peak resident memory (``peak_mb``)."""
    environ = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", **(env or {})}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path), str(cap_mb)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def long_field_csv(path: Path, total_mb: int) -> Path:
    """A CSV whose second line's name field holds ``total_mb`` MB of text."""
    with path.open("wb") as fh:
        fh.write(b"name,lon,lat\n")
        for block in repeated("长", total_mb):
            fh.write(block)
        fh.write(b",114.3,30.6\n")
    return path


def wide_csv(path: Path, rows: int) -> Path:
    """A plain CSV of ``rows`` rows of 8 ordinary fields (about 210 bytes a row)."""
    head = "id,name,lon,lat,population,district,note,code\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(head)
        for i in range(rows):
            fh.write(
                f"{i:09d},社区卫生服务中心{i},114.{i % 100000:05d},30.{i % 77777:05d},{i % 9000},"
                f"江岸区{i % 13},示例数据：无实际意义的说明文字{i},C{i:012d}\n"
            )
    return path
