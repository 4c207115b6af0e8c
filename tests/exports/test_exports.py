"""Every download format of a plan: round trips, contents, sizes, and user text kept as data.

Most tests use the 16-unit hostile city of ``export_fixtures`` (names, reasons and notes hold the
shared hostile strings); the sample city is exported once, in ``test_exports_sample.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from export_fixtures import (
    CITY,
    G5_REASON,
    HOSTILE_FACILITIES,
    NOTE_4,
    NOTE_5,
    hostile_city,
    hostile_plan,
)
from hostile import HOSTILE_SHORT
from PIL import Image
from plan_fixtures import make_costs

from grid_planning.assess.checks import check_policy
from grid_planning.assess.metrics import city_metrics, grid_metrics
from grid_planning.base.textsafe import spreadsheet_text, terminal_text
from grid_planning.exports import formats
from grid_planning.exports.planfile import read_plan
from grid_planning.maps.htmlmap import LIBRARY_IDENTIFIERS
from grid_planning.maps.offline import VENDOR_DIR, external_hosts
from grid_planning.prints import paper as paper_sizes

HOSTILE_NAMES = sorted(HOSTILE_FACILITIES.values())


@pytest.fixture(scope="module")
def city():
    return hostile_city()


@pytest.fixture(scope="module")
def plan():
    return hostile_plan()


@pytest.fixture(scope="module")
def costs():
    return make_costs()


@pytest.fixture(scope="module")
def exported(city, plan, costs):
    """Each format once (en, A4 landscape), keyed by format."""
    cache: dict[str, formats.ExportFile] = {}

    def get(fmt: str, **options) -> formats.ExportFile:
        key = fmt + repr(sorted(options.items()))
        if key not in cache:
            cache[key] = formats.export_plan(city, plan, costs, fmt, lang=options.pop("lang", "en"),
                                             **options)
        return cache[key]

    return get


def pdf_text(data: bytes, tmp_path: Path, *, raw: bool = True) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    args = ["pdftotext", "-enc", "UTF-8"] + (["-raw"] if raw else []) + [str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True).stdout.decode("utf-8")


def squash(text: str) -> str:
    """Visible text without whitespace (PDF lines wrap anywhere)."""
    return re.sub(r"\s+", "", terminal_text(text))


# ---- GeoPackage -------------------------------------------------------------------------------
def test_geopackage_round_trip_keeps_the_plan(exported, plan, tmp_path):
    path = tmp_path / "plan.gpkg"
    path.write_bytes(exported("gpkg").data)
    layers, back = read_plan(path)
    pd.testing.assert_series_equal(back.assignment.sort_index(), plan.assignment.sort_index(),
                                   check_dtype=False, check_names=False)
    assert back.leads.to_dict() == plan.leads.to_dict()
    cols = ["grid_id", "role", "home_grid", "supports"]
    pd.testing.assert_frame_equal(back.roles[cols].sort_index(), plan.roles[cols].sort_index(),
                                  check_dtype=False, check_names=False)
    assert back.exceptions == plan.exceptions and back.exceptions[0].reason == G5_REASON
    assert back.checklist == plan.checklist
    assert {c.note for c in back.checklist} == {NOTE_4, NOTE_5}
    assert layers.name == CITY
    assert set(layers.facilities["name"]) >= set(HOSTILE_NAMES)
    # the recorded exception still decides G5 for G1 after the round trip
    g5 = [r for r in check_policy(layers, back) if r.rule == "G5" and r.grid_id == "G1"]
    assert g5[0].status == "exception" and G5_REASON in g5[0].message("en")


# ---- GeoJSON and Shapefile --------------------------------------------------------------------
def test_geojson_zip_has_three_layers_with_names_as_typed(exported):
    zf = zipfile.ZipFile(io.BytesIO(exported("geojson").data))
    assert sorted(zf.namelist()) == ["facilities.geojson", "grids.geojson", "units.geojson"]
    fac = json.loads(zf.read("facilities.geojson"))
    names = {f["properties"]["id"]: f["properties"]["name"] for f in fac["features"]}
    assert {names[k] for k in HOSTILE_FACILITIES} == set(HOSTILE_NAMES)
    roles = {f["properties"]["id"]: f["properties"]["role"] for f in fac["features"]}
    assert roles["F1"] == "lead" and roles["F7"] == "collaborator"
    grids = json.loads(zf.read("grids.geojson"))
    assert [f["properties"]["grid_id"] for f in grids["features"]] == ["G1", "G2"]
    assert [f["properties"]["population"] for f in grids["features"]] == [1400, 12200]
    assert "crs" not in grids  # RFC 7946: WGS84 implied
    lon, lat = grids["features"][0]["geometry"]["coordinates"][0][0][:2] if grids["features"][0][
        "geometry"]["type"] == "Polygon" else grids["features"][0]["geometry"]["coordinates"][0][0][0][:2]
    assert 113 < lon < 116 and 29 < lat < 32


def test_shapefile_round_trip_keeps_chinese_and_hostile_names(exported, city, tmp_path):
    data = exported("shp").data
    path = tmp_path / "plan.shp.zip"
    path.write_bytes(data)
    zf = zipfile.ZipFile(path)
    for layer in ("grids", "units", "facilities"):
        assert {f"{layer}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= set(zf.namelist())
        assert zf.read(f"{layer}.cpg").decode().strip().upper() == "UTF-8"
    fac = pyogrio.read_dataframe(f"/vsizip/{path}/facilities.shp")
    assert all(len(c) <= 10 for c in fac.columns)
    named = dict(zip(fac["id"], fac["name"], strict=True))
    assert {k: named[k] for k in HOSTILE_FACILITIES} == HOSTILE_FACILITIES
    assert named["F1"] == "市一医院" and named["F2"] == "区人民医院"
    assert dict(zip(fac["id"], fac["owner_lvl"], strict=True))["F7"] == "provincial"
    grids = pyogrio.read_dataframe(f"/vsizip/{path}/grids.shp")
    assert list(grids["lead_name"]) == ["市一医院", "区人民医院"]
    assert list(grids["name"]) == ["市一医院 grid", "区人民医院 grid"]  # lang="en"
    assert list(grids["population"]) == [1400, 12200]
    units = pyogrio.read_dataframe(f"/vsizip/{path}/units.shp")
    assert dict(zip(units["id"], units["district"], strict=True))["U10"] == "东区"
    fields = pd.read_csv(io.BytesIO(zf.read("fields.csv")), encoding="utf-8-sig")
    row = fields[(fields["layer"] == "grids") & (fields["column"] == "beds_per_1000")]
    assert row["shapefile_field"].iloc[0] == formats.SHP_FIELDS["grids"]["beds_per_1000"]


def test_shapefile_field_table_holds_column_headers_as_text(city, plan, costs):
    """The user's own column headers are listed in fields.csv: they were written there as live
    formulas (``=HYPERLINK(...)`` with no leading ')."""
    import dataclasses

    heads = ['=HYPERLINK("http://198.51.100.7/","x")', "+cmd", "@SUM(A1)", "-1+2"]
    fac = city.facilities.copy()
    for head in heads:
        fac[head] = "v"
    layers = dataclasses.replace(city, facilities=fac)
    zf = zipfile.ZipFile(io.BytesIO(formats.shapefile_zip(layers, plan, costs, lang="en")))
    raw = zf.read("fields.csv")
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    listed = {r["column"] for r in rows if r["layer"] == "facilities"}
    assert {spreadsheet_text(h) for h in heads} <= listed
    assert all(spreadsheet_text(h) == "'" + h for h in heads)
    assert not any(r[k][:1] in "=+-@" for r in rows for k in r)


def test_shapefile_field_names_are_short_and_unique():
    names = formats.shp_field_names(
        "units", ["id", "population", "population_2020", "population_2021", "人口密度", "人口"])
    assert all(len(v) <= 10 for v in names.values())
    assert len({v.lower() for v in names.values()}) == len(names)
    assert names["population"] == "population"


# ---- spreadsheets -----------------------------------------------------------------------------
def test_xlsx_has_one_sheet_per_grid_when_names_meet_after_the_cut():
    """Grid ids from a user's plan file that agree in their first 31 characters (or differ only
    by characters a sheet name cannot hold) wrote one sheet over another, and the figure blocks
    of the lost grids landed on the obligations and checks sheets."""
    from hostile import rename_grids

    from grid_planning.city.costs import travel_costs
    from grid_planning.city.synthetic import synthetic_city
    from grid_planning.domain.request import CostParams, PlanRequest
    from grid_planning.planning.planner import plan_city

    town = synthetic_city(n_units=40, n_facilities=40, n_eligible=6, seed=3, lakes=False)
    town_costs = travel_costs(town, CostParams(mode="straight"))
    res = plan_city(town, PlanRequest(k=3, cost=CostParams(mode="straight")), costs=town_costs)
    ids = ["Northern-district-grid-number-01-A", "Northern-district-grid-number-01-B", "grid/1"]
    plan3 = rename_grids(res.plan, ids)
    book = openpyxl.load_workbook(io.BytesIO(formats.xlsx_bytes(town, plan3, town_costs, lang="en")))
    names = book.sheetnames
    assert len(names) == 1 + 3 + 3, names  # summary, three grids, obligations, checks, checklist
    assert len({n.casefold() for n in names}) == len(names)
    assert names[-3:] == ["Lead obligations", "Checks", "Checklist"]
    for ws, grid in zip(book.worksheets[1:4], ids, strict=True):
        assert ws.cell(row=1, column=2).value == grid  # each grid's figures on its own sheet
    for other in ("Lead obligations", "Checks"):
        assert book[other].cell(row=1, column=2).value not in ids  # no figure block on them


def test_sheet_names_are_distinct_ignoring_case():
    from grid_planning.base.textsafe import sheet_names

    long = "x" * 40
    assert sheet_names([long, long + "y", "A", "a", "b:c", "b/c"]) == [
        "x" * 31, "x" * 27 + " (2)", "A", "a (2)", "b_c", "b_c (2)"]
    # Excel refuses a name ending in an apostrophe (here once cut to 31) and the name "History".
    assert sheet_names(["x" * 30 + "'s grid", "history"]) == ["x" * 30, "History_"]


def test_xlsx_totals_equal_the_metrics_and_names_are_text(exported, city, plan, costs, tmp_path):
    path = tmp_path / "plan.xlsx"
    path.write_bytes(exported("xlsx").data)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) == 4 + plan.k
    summary = pd.read_excel(path, sheet_name="Summary")
    cm = city_metrics(city, plan, costs)
    total = summary[summary["grid"] == "City total"].iloc[0]
    grids = summary[summary["grid"].isin(plan.grid_ids)]
    assert total["population"] == cm["population"] == grids["population"].sum()
    # the bed figures rest on generated beds here: their headers carry the mark, as in the report
    assert cm["beds_illustrative_share"] > 0 and "beds" not in summary
    assert total["beds (illustrative)"] == cm["beds"] == grids["beds (illustrative)"].sum()
    assert total["beds per 1,000 (illustrative)"] == pytest.approx(cm["beds_per_1000"])
    assert total["mean to lead (min)"] == pytest.approx(cm["mean_travel_min"])
    assert total["share within 30 min of lead"] == pytest.approx(cm["share_30_lead"])
    gm = grid_metrics(city, plan, costs, lang="en")
    assert list(grids["population"]) == list(gm["population"])
    # numbers are numbers, with a display format
    ws = wb["Summary"]
    header = [c.value for c in ws[1]]
    pop = ws.cell(row=2, column=header.index("population") + 1)
    assert isinstance(pop.value, (int, float)) and pop.number_format == "#,##0"
    # every hostile string is a text cell holding exactly what was typed
    cells = {}
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    cells[cell.value] = cell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for value in [*HOSTILE_NAMES, NOTE_4, NOTE_5]:
        # XML cannot hold ESC/BEL: a terminal escape loses them, the visible text is kept
        assert ILLEGAL_CHARACTERS_RE.sub("", value) in cells, value
    assert any(G5_REASON in v for v in cells)


def test_csv_zip_has_bom_and_neutralised_formulas(exported, city, plan, costs):
    zf = zipfile.ZipFile(io.BytesIO(exported("csv").data))
    assert sorted(zf.namelist()) == sorted(
        ["summary.csv", "roster.csv", "obligations.csv", "checks.csv", "checklist.csv", "units.csv"])
    for name in zf.namelist():
        assert zf.read(name).startswith(b"\xef\xbb\xbf"), name
    roster = list(csv.DictReader(io.StringIO(zf.read("roster.csv").decode("utf-8-sig"))))
    names = {r["ID"] if "ID" in r else r[next(iter(r))]: r["name"] for r in roster}
    for fid, value in HOSTILE_FACILITIES.items():
        assert names[fid] == spreadsheet_text(value)
    assert names["F5"].startswith("'=")  # the formula is text
    summary = pd.read_csv(io.BytesIO(zf.read("summary.csv")), encoding="utf-8-sig")
    assert summary["population"].iloc[-1] == city_metrics(city, plan, costs)["population"]
    checklist = zf.read("checklist.csv").decode("utf-8-sig")
    assert NOTE_4 in checklist and NOTE_5 in checklist


# ---- print map --------------------------------------------------------------------------------
@pytest.mark.parametrize(("paper", "orientation"), [("A4", "landscape"), ("A3", "portrait")])
def test_print_map_png_has_the_page_size_at_300_dpi(exported, paper, orientation):
    f = exported("png", paper=paper, orientation=orientation)
    img = Image.open(io.BytesIO(f.data))
    assert img.size == paper_sizes.paper_pixels(paper, orientation, 300)
    assert tuple(round(v) for v in img.info["dpi"]) == (300, 300)
    assert f.filename.endswith(f"_{paper}_{orientation}.png") and f.mime == "image/png"
    # not a blank page: the grids' colours are on it
    pixels = np.asarray(img.convert("RGB").resize((400, 300)))
    colours = {tuple(p) for p in pixels.reshape(-1, 3)}
    assert len(colours) > 50


def test_page_sizes():
    assert paper_sizes.paper_pixels("A4", "landscape") == (3508, 2480)
    assert paper_sizes.paper_pixels("A4", "portrait") == (2480, 3508)
    assert paper_sizes.paper_pixels("A3", "landscape") == (4961, 3508)
    assert paper_sizes.paper_size_mm("A3", "landscape") == (420.0, 297.0)
    with pytest.raises(paper_sizes.PrintMapError):
        paper_sizes.paper_size_mm("Letter", "landscape")


def _streams(pdf: bytes) -> list[bytes]:
    import zlib

    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        # A decompressor object, not zlib.decompress: when the stream's last byte is a "\r" the
        # pattern takes it for the line end, and the whole stream failed to inflate.
        try:
            out.append(zlib.decompressobj().decompress(m.group(1)))
        except zlib.error:
            out.append(m.group(1))
    return out


def test_print_map_pdf_is_vector_with_searchable_text(exported, tmp_path):
    f = exported("pdf", paper="A3", orientation="landscape")
    path = tmp_path / "map.pdf"
    path.write_bytes(f.data)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert (round(float(size.group(1)) / 72 * 25.4), round(float(size.group(2)) / 72 * 25.4)) == (420, 297)
    images = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True,
                            text=True).stdout.strip().splitlines()
    assert len(images) == 2, images  # the header lines only: no raster image in the map
    ops = b"".join(_streams(f.data))
    assert len(re.findall(rb"[\d.]+ [\d.]+ l\b", ops)) > 100  # polygons and lines are paths
    text = squash(pdf_text(f.data, tmp_path, raw=False))
    for expected in ("G1", "G2", "市一医院", "区人民医院", "网格市<b>示例</b>"):
        assert squash(expected) in text, expected


def test_print_map_legend_and_notes_are_on_the_page(exported, tmp_path):
    text = squash(pdf_text(exported("pdf", lang="zh").data, tmp_path, raw=False))
    for expected in ("牵头医院（网格颜色）", "示意机构（空心虚线，非真实）", "北", "示意数据说明", "出图日期",
                     "数据来源", "综合医院", "三级", "km"):
        assert squash(expected) in text, expected


# ---- PDF report -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_text(exported, tmp_path_factory):
    return pdf_text(exported("report", lang="zh").data, tmp_path_factory.mktemp("report"))


def test_report_holds_names_reasons_and_notes_as_typed(report_text):
    text = squash(report_text)
    for expected in ("市一医院网格", "区人民医院网格", "市一医院", "区人民医院", G5_REASON, NOTE_4, NOTE_5,
                     CITY, *HOSTILE_NAMES):
        assert squash(expected) in text, expected
    assert squash("按例外通过") in text  # the G5 exception is shown as such, with its reason
    assert squash("※ 床位数为示意值") in text  # generated bed counts are marked as such


def test_report_has_every_section(report_text, plan):
    text = squash(report_text)
    for expected in ("全市网格布局图", "网格指标", "牵头医院资源下沉义务", "成员名单", "规则检查（含例外及理由）",
                     "评价标准清单（15项）", "数据来源与方法", "全市层面的规则检查", "规划方法与参数"):
        assert squash(expected) in text, expected
    for grid in plan.grid_ids:
        assert grid in report_text
    for n in range(1, 16):  # the 15 criteria of the checklist
        assert re.search(rf"(^|\s){n}\s", report_text)
    assert "13,600" in report_text  # population formatted for the reader


def test_report_in_english(exported, tmp_path):
    text = squash(pdf_text(exported("report", lang="en").data, tmp_path))
    for expected in ("Evaluation checklist (15 criteria)", "passed by exception"):
        assert squash(expected) in text, expected
    # pages numbered "x / y" to the last
    total = int(re.search(r"2/(\d+)", text).group(1))
    assert total >= 8 and f"{total}/{total}" in text


def test_report_with_a_page_long_note_and_grid_id(city, plan, costs, tmp_path):
    """A checklist note of 1,500 characters (the checklist form has no limit) or a grid id of
    2,000 made the report fail with LayoutError (a table row taller than a page), which the
    dashboard showed as "Something went wrong". Rows now go on over the page; a grid id in a
    repeated column header is cut."""
    from hostile import rename_grids

    from grid_planning.domain.plan import ChecklistEntry

    # 21,000 characters: more than the form takes now (the setting max_checklist_note_chars), as a plan file made
    # before, or by hand, may hold.
    note = "已与区卫健委沟通，签署协议。" * 1_500
    long_id = "网格" + "甲" * 2_000
    lead = list(plan.leads.values)[0]
    noted = plan.with_checklist(ChecklistEntry(lead, 4, "in_progress", note))
    wide = rename_grids(noted, [long_id, plan.grid_ids[1]])
    data = formats.export_plan(city, wide, costs, "report", lang="zh").data
    text = squash(pdf_text(data, tmp_path))
    # The whole note, over pages (a page's header and footer split the phrase where it breaks).
    assert text.count(squash("已与区卫健委沟通，签署协议。")) > 1_450
    assert "网格" + "甲" * 37 + "…" in text  # the header's cut id (40 characters)


# ---- HTML map ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_html():
    """The HTML map of the plain fixture city (no hostile names)."""
    from plan_fixtures import make_layers, make_plan

    return formats.export_plan(make_layers(), make_plan(), make_costs(), "html", lang="zh").data.decode()


def test_html_map_is_self_contained(clean_html):
    page = clean_html
    assert "/app/static" not in page and "<script src=" not in page and "<link" not in page
    leaflet = (VENDOR_DIR / "leaflet-1.9.3" / "leaflet.js").read_text(encoding="utf-8")
    assert external_hosts(page) <= LIBRARY_IDENTIFIERS
    # outside Leaflet's own source, the page names no host at all
    assert external_hosts(page.replace(leaflet.split("//# sourceMappingURL")[0], "")) == set()
    assert "data:image/png;base64," in page  # the stylesheet's images are inlined
    assert "attributionControl.setPrefix(false)" in page
    assert "区人民医院" in page and "示意数据说明" in page


def test_html_map_keeps_hostile_text_as_data(exported):
    page = exported("html").data.decode("utf-8")
    assert "网格市 &lt;b&gt;示例&lt;/b&gt;" in page and "<b>示例</b>" not in page
    assert "49" not in re.findall(r"Clinic (\d+)", page)
    assert '<img src=x onerror="alert(document.domain)">' not in page


def test_html_map_title_holds_no_control_characters(city, plan):
    """The title put a city name's NUL, BEL and DEL and a right-to-left override into <h1>."""
    import dataclasses

    named = dataclasses.replace(city, name="bell\x07 null\x00 del\x7f rtl\u202e 市")
    head = re.search(r"<h1>(.*?)</h1>", formats.export_plan(named, plan, None, "html").data.decode())
    assert head is not None and "bell null del rtl 市" in head.group(1)
    assert not re.search("[\x00-\x08\x7f\u202e]", head.group(1))


# ---- one entry point --------------------------------------------------------------------------
def test_unknown_format_or_paper_is_refused(city, plan):
    with pytest.raises(formats.ExportError, match="format must be one of"):
        formats.export_plan(city, plan, None, "docx")
    with pytest.raises(formats.ExportError, match="paper must be one of"):
        formats.export_plan(city, plan, None, "png", paper="B5")


def test_file_names_are_safe_and_keep_chinese():
    assert formats.file_name("武汉市 Wuhan", 4, "xlsx") == "grid_plan_武汉市_Wuhan_k4.xlsx"
    assert formats.file_name('a/b:c*"<>|', 2, "png", paper="A3", orientation="portrait") == (
        "grid_plan_a_b_c_k2_A3_portrait.png")
    assert formats.file_name("..", 2, "report") == "grid_plan_city_k2.report.pdf"
    # A right-to-left override made "武汉\u202egpj.exe…report.pdf" read as ending in ".jpg".
    assert formats.file_name("武汉\u202egpj.exe", 3, "report") == "grid_plan_武汉gpj.exe_k3.report.pdf"
    assert formats.file_name("del\x7fa\u200bb", 3, "xlsx") == "grid_plan_delab_k3.xlsx"


def test_workspace_export_file_gives_bytes_name_and_type():
    from grid_planning.city.synthetic import synthetic_city
    from grid_planning.session.workspace import Workspace

    ws = Workspace(synthetic_city(n_units=150, n_facilities=30, n_eligible=4, seed=3))
    ws.run()
    f = ws.export_file("csv", "en")
    assert f.filename.endswith(".csv.zip") and f.mime == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(f.data)).namelist()
    assert ws.export_bytes("gpkg", "en")[:16] == b"SQLite format 3\x00"


def test_fixture_covers_the_short_hostile_corpus():
    used = [*HOSTILE_FACILITIES.values(), G5_REASON, NOTE_4, NOTE_5]
    for key, value in HOSTILE_SHORT.items():
        assert any(value in u for u in used), key
