"""District splits (issue 17) wherever a plan's figures go: the city figures, compare (a row per
option), the XLSX summary (per grid and the city row) and the report's cover.

The city is not one built for the plan page: 600 synthetic units with their district in a column
(six vertical strips), planned freely (districts cut) and with every district kept whole.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from grid_planning.assess.metrics import plan_figures
from grid_planning.city.costs import travel_costs
from grid_planning.city.districts import (
    city_districts,
    district_splits,
    grid_split_parts,
    splits_summary,
)
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.formats import xlsx_bytes
from grid_planning.exports.tables import plan_tables
from grid_planning.meeting.compare import metrics_table, plan_option
from grid_planning.planning.districts import plan_whole_districts
from grid_planning.planning.planner import plan_city
from grid_planning.prints.report_pdf import plan_report

REQUEST = PlanRequest(k=3, balance=0.5, cost=CostParams(mode="straight"))


@pytest.fixture(scope="module")
def city():
    base = synthetic_city(600, 60, 8, seed=1)
    x = base.index.points[:, 0]
    strip = np.searchsorted(np.quantile(x, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]), x, side="right")
    return dataclasses.replace(base, units=base.units.assign(district=[f"D{s}" for s in strip]))


@pytest.fixture(scope="module")
def plans(city):
    costs = travel_costs(city, REQUEST.cost)
    free = plan_city(city, REQUEST, costs=costs).plan
    whole = plan_whole_districts(city, REQUEST, city_districts(city)).plan
    assert free is not None and whole is not None
    return costs, free, whole


def _truth(city, plan) -> dict:
    """The splits counted here from the units' district column, not through the code under test."""
    pop = pd.Series(city.index.population, index=city.index.unit_ids)
    frame = pd.DataFrame({"d": city.units.set_index("id")["district"].reindex(plan.assignment.index),
                          "g": plan.assignment, "p": pop.reindex(plan.assignment.index)})
    by = frame.groupby(["d", "g"])["p"].sum()
    cut = [d for d in by.index.get_level_values(0).unique() if len(by[d]) > 1]
    smaller = sum(float(by[d].sum() - by[d].max()) for d in cut)
    return {"cut": len(cut), "smaller": smaller}


def test_city_figures_carry_the_splits(city, plans):
    costs, free, whole = plans
    truth = _truth(city, free)
    assert truth["cut"] > 0
    fig = plan_figures(city, free, costs)
    assert fig.city["districts"] == 6
    assert fig.city["districts_cut"] == truth["cut"]
    assert fig.city["district_smaller_parts"] == pytest.approx(truth["smaller"])
    assert plan_figures(city, whole, costs).city["districts_cut"] == 0


def test_grid_parts_add_up_to_the_plan_figures(city, plans):
    _, free, _ = plans
    districts = city_districts(city)
    pop = pd.Series(city.index.population, index=city.index.unit_ids).reindex(free.assignment.index)
    per = grid_split_parts(free.assignment, districts, pop)
    total = splits_summary(district_splits(free.assignment, districts, pop))
    assert sorted(per.index) == sorted(free.leads.index.astype(str))
    assert per["district_smaller_parts"].sum() == pytest.approx(total["smaller_parts"])
    # each cut district lies in at least two grids: counted once in each
    assert per["districts_cut"].sum() >= 2 * total["cut"]


def test_compare_has_a_row_per_option_for_the_splits(city, plans):
    costs, free, whole = plans
    table = metrics_table([plan_option(city, free, "free", costs), plan_option(city, whole, "whole", costs)], "en")
    rows = {r.key: r for r in table.rows if r.section == "city"}
    truth = _truth(city, free)
    assert rows["districts_cut"].values == (truth["cut"], 0)
    assert rows["districts_cut"].label == "Districts cut by grid lines"
    assert rows["districts_cut"].verdict == (0, 1)  # fewer cut is better
    assert rows["district_smaller_parts"].values[0] == pytest.approx(truth["smaller"])


def test_compare_leaves_the_rows_out_for_a_city_without_districts(plans):
    bare = synthetic_city(200, 30, 6, seed=2)
    plan = plan_city(bare, PlanRequest(k=2, cost=CostParams(mode="straight"))).plan
    table = metrics_table([plan_option(bare, plan, "a"), plan_option(bare, plan, "b")], "en")
    assert not {"districts_cut", "district_smaller_parts"} & {r.key for r in table.rows}
    assert "districts_cut" not in plan_tables(bare, plan).summary.columns


def test_xlsx_summary_has_the_splits_per_grid_and_for_the_city(city, plans):
    costs, free, _ = plans
    tb = plan_tables(city, free, costs, lang="en")
    truth = _truth(city, free)
    total = tb.summary.iloc[-1]
    assert total["districts_cut"] == truth["cut"]
    assert total["district_smaller_parts"] == round(truth["smaller"])
    assert tb.summary.iloc[:-1]["district_smaller_parts"].sum() == pytest.approx(truth["smaller"], abs=len(tb.summary))
    wb = load_workbook(io.BytesIO(xlsx_bytes(city, free, costs, lang="zh", tables=plan_tables(city, free, costs))))
    sheet = wb.worksheets[0]
    header = [c.value for c in sheet[1]]
    col = header.index("被切分的区")
    assert [r[col].value for r in sheet.iter_rows(min_row=sheet.max_row)] == [truth["cut"]]
    assert "被切分区较小部分人口" in header


@pytest.mark.skipif(subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
                    reason="pdftotext not installed")
def test_report_cover_states_the_splits_and_whole_districts(city, plans, tmp_path):
    costs, free, whole = plans
    truth = _truth(city, free)
    for plan, name in ((free, "free"), (whole, "whole")):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(plan_report(city, plan, costs, lang="zh"))
        txt = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
        flat = " ".join(txt.split())
        cut = truth["cut"] if plan is free else 0
        assert "区划切分" in flat
        assert f"6 个区中 {cut} 个被网格切分" in flat
        assert ("每个区完整归入一个网格" in flat) == (plan is whole)
