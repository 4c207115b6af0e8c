"""The sample city's workbook as the one who files it reads it (issue 16): sheet names not cut
mid-word, columns wide enough for their text, residents as whole numbers."""

from __future__ import annotations

import io

import openpyxl
import pytest

from grid_planning.city.costs import travel_costs
from grid_planning.city.provenance import load_sample_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.formats import xlsx_bytes
from grid_planning.exports.tables import grid_sheet_name
from grid_planning.planning.planner import plan_city


@pytest.fixture(scope="module")
def book():
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    plan = plan_city(layers, PlanRequest(k=4, balance=0.1), costs=costs).plan
    return openpyxl.load_workbook(io.BytesIO(xlsx_bytes(layers, plan, costs, lang="zh")))


def test_sheet_names_are_whole(book):
    # Main cut "G1 武汉市中心医院（华中科技大学同济医学院附属武汉中心医院）网格" at 31 characters.
    grids = [ws.title for ws in book.worksheets[1:5]]
    assert grids[0] == "G1 武汉市中心医院" or grids[0].startswith("G1 ") and "（" not in grids[0]
    for name in grids:
        assert "（" not in name and "(" not in name and len(name) <= 31
    assert grid_sheet_name("G9", "某某市某某区第一人民医院（某某大学附属第一医院、某某医学院第一临床学院）网格") == "G9 某某市某某区第一人民医院网格"


def test_residents_are_whole_and_columns_fit(book):
    summary = book.worksheets[0]
    header = [c.value for c in summary[1]]
    col = header.index("常住人口") + 1
    values = [summary.cell(row=r, column=col).value for r in range(2, summary.max_row + 1)]
    assert values and all(float(v) == int(v) for v in values)  # main: 3389183.7
    name_col = header.index("牵头医院") + 1
    letter = summary.cell(row=1, column=name_col).column_letter
    longest = max(len(str(summary.cell(row=r, column=name_col).value or "")) for r in range(2, summary.max_row + 1))
    # main: 10 characters wide for 28-character names
    assert summary.column_dimensions[letter].width >= min(2 * longest, 60) - 0.5
