"""Input safety: bounded reading (archives, rows, vertices), hostile zips, the choice of a layer or
sheet, Shapefile names cut at 10 bytes, messages without server paths, and no temporary files left.

Every file here is real (written by GDAL, openpyxl, zipfile or by hand to the zip specification);
the memory and temporary-file tests run in a subprocess so they measure a clean interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from archives import dbf_bomb_zip, member, write_zip, zip_with

from grid_planning.base.i18n import LANGUAGES
from grid_planning.city.layers import load_city
from grid_planning.domain import schema
from grid_planning.io import gis, inputs, limits, shapefiles
from grid_planning.io.findings import ValidationReport
from grid_planning.io.inputs import read_table, read_vector
from grid_planning.io.readers import read_facilities, read_roads
from grid_planning.io.units import read_units
from grid_planning.session.ui_state import load_uploads, max_upload_bytes, upload_layers

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "wuhan"
FIX = Path(__file__).parents[1] / "fixtures" / "layers"
#: Peak resident memory allowed to a process that is handed the 1.5 GB .dbf bomb.
PEAK_RSS_LIMIT_MB = 300


def _codes(report: ValidationReport) -> list[str]:
    return report.codes()


def _one(report: ValidationReport, code: str):
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.format()
    return found[0]


def _texts(report: ValidationReport) -> str:
    """Everything a planner can read of a report, in both languages."""
    out = []
    for f in report.findings:
        for lang in LANGUAGES:
            out += [f.file, f.message(lang), f.advice(lang), f.location()]
    return "\n".join(out)


def _run_python(code: str, *, env: dict | None = None, timeout: int = 180):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def facilities_csv() -> tuple[str, bytes]:
    return "医院名单.csv", (SAMPLE / "facilities.csv").read_bytes()


# =============================================================================================
# 1. Bounded input
# =============================================================================================
BOMB_SCRIPT = r"""
import json, resource
from pathlib import Path
from archives import dbf_bomb_zip
from grid_planning.city.layers import load_city
from grid_planning.session.ui_state import load_uploads

tmp = Path({tmp!r})
bomb = dbf_bomb_zip(tmp / "bomb.zip")
liar = dbf_bomb_zip(tmp / "liar.zip", declared_size=4096)
units = Path({units!r})
out = {{"zip_bytes": bomb.stat().st_size}}
city = load_city(units, bomb, labels={{"facilities": "医院.zip"}})
out["load_city"] = [(f.code, f.file, f.params) for f in city.report.errors]
res = load_uploads({{"units": ("units.geojson", units.read_bytes()),
                     "facilities": ("医院.zip", bomb.read_bytes())}})
out["load_uploads"] = [(f.code, f.file, f.params) for f in res.report.errors]
status = Path("/proc/self/status").read_text()
out["bomb_vmhwm_kb"] = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
city = load_city(units, liar, labels={{"facilities": "liar.zip"}})
out["liar"] = [(f.code, f.file) for f in city.report.errors]
status = Path("/proc/self/status").read_text()
out["vmhwm_kb"] = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out, default=str))
"""


def test_dbf_bomb_is_refused_before_memory_is_spent(tmp_path):
    """A 1.6 MB zip whose .dbf (valid header, millions of zero records) expands to 1.5 GB is
    refused from the zip directory, naming the file and the limit, with the process under
    300 MB. The old reader read the whole .dbf to guess its encoding: 3.3 GB peak, "file is empty"."""
    script = BOMB_SCRIPT.format(tmp=str(tmp_path), units=str(SAMPLE / "population_units.geojson"))
    proc = _run_python(script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["zip_bytes"] < 3 * 1024 * 1024
    for route in ("load_city", "load_uploads"):
        (code, file, params), *rest = out[route]
        assert not rest, out[route]
        assert (code, file) == ("archive_too_large", "医院.zip")
        assert params["member"] == "bomb.dbf" and params["limit_mb"] == "500"
        assert params["size_mb"] == "1,536"
    # A directory that understates the size: unpacking stops at the declared size (CRC error).
    assert out["liar"] == [["archive_damaged", "liar.zip"]]
    # The bomb through both routes (the sample city's units loaded twice beside it): under 300 MB.
    peak_mb = out["bomb_vmhwm_kb"] / 1024
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
    # With a third load of the units for the lying archive, the whole run stays well bounded too
    # (seen at 204 MB alone and up to 354 MB inside the full suite on two workers).
    # (VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into ru_maxrss,
    # so inside a big pytest worker it reports the worker's size, not this process's)
    total_mb = out["vmhwm_kb"] / 1024
    assert total_mb < 2 * PEAK_RSS_LIMIT_MB, f"peak RSS {total_mb:.0f} MB"


def test_archive_limits_come_from_the_settings(tmp_path, monkeypatch):
    zipped = FIX / "town_units_shp.zip"
    assert _codes(_units(zipped)) == []
    monkeypatch.setenv("GRID_PLANNER_MAX_ARCHIVE_MEMBERS", "3")
    f = _one(_units(zipped), "archive_too_many_members")
    assert (f.file, f.params["count"], f.params["limit"]) == ("town_units_shp.zip", "5", "3")
    monkeypatch.delenv("GRID_PLANNER_MAX_ARCHIVE_MEMBERS")
    # The zip's end record is read before its directory: 250 tiny entries need no parsing.
    many = zip_with(tmp_path / "many.zip", {f"part{i}.txt": b"" for i in range(250)})
    f = _one(_units(many), "archive_too_many_members")
    assert f.params == {"count": "250", "limit": "200"}


def _units(path, **kw) -> ValidationReport:
    report = ValidationReport()
    read_units(path, report=report, **kw)
    return report


def test_row_and_vertex_limits_refuse_before_reading(tmp_path, monkeypatch):
    units = SAMPLE / "population_units.geojson"  # 7,065 features, 38,345 vertices
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "5000")
    f = _one(_units(units), "too_many_rows")
    assert f.file == "population_units.geojson" and f.params == {"limit": "5,000"}
    assert "max_rows" in f.advice("en") and "5,000" in f.message("en")
    # Tables: a CSV's lines are counted before it is parsed, a sheet's rows while they stream.
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "100")
    fac = ValidationReport()
    read_facilities(SAMPLE / "facilities.csv", report=fac)
    assert _codes(fac) == ["too_many_rows"]
    pd.read_csv(SAMPLE / "facilities.csv").to_excel(tmp_path / "f.xlsx", index=False)
    fac = ValidationReport()
    read_facilities(tmp_path / "f.xlsx", report=fac)
    assert _codes(fac) == ["too_many_rows"]
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "10000")
    assert _codes(_units(units)) == []

    monkeypatch.setenv("GRID_PLANNER_MAX_VERTICES", "30000")
    f = _one(_units(units), "too_many_vertices")
    assert f.params == {"limit": "30,000"} and "max_vertices" in f.advice("en")
    monkeypatch.setenv("GRID_PLANNER_MAX_VERTICES", "40000")
    assert _codes(_units(units)) == []


SPARSE_SHEET_SCRIPT = r"""
import json, time
from pathlib import Path
import openpyxl
from grid_planning.io.inputs import open_layer
from grid_planning.session.ui_state import upload_layers

path = Path({tmp!r}) / "医院.xlsx"
book = openpyxl.Workbook()
sheet = book.active
sheet.append(["id", "name", "level", "type", "lon", "lat", "beds"])
for i in range(5):
    sheet.append([f"F{{i}}", f"H{{i}}", "tertiary", "general", 114.3 + i / 100, 30.5, 100])
sheet.cell(row={row}, column=16384, value="x")  # one stray cell in column XFD
book.save(path)
out = {{"bytes": path.stat().st_size}}
t0 = time.process_time()
opened = open_layer(path, kind="facilities")
out["shape"] = list(opened.frame.shape)
out["columns"] = list(opened.frame.columns)
out["beds"] = opened.frame["beds"].tolist()
out["listed"] = upload_layers("facilities", "医院.xlsx", path.read_bytes())
out["cpu_s"] = time.process_time() - t0
status = Path("/proc/self/status").read_text()
out["vmhwm_kb"] = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
print(json.dumps(out))
"""


@pytest.mark.parametrize("row", [3_000, 1_048_576])
def test_a_sheet_that_declares_16384_columns_is_read_as_wide_as_its_header(tmp_path, row):
    """A 5 KB workbook with one stray cell in the last column (XFD): the old reader padded every
    row to 16,384 cells (row 3,000: 1.3 GB, 10 s; row 20,000: 7.8 GB). Now only the header's
    seven columns are read, by the layer reader and by the upload page's sheet listing."""
    proc = _run_python(SPARSE_SHEET_SCRIPT.format(tmp=str(tmp_path), row=row))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["bytes"] < 10_000
    assert out["shape"] == [5, 7] and out["columns"][-1] == "beds" and out["beds"] == ["100"] * 5
    assert out["listed"] == []  # one sheet: nothing to choose
    assert out["vmhwm_kb"] / 1024 < PEAK_RSS_LIMIT_MB, out
    assert out["cpu_s"] < 20, out  # generous: the bound is the width, not the speed


def test_column_and_cell_limits_refuse_before_reading(tmp_path, monkeypatch):
    """A sheet, a CSV and a GIS layer wider than ``max_columns``, or with more cells than
    ``max_cells``, are refused naming the limit (a 27 MB CSV of 3,000 x 3,000 cells took 300 MB)."""
    import openpyxl

    fac = pd.read_csv(SAMPLE / "facilities.csv").head(50)
    fac.to_csv(tmp_path / "f.csv", index=False)
    fac.to_excel(tmp_path / "f.xlsx", index=False)
    points = gpd.points_from_xy(fac["lon"], fac["lat"])
    gpd.GeoDataFrame(fac.drop(columns=["lon", "lat"]), geometry=points, crs=4326).to_file(
        tmp_path / "f.gpkg"
    )
    width = {p: len(inputs.open_layer(tmp_path / p).frame.columns) for p in ("f.csv", "f.xlsx")}
    monkeypatch.setenv("GRID_PLANNER_MAX_COLUMNS", "5")
    for name in ("f.csv", "f.xlsx", "f.gpkg"):
        report = ValidationReport()
        read_facilities(tmp_path / name, report=report)
        f = _one(report, "too_many_columns")
        assert f.file == name and f.params == {"limit": "5"} and "max_columns" in f.advice("en")
    monkeypatch.delenv("GRID_PLANNER_MAX_COLUMNS")
    monkeypatch.setenv("GRID_PLANNER_MAX_CELLS", str(40 * width["f.csv"]))
    for name in ("f.csv", "f.xlsx", "f.gpkg"):
        report = ValidationReport()
        read_facilities(tmp_path / name, report=report)
        assert _codes(report) == ["too_many_cells"], (name, report.format("en"))
    monkeypatch.setenv("GRID_PLANNER_MAX_CELLS", str(60 * width["f.csv"]))
    assert len(inputs.open_layer(tmp_path / "f.xlsx").frame) == 50
    # The default: a header of 1,001 headings.
    monkeypatch.delenv("GRID_PLANNER_MAX_CELLS")
    book = openpyxl.Workbook()
    book.active.append([f"c{i}" for i in range(limits.DEFAULT_LIMITS.columns + 1)])
    book.active.append(list(range(limits.DEFAULT_LIMITS.columns + 1)))
    book.save(tmp_path / "wide.xlsx")
    report = ValidationReport()
    read_facilities(tmp_path / "wide.xlsx", report=report)
    assert _one(report, "too_many_columns").params == {"limit": "1,000"}


def test_a_workbook_whose_shared_text_table_is_huge_is_refused_unparsed(tmp_path, monkeypatch):
    """openpyxl loads a workbook's shared strings whole, even read-only: a 1 MB upload whose table
    held 25 million strings took 5.5 minutes and 2.4 GB before its one data row was read. The
    strings are counted from bytes (``<si`` tags), at most 4 per allowed row."""
    import io
    import re

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id", "name", "lon", "lat", "level"])
    book.active.append(["F1", "A", 114.3, 30.5, "三级"])
    raw = io.BytesIO()
    book.save(raw)
    with zipfile.ZipFile(raw) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    # openpyxl writes its text inline: add a shared string table as Excel writes one, registered.
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    extra = "".join(f"<si><t>{i:x}</t></si>" for i in range(4_001))
    parts["xl/sharedStrings.xml"] = f'<sst xmlns="{main}" count="4001" uniqueCount="4001">{extra}</sst>'.encode()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    parts["[Content_Types].xml"] = re.sub(
        "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>',
        parts["[Content_Types].xml"].decode()).encode()
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    parts["xl/_rels/workbook.xml.rels"] = re.sub(
        "</Relationships>", f'<Relationship Id="rIdSS" Type="{rel}" Target="sharedStrings.xml"/></Relationships>',
        parts["xl/_rels/workbook.xml.rels"].decode()).encode()
    with zipfile.ZipFile(tmp_path / "医院.xlsx", "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "1000")
    report = ValidationReport()
    read_facilities(tmp_path / "医院.xlsx", report=report)
    f = _one(report, "workbook_text_too_large")
    assert f.file == "医院.xlsx" and f.params["limit"] == "4,000" and "max_rows" in f.advice("en")
    assert upload_layers("facilities", "医院.xlsx", (tmp_path / "医院.xlsx").read_bytes()) == []
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "2000")
    assert len(inputs.open_layer(tmp_path / "医院.xlsx").frame) == 1


def _formula_book(path: Path, saved: bool) -> Path:
    """Facilities whose name and beds are formulas, with their results saved as Excel saves
    them (``saved``) or not, as a script or web export writes them."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "level", "type", "lon", "lat", "beds"])
    sheet.append(["F1", "=\"示例市第一医院\"", "三级", "综合", 114.3, 30.5, "=100*12"])
    sheet.append(["F2", "示例市第二医院", "二级", "综合", 114.31, 30.51, 300])
    book.save(path)
    if saved:
        with zipfile.ZipFile(path) as src:
            parts = {n: src.read(n) for n in src.namelist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        xml = xml.replace('<f>"示例市第一医院"</f><v />', '<f>"示例市第一医院"</f><v>示例市第一医院</v>')
        xml = xml.replace('<c r="B2">', '<c r="B2" t="str">')
        xml = xml.replace("<f>100*12</f><v />", "<f>100*12</f><v>1200</v>")
        parts["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w") as dst:
            for name, data in parts.items():
                dst.writestr(name, data)
    return path


def test_formulas_read_as_their_saved_results(tmp_path):
    report = ValidationReport()
    fac = read_facilities(_formula_book(tmp_path / "医院.xlsx", saved=True), report=report)
    assert report.errors == [], report.format("en")
    assert fac.set_index("id").loc["F1", ["name", "beds"]].tolist() == ["示例市第一医院", 1200]


def test_formulas_without_saved_results_are_named_not_read_as_blank(tmp_path):
    """The old reader gave "the name is empty" and 0 beds, saying nothing of formulas."""
    report = ValidationReport()
    read_facilities(_formula_book(tmp_path / "医院.xlsx", saved=False), report=report)
    f = _one(report, "formula_without_value")
    assert f.file == "医院.xlsx" and f.params == {"cells": "B2, G2"}
    assert "B2, G2" in f.message("zh") and "WPS" in f.advice("zh")
    assert _codes(report) == ["formula_without_value"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_rows_are_counted_whatever_ends_the_lines(tmp_path, monkeypatch, newline):
    """A CSV saved with carriage returns alone ("CSV (Macintosh)") was cut at the row limit in
    silence: 30 points, limit 10, "0 errors", 11 points summed."""
    lines = ["id,lon,lat,population"]
    lines += [f"P{i},{114.25 + i / 1000:.3f},30.55,{i + 1}" for i in range(30)]
    path = tmp_path / "人口点.csv"
    path.write_bytes(newline.join(lines).encode())
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "10")
    f = _one(_units(path), "too_many_rows")
    assert f.file == "人口点.csv" and f.params == {"limit": "10"}
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "30")
    opened = inputs.open_layer(path, kind="units")
    assert len(opened.frame) == 30 and opened.frame["population"].iloc[-1] == "30"


def test_vertex_count_reads_geometry_in_batches(monkeypatch):
    units = gpd.read_file(SAMPLE / "population_units.geojson")
    expected = int(units.geometry.count_coordinates().sum())
    subs = inputs.list_layers(SAMPLE / "population_units.geojson")
    assert [(s.name, s.rows) for s in subs] == [("population_units", 7065)]
    lim = limits.limits()
    with inputs._sublayers(SAMPLE / "population_units.geojson", "u", lim) as full:
        assert gis.count_vertices(full[0]) == expected
        # Counting stops at the first batch beyond the limit.
        monkeypatch.setattr(gis, "VERTEX_BATCH", 1000)
        assert gis.count_vertices(full[0]) == expected
        assert expected > gis.count_vertices(full[0], stop_above=10) > 10


def test_plain_file_size_limit(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_UNCOMPRESSED_MB", "1")
    f = _one(_units(SAMPLE / "population_units.geojson"), "file_too_large")
    assert f.params == {"size_mb": "2", "limit_mb": "1"}


def test_upload_limit_is_the_setting_and_streamlits(monkeypatch, facilities_csv):
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == limits.DEFAULT_LIMITS.upload_mb == 100
    from grid_planning.session import ui_state

    assert ui_state.MAX_UPLOAD_BYTES == max_upload_bytes() == 100 * 1024 * 1024
    monkeypatch.setenv("GRID_PLANNER_MAX_UPLOAD_MB", "1")
    assert ui_state.MAX_UPLOAD_BYTES == 1024 * 1024
    units = ("units.geojson", (SAMPLE / "population_units.geojson").read_bytes())  # 2.3 MB
    result = load_uploads({"units": units, "facilities": facilities_csv})
    f = _one(result.report, "upload_too_large")
    assert f.file == "units.geojson" and f.params == {"mb": 1} and not result.usable


def test_a_bad_setting_is_named_not_blamed_on_the_file(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "lots")
    city = load_city(FIX / "town_units.geojson", FIX / "town_facilities.geojson")
    f = _one(city.report, "internal_error")
    assert "GRID_PLANNER_MAX_ROWS" in f.message("en") and f.file == "-"


@pytest.mark.parametrize(
    ("entries", "symlinks", "code", "member"),
    [
        (
            {"../../escaped.shp": b"x", "u.dbf": b"y"},
            (),
            "archive_unsafe_path",
            "../../escaped.shp",
        ),
        ({"/abs/escaped.shp": b"x"}, (), "archive_unsafe_path", "/abs/escaped.shp"),
        ({"C:/Windows/escaped.shp": b"x"}, (), "archive_unsafe_path", "C:/Windows/escaped.shp"),
        ({"u.shp": b"/etc/passwd"}, ("u.shp",), "archive_link", "u.shp"),
        ({"inner.zip": b"PK\x05\x06" + bytes(18)}, (), "archive_nested", "inner.zip"),
    ],
)
def test_hostile_zips_do_not_escape_or_recurse(tmp_path, entries, symlinks, code, member):
    folder = tmp_path / "up" / "load"
    folder.mkdir(parents=True)
    archive = zip_with(folder / "units.zip", entries, symlinks=symlinks)
    f = _one(_units(archive), code)
    assert f.file == "units.zip" and f.params["member"] == member
    # Nothing was written outside (or inside) the upload folder.
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["load", "units.zip", "up"]


def test_encrypted_member_is_refused(tmp_path):
    # Bit 0 is what an encrypting zip tool sets; the content need not be really encrypted.
    path = write_zip(tmp_path / "secret.zip", [member("u.shp", b"x" * 100)], flags=0x1)
    assert _one(_units(path), "archive_encrypted").params == {"member": "u.shp"}


def test_zip_member_names_from_chinese_windows_are_decoded(tmp_path):
    """Zip tools on Chinese Windows store GBK names without the UTF-8 flag."""
    units = gpd.read_file(FIX / "town_units.geojson")
    units.to_file(tmp_path / "u.shp")
    members = [
        member(("街道人口" + part[1:]).encode("gbk"), (tmp_path / part).read_bytes())
        for part in ("u.shp", "u.shx", "u.dbf", "u.prj", "u.cpg")
    ]
    path = write_zip(tmp_path / "gbk_names.zip", members, flags=0)
    with zipfile.ZipFile(path) as zf:  # what Python itself makes of the names
        assert zf.namelist()[0] == "街道人口.shp".encode("gbk").decode("cp437")
    assert [s.name for s in inputs.list_layers(path)] == ["街道人口"]
    report = _units(path)
    assert report.ok, report.format()


def test_write_zip_helper_is_a_valid_zip(tmp_path):
    import zlib

    content = b"hello " * 100
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = comp.compress(content) + comp.flush()
    path = write_zip(
        tmp_path / "x.zip", [("a.txt", data, zlib.crc32(content), len(content), len(content))]
    )
    with zipfile.ZipFile(path) as zf:
        assert zf.read("a.txt") == content


# =============================================================================================
# 2. Nothing read silently wrong
# =============================================================================================
@pytest.fixture(scope="module")
def two_layer_gpkg(tmp_path_factory) -> Path:
    """The issue's case: a units GeoPackage whose *first* layer holds 100 of the 7,065 units."""
    path = tmp_path_factory.mktemp("gpkg") / "units.gpkg"
    units = gpd.read_file(SAMPLE / "population_units.geojson")
    units.head(100).to_file(path, layer="first100")
    units.to_file(path, layer="all_units")
    return path


def test_several_layers_with_data_are_refused_with_their_names(two_layer_gpkg):
    report = _units(two_layer_gpkg)
    f = _one(report, "layer_ambiguous")
    assert f.severity == "error" and f.file == "units.gpkg"
    assert f.params["layers"] == "'first100', 'all_units'"
    assert "--layer units=NAME" in f.advice("en")
    assert "--layer units=" in f.advice("zh")


def test_the_chosen_layer_is_read(two_layer_gpkg):
    city = load_city(two_layer_gpkg, SAMPLE / "facilities.csv", layers={"units": "all_units"})
    assert len(city.units) == 7065
    assert city.units["population"].sum() == pytest.approx(12_326_518, abs=1)
    assert "layer_ambiguous" not in _codes(city.report)
    # Names match ignoring case and width.
    assert len(read_units(two_layer_gpkg, layer="ＡＬＬ_UNITS")) == 7065
    report = _units(two_layer_gpkg, layer="streets")
    f = _one(report, "layer_not_found")
    assert f.params == {"layer": "streets", "available": "'first100', 'all_units'"}


def test_one_fitting_layer_is_taken_and_named(tmp_path):
    """Units polygons with population next to districts (no population) and roads (lines)."""
    path = tmp_path / "city.gpkg"
    gpd.read_file(SAMPLE / "districts.geojson").to_file(path, layer="districts")
    gpd.read_file(FIX / "town_units.geojson").to_file(path, layer="units")
    roads = gpd.GeoDataFrame(
        {"highway": ["primary"]},
        geometry=gpd.GeoSeries.from_wkt(["LINESTRING (114 30, 114.1 30.1)"]),
        crs=4326,
    )
    roads.to_file(path, layer="roads")
    report = _units(path)
    f = _one(report, "layer_chosen")
    assert f.severity == "warning" and f.params == {
        "layer": "units",
        "others": "'districts', 'roads'",
    }
    assert report.ok
    # Roads: the one line layer, without asking.
    report = ValidationReport()
    out = read_roads(path, report=report)
    assert len(out) == 1 and _one(report, "layer_chosen").params["layer"] == "roads"
    # A layer of the wrong kind can still be chosen on purpose (then validated as usual).
    report = _units(path, layer="roads")
    assert _codes(report) == ["missing_column"]


def test_xlsx_empty_first_sheet_is_not_an_empty_file(tmp_path):
    fac = pd.read_csv(SAMPLE / "facilities.csv")
    path = tmp_path / "医院.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"说明": []}).to_excel(writer, sheet_name="说明", index=False)
        fac.to_excel(writer, sheet_name="机构名单", index=False)
    report = ValidationReport()
    out = read_facilities(path, report=report)
    assert len(out) == len(fac)
    assert "file_empty" not in _codes(report)
    f = _one(report, "layer_chosen")
    assert f.params == {"layer": "机构名单", "others": "'说明'"} and "机构名单" in f.message("zh")
    # Row numbers still count from the chosen sheet's header.
    assert read_table(path).index[0] == 0


def test_xlsx_with_two_data_sheets_asks_and_reads_the_choice(tmp_path):
    fac = pd.read_csv(SAMPLE / "facilities.csv")
    path = tmp_path / "两表.xlsx"
    with pd.ExcelWriter(path) as writer:
        fac.head(10).to_excel(writer, sheet_name="旧名单", index=False)
        fac.to_excel(writer, sheet_name="新名单", index=False)
    report = ValidationReport()
    read_facilities(path, report=report)
    assert _one(report, "layer_ambiguous").params == {
        "layers": "'旧名单', '新名单'",
        "slot": "facilities",
    }
    assert len(read_facilities(path, layer="新名单")) == len(fac)
    assert len(read_table(path, sheet="旧名单")) == 10
    # A notes sheet without the required columns does not make it ambiguous.
    notes = tmp_path / "notes.xlsx"
    with pd.ExcelWriter(notes) as writer:
        fac.to_excel(writer, sheet_name="data", index=False)
        pd.DataFrame({"备注": ["数据来源：卫健委", "2024 年"]}).to_excel(
            writer, sheet_name="备注", index=False
        )
    report = ValidationReport()
    assert len(read_facilities(notes, report=report)) == len(fac)
    assert _codes(report).count("layer_chosen") == 1


def test_zip_of_several_shapefiles_is_chosen_by_kind_or_name(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    gpd.read_file(FIX / "town_units.geojson").to_file(folder / "units.shp")
    gpd.read_file(FIX / "town_facilities.geojson").to_file(folder / "facilities.shp")
    path = tmp_path / "city.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, f"city/{part.name}")
    names = [s.name for s in inputs.list_layers(path)]
    assert names == ["city/facilities.shp", "city/units.shp"]
    report = _units(path)
    assert _one(report, "layer_chosen").params["layer"] == "city/units.shp" and report.ok
    report = ValidationReport()
    assert len(read_facilities(path, report=report)) == 8
    assert len(read_units(path, layer="units")) == 92  # the bare layer name is enough


def _shapefile_zip(
    gdf: gpd.GeoDataFrame, folder: Path, name: str, encoding: str, cpg: bool
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    gdf.to_file(folder / f"{name}.shp", encoding=encoding)
    if not cpg:
        (folder / f"{name}.cpg").unlink()
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in sorted(folder.glob(f"{name}.*")):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    return path


@pytest.mark.parametrize(("encoding", "cpg"), [("UTF-8", True), ("UTF-8", False), ("GBK", False)])
def test_shapefile_names_cut_at_10_bytes_map_to_their_columns(tmp_path, encoding, cpg):
    """GDAL cuts ``owner_level`` to ``owner_leve`` and, in UTF-8, ``机构名称`` inside its fourth
    character (which pyogrio could not even decode). The issue's symptom: "no facility can lead"."""
    fac = pd.read_csv(FIX / "town_facilities_bom.csv", encoding="utf-8-sig")
    gdf = gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]).rename(columns={"name": "机构名称"}),
        geometry=gpd.points_from_xy(fac["lon"], fac["lat"]),
        crs=4326,
    )
    gdf["level_source"] = "data"
    gdf["outpatient_slots"] = 120
    path = _shapefile_zip(gdf, tmp_path / "f", "fac", encoding, cpg)
    with zipfile.ZipFile(path) as zf:
        dbf = zf.read("fac.dbf")
    stored = [d[1] for d in shapefiles._dbf_fields(dbf)]
    assert b"owner_leve" in stored and b"level_sour" in stored and b"outpatient" in stored
    report = ValidationReport()
    out = read_facilities(path, report=report)
    assert report.ok, report.format()
    assert "no_eligible_lead" not in _codes(report)
    assert {"owner_level", "level_source", "outpatient_slots", "name"} <= set(out.columns)
    assert out["name"].tolist() == fac["name"].tolist()
    assert (out["outpatient_slots"] == 120).all()
    assert out["owner_level"].tolist() == [schema.normalise_owner(v) for v in fac["owner_level"]]

    units = gpd.read_file(FIX / "town_units.geojson").rename(
        columns={"population": "常住人口", "pop_65plus": "65岁及以上"}
    )
    path = _shapefile_zip(units, tmp_path / "u", "units", encoding, cpg)
    report = ValidationReport()
    out = read_units(path, report=report)
    assert report.ok, report.format()
    assert out["population"].sum() == pytest.approx(units["常住人口"].sum())
    assert out["pop_65plus"].sum() == pytest.approx(units["65岁及以上"].sum())


def test_a_plain_shapefile_with_cut_names_is_repaired_in_a_copy(tmp_path):
    units = gpd.read_file(FIX / "town_units.geojson").rename(columns={"population": "常住人口"})
    units.to_file(tmp_path / "u.shp", encoding="UTF-8")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out = read_units(tmp_path / "u.shp")
    assert out["population"].sum() == pytest.approx(units["常住人口"].sum())
    assert {
        p.name: p.read_bytes() for p in tmp_path.iterdir()
    } == before  # the user's files untouched


def test_resolve_columns_knows_dbf_cuts_after_exact_names():
    cols = ["OWNER_LEVE", "outpatient", "level_sour", "机构名", "常住人"]
    got = schema.resolve_columns(cols, schema.FACILITY_ALIASES)
    assert got == {
        "OWNER_LEVE": "owner_level",
        "outpatient": "outpatient_slots",
        "level_sour": "level_source",
        "机构名": "name",
    }
    assert schema.resolve_columns(["常住人", "65岁及"], schema.UNIT_ALIASES) == {
        "常住人": "population",
        "65岁及": "pop_65plus",
    }
    # The exact name wins over a cut one, wherever it stands.
    assert schema.resolve_columns(["outpatient", "outpatient_slots"], schema.FACILITY_ALIASES) == {
        "outpatient_slots": "outpatient_slots"
    }
    assert schema.dbf_truncations("population") == set()  # exactly 10 bytes: not cut
    assert schema.dbf_truncations("常住人口") == {"常住人"}  # 12 bytes in UTF-8; GBK keeps it whole


def test_dbf_encoding_sniffs_a_bounded_prefix():
    fields = [("name", "C", 20)]
    from archives import dbf_header

    head = dbf_header(2, fields)
    gbk = head + b" " + "武汉医院".encode("gbk").ljust(20) + b" " + "协和".encode("gbk").ljust(20)
    utf8 = head + b" " + "武汉医院".encode().ljust(20) + b" " + "协和".encode().ljust(20)
    assert shapefiles.dbf_encoding(gbk) == "GB18030"
    assert shapefiles.dbf_encoding(utf8) == "UTF-8"
    # A value cut inside a character by its field width is still UTF-8.
    cut = head + b" " + ("武汉市第一医院".encode()[:20]) + b" " + b"x".ljust(20)
    assert shapefiles.dbf_encoding(cut) == "UTF-8"


FAILING = {
    "truncated.gpkg": ("file_damaged", "GeoPackage"),
    "corrupt.zip": ("archive_damaged", None),
    "fake.geojson": ("format_not_recognised", "GeoJSON"),
    "half.geojson": ("file_damaged", "GeoJSON"),
    "fake.xlsx": ("format_not_recognised", "Excel (.xlsx)"),
}


@pytest.fixture(scope="module")
def failing_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("failing")
    gpd.read_file(FIX / "town_units.geojson").to_file(folder / "u.gpkg")
    gpkg = (folder / "u.gpkg").read_bytes()
    geojson = (SAMPLE / "population_units.geojson").read_bytes()
    return {
        "truncated.gpkg": gpkg[: len(gpkg) // 2],
        "corrupt.zip": (FIX / "town_units_shp.zip").read_bytes()[:-200],
        "fake.geojson": (FIX / "town_units_shp.zip").read_bytes(),
        "half.geojson": geojson[:50_000],
        "fake.xlsx": b"name,lon,lat\nA,114,30\n",
    }


@pytest.mark.parametrize("name", sorted(FAILING))
def test_failing_files_get_a_specific_path_free_message(
    tmp_path, failing_files, facilities_csv, name
):
    code, fmt = FAILING[name]
    result = load_uploads(
        {"units": (name, failing_files[name]), "facilities": facilities_csv}, workdir=tmp_path
    )
    f = _one(result.report, code)
    assert f.file == name
    if fmt:
        assert f.params["format"] == fmt
    text = _texts(result.report)
    for leak in (str(tmp_path), "/tmp", "/vsizip", "grid_upload", "grid_read", str(ROOT)):
        assert leak not in text, text
    assert not any(tmp_path.iterdir())  # the upload's temporary folder is gone


def test_cli_paths_are_named_as_given_and_details_are_short(tmp_path, failing_files):
    path = tmp_path / "deep" / "folder" / "half.geojson"
    path.parent.mkdir(parents=True)
    path.write_bytes(failing_files["half.geojson"])
    city = load_city(path, FIX / "town_facilities.geojson")
    f = _one(city.report, "file_damaged")
    assert f.file == "half.geojson" and str(tmp_path) not in _texts(city.report)
    assert "Unterminated object" in f.params["detail"] and len(f.params["detail"]) <= 160


def test_short_detail_strips_every_server_path():
    exc = OSError(
        "'/vsizip//tmp/grid_upload_x1/units/u.zip/a.shp' not recognized; "
        "sqlite3_prepare_v2(SELECT 1) failed: database disk image is malformed; "
        r"C:\Users\srv\AppData\Local\Temp\grid_read_9\b.dbf: bad"
    )
    text = limits.short_detail(exc, "units.zip", ["/tmp/grid_upload_x1/units/u.zip"])
    assert "/tmp" not in text and "vsizip" not in text and "C:\\" not in text
    assert "database disk image is malformed" in text and "SELECT" not in text
    assert text.count("units.zip") == 2
    # Words are not paths: a relative folder "in" (the CLI's cwd-relative file) and "and/or".
    exc = ValueError("invalid continuation byte in in/f.csv; too many nested objects and/or arrays")
    text = limits.short_detail(exc, "f.csv", ["in/f.csv", "in"])
    assert text == "invalid continuation byte in f.csv; too many nested objects and/or arrays"


def test_a_gbk_csv_behind_a_utf8_mark_is_read(tmp_path):
    """A UTF-8 mark (BOM) before GBK text failed with "'utf-8' codec can't decode byte 0xce"."""
    path = tmp_path / "医院.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (SAMPLE / "facilities.csv").read_text(encoding="utf-8").encode("gbk"))
    report = ValidationReport()
    fac = read_facilities(path, report=report)
    assert report.errors == [], report.format("en")
    assert len(fac) == len(pd.read_csv(SAMPLE / "facilities.csv"))


# =============================================================================================
# The data page's layer list and the command line
# =============================================================================================
def test_upload_layers_lists_the_choices_for_a_slot(two_layer_gpkg, tmp_path):
    content = two_layer_gpkg.read_bytes()
    assert upload_layers("units", "units.gpkg", content) == ["first100", "all_units"]
    # Facilities: no layer has points, so every layer with data is offered.
    assert upload_layers("facilities", "units.gpkg", content) == ["first100", "all_units"]
    assert upload_layers("units", "u.geojson", (FIX / "town_units.geojson").read_bytes()) == []
    assert upload_layers("units", "broken.gpkg", b"not a geopackage") == []
    result = load_uploads(
        {
            "units": ("units.gpkg", content),
            "facilities": ("f.csv", (SAMPLE / "facilities.csv").read_bytes()),
        },
        layers={"units": "all_units", "facilities": None},
        workdir=tmp_path,
    )
    assert result.usable, result.report.format("en")
    assert len(result.layers.units) == 7065


def test_cli_layer_option_for_validate_and_plan(two_layer_gpkg, tmp_path):
    base = [
        sys.executable,
        "-m",
        "grid_planning",
        "validate",
        "--units",
        str(two_layer_gpkg),
        "--facilities",
        str(SAMPLE / "facilities.csv"),
    ]

    def run(*extra):
        return subprocess.run(
            [*base, *extra], cwd=ROOT, capture_output=True, text=True, timeout=180
        )

    proc = run()
    assert proc.returncode == 2
    assert "several layers or sheets with data: 'first100', 'all_units'" in proc.stdout
    assert "--layer units=NAME" in proc.stdout
    proc = run("--layer", "units=all_units")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12,326,518" in proc.stdout
    proc = run("--layer", "streets=x")
    assert proc.returncode == 2 and "--layer value 'streets=x' is not INPUT=NAME" in proc.stderr
    from grid_planning.cli import _build_parser

    args = _build_parser().parse_args(
        ["plan", "--layer", "units=a", "facilities=b", "--layer", "roads=c", "-k", "2"]
    )
    assert args.layer == ["units=a", "facilities=b", "roads=c"]


def test_load_city_names_an_unknown_input_in_layers():
    city = load_city(
        FIX / "town_units.geojson", FIX / "town_facilities.geojson", layers={"hospitals": "x"}
    )
    assert _one(city.report, "layer_choice_unknown_input").params == {"slot": "hospitals"}


def test_read_vector_and_read_table_take_a_layer(two_layer_gpkg):
    assert len(read_vector(two_layer_gpkg, layer="first100")) == 100
    with pytest.raises(limits.InputError) as err:
        read_vector(two_layer_gpkg)
    assert err.value.code == "layer_ambiguous"
    assert "'first100', 'all_units'" in str(err.value)


# =============================================================================================
# 3. Temporary files
# =============================================================================================
TEMP_SCRIPT = r"""
import json, os, tempfile
from pathlib import Path
from grid_planning.io import inputs, limits
from grid_planning.domain.request import PlanRequest
from grid_planning.city.synthetic import synthetic_city
from grid_planning.session.ui_state import load_uploads, upload_layers
from grid_planning.session.workspace import Workspace

root = Path(tempfile.gettempdir())
def entries():
    return sorted(p.name for p in root.iterdir())

uploads = json.loads(os.environ["UPLOADS"])
facilities = ("f.csv", Path(uploads.pop("facilities")).read_bytes())
city = synthetic_city(120, 30, 5, seed=3)
ws = Workspace(city, request=PlanRequest(k=3))
assert ws.run().ok
start = entries()
counts = []
for round in range(3):
    for name, path in uploads.items():
        content = Path(path).read_bytes()
        upload_layers("units", name, content)
        result = load_uploads({"units": (name, content), "facilities": facilities})
        assert result.report.findings, name
    for kind in ("gpkg", "xlsx"):
        assert len(ws.export_bytes(kind, "en")) > 1000
    counts.append(len(entries()))
end = entries()
# The safety net: a layer left open (an interrupted read) is removed at interpreter exit.
opened = inputs._sublayers(Path(uploads["units_shp.zip"]), "u.zip", limits.limits())
opened.__enter__()
print(json.dumps({"start": start, "end": end, "counts": counts,
                  "open": [p for p in entries() if p not in start]}))
"""


def test_uploads_and_exports_leave_no_temporary_files(tmp_path, two_layer_gpkg, failing_files):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    bomb = dbf_bomb_zip(tmp_path / "bomb.zip", size=600 * 1024 * 1024)
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(failing_files["corrupt.zip"])
    uploads = {
        "units_shp.zip": str(FIX / "town_units_shp.zip"),
        "units.gpkg": str(two_layer_gpkg),
        "town.xlsx": str(FIX / "town_facilities_zh.xlsx"),
        "bomb.zip": str(bomb),
        "corrupt.zip": str(corrupt),
        "facilities": str(SAMPLE / "facilities.csv"),
    }
    env = {"TMPDIR": str(tmpdir), "UPLOADS": json.dumps(uploads)}
    proc = _run_python(TEMP_SCRIPT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["counts"] == [len(out["start"])] * 3, out
    assert out["end"] == out["start"]
    assert len(out["open"]) == 1 and out["open"][0].startswith("grid_read_")  # open at the end...
    assert list(tmpdir.iterdir()) == []  # ...and gone once the interpreter exited


def test_stale_temporary_folders_are_swept(tmp_path):
    from grid_planning.session.ui_state import sweep_stale_temp

    old = [tmp_path / n for n in ("grid_upload_abc", "grid_read_def", "grid_export_g", "grid_import_h")]
    fresh = tmp_path / "grid_upload_new"
    foreign = tmp_path / "someone_else_old"
    for folder in (*old, fresh, foreign):
        (folder / "units").mkdir(parents=True)
        (folder / "units" / "u.geojson").write_text("{}")
    for folder in (*old, foreign):
        os.utime(folder, (0, 0))
    assert sweep_stale_temp(tmp_path) == 4  # exports and imports too, not only uploads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid_upload_new", "someone_else_old"]
