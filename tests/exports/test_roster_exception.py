"""The roster's ``exception_text`` (a lead by a G4 exception and its written reason, here one made
eligible by a what-if edit) is in the CSV and XLSX rosters and the members view (issue 15)."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest

from grid_planning.assess.roster import roster_table
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.plan import FacilityEdit
from grid_planning.domain.request import PlanRequest
from grid_planning.exports import formats
from grid_planning.planning.planner import plan_city
from grid_planning.session.page_tables import exception_text

REASON = "区政府已批准升级为三级医院"


@pytest.fixture(scope="module")
def case():
    city = synthetic_city(200, 40, 6, seed=3)
    fac = city.facilities
    sec = str(fac.loc[(fac["level"] == "secondary") & (fac["type"] == "general"), "id"].iloc[0])
    edit = FacilityEdit("modify", sec, (("level", "tertiary"), ("owner_level", "municipal")))
    res = plan_city(city, PlanRequest(k=2, designated_leads=((sec, REASON),), edits=(edit,)))
    assert res.ok and sec in set(res.plan.leads.astype(str))
    return city, res.plan, sec


def test_csv_roster_carries_the_exception_and_its_reason(case):
    city, plan, sec = case
    zf = zipfile.ZipFile(io.BytesIO(formats.csv_zip(city, plan, lang="en")))
    rows = list(csv.DictReader(io.StringIO(zf.read("roster.csv").decode("utf-8-sig"))))
    col = "exception and reason"
    assert col in rows[0]
    by_id = {r[next(iter(r))]: r for r in rows}
    assert by_id[sec][col] == f"G4 passed by exception: {REASON}"
    assert sum(bool(r[col]) for r in rows) == 1  # only the lead by exception


def test_xlsx_grid_sheet_carries_the_exception(case):
    city, plan, sec = case
    wb = openpyxl.load_workbook(io.BytesIO(formats.xlsx_bytes(city, plan, lang="zh")))
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert "例外及理由" in cells
    assert f"G4 按例外通过：{REASON}" in cells


def test_members_view_shows_the_same_words(case):
    city, plan, sec = case
    table = roster_table(city, plan, lang="zh")
    assert exception_text(table, sec) == f"G4 按例外通过：{REASON}"
    other = str(plan.leads[plan.leads.astype(str) != sec].iloc[0])
    assert exception_text(table, other) == ""
