"""The G9 panel (assess.factors): per grid figures that add up to the city's, the weights stated,
the illustrative mark."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from g9_city import g9_layers

from grid_planning.assess.factors import CITY_ROW, g9_panel, panel_lines, panel_table
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.planner import plan_city


@pytest.fixture(scope="module")
def city():
    return g9_layers()


@pytest.fixture(scope="module")
def plan(city):
    req = PlanRequest(k=2, balance=0.05, cost=CostParams(mode="straight"), age_weight=1.0,
                      burden_column="chronic")
    res = plan_city(city, req)
    assert res.ok, res.infeasible.message("en")
    return res.plan


def test_grids_add_up_to_the_city(city, plan):
    panel = g9_panel(city, plan)
    tab = panel.table
    grids = tab.drop(index=CITY_ROW)
    assert list(grids.index) == list(plan.leads.index)
    for col in ("residents", "pop65", "burden", "demand"):
        assert grids[col].sum() == pytest.approx(tab.loc[CITY_ROW, col])
    assert tab.loc[CITY_ROW, "residents"] == 36_000
    assert tab.loc[CITY_ROW, "pop65"] == 12 * 400 + 24 * 100
    assert tab.loc[CITY_ROW, "burden"] == 12 * 150 + 24 * 50
    assert tab.loc[CITY_ROW, "demand"] == 36_000 + 7_200  # weight 1: residents + residents 65+
    assert grids["demand_share"].sum() == pytest.approx(1.0)
    # the deviation the ±5 % tolerance bounds, from the mean grid's weighted demand
    assert grids["demand_dev"].abs().max() <= 0.05 + 1e-9
    assert grids["demand_dev"].to_numpy() == pytest.approx(grids["demand"].to_numpy() / 21_600 - 1)
    assert np.isnan(tab.loc[CITY_ROW, "demand_dev"])
    assert tab.loc[CITY_ROW, "share65"] == pytest.approx(7_200 / 36_000)
    # the west grid is older than the city, the east younger
    west = plan.leads[plan.leads == "W1"].index[0]
    east = plan.leads[plan.leads == "E1"].index[0]
    assert tab.loc[west, "share65"] > tab.loc[CITY_ROW, "share65"] > tab.loc[east, "share65"]
    assert tab.loc[west, "burden_per_1000"] > tab.loc[east, "burden_per_1000"]
    assert not panel.illustrative and panel.age_complete and panel.weighted


def test_panel_text_states_the_weights(city, plan):
    panel = g9_panel(city, plan)
    zh = "\n".join(panel_lines(panel, "zh"))
    en = "\n".join(panel_lines(panel, "en"))
    assert "年龄权重 1" in zh and "全市" in zh and "36,000" in zh
    assert "age weight 1 " in en and "City" in en
    table = panel_table(panel, "en")
    assert "Burden (chronic)" in table.columns and len(table) == 3


def test_a_plan_without_weights_says_so_and_synthetic_units_are_marked():
    city = synthetic_city(120, 20, 3, seed=2)
    res = plan_city(city, PlanRequest(k=2, cost=CostParams(mode="straight")))
    assert res.ok
    panel = g9_panel(city, res.plan)
    assert panel.illustrative and not panel.weighted
    text = "\n".join(panel_lines(panel, "zh"))
    assert "示意" in text and "未设 G9 权重" in text
    # demand equals residents without weights
    assert np.allclose(panel.table["demand"], panel.table["residents"])


def test_weights_the_layers_cannot_meet_are_reported_not_raised(city, plan):
    bare = replace(city, units=city.units.drop(columns=["pop_65plus", "chronic"]))
    panel = g9_panel(bare, plan)
    assert panel.error is not None and not panel.weighted
    assert "pop_65plus" in "\n".join(panel_lines(panel, "en"))
