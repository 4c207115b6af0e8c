"""The plan page's G9 tab, decided without a browser (session.plan_page)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from g9_city import g9_layers

from grid_planning.city.demand import DemandError
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.planner import plan_city
from grid_planning.session import plan_page as pp


def test_view_choices_and_weights():
    city = g9_layers()
    assert pp.burden_choices(city) == ["chronic"]  # 65+ and population are the units' own figures
    plan = plan_city(city, PlanRequest(k=2, balance=0.05, cost=CostParams(mode="straight"), age_weight=2.0)).plan
    view = pp.g9_view(city, plan, "zh")
    assert view.notes[0] == "本方案的 G9 权重：年龄权重 2（每位 65 岁及以上居民另计 2 人）。"
    assert list(view.table["网格"]) == ["G1", "G2", "全市"]
    assert view.table["加权需求"].iloc[-1] == "50,400"  # 36,000 + 2 x 7,200
    assert pp.g9_weights(city, 1.0, "chronic", 0.5) == {
        "age_weight": 1.0, "burden_column": "chronic", "burden_weight": 0.5}
    assert pp.g9_weights(city, 0.0, None, 3.0)["burden_weight"] == 0.0  # no column, no weight
    bare = g9_layers(city.units.drop(columns="pop_65plus"))
    with pytest.raises(DemandError) as err:
        pp.g9_weights(bare, 1.0, None, 0.0)
    assert "pop_65plus" in err.value.message("en")


def test_balance_note_only_for_a_weighted_balanced_plan():
    city = g9_layers()
    base = PlanRequest(k=2, balance=0.05, cost=CostParams(mode="straight"))
    plain = plan_city(city, base).plan
    assert pp.g9_balance_note(city, plain, "zh") is None
    weighted = plan_city(city, replace(base, age_weight=2.0)).plan
    note = pp.g9_balance_note(city, weighted, "zh")
    assert note.startswith("本方案按 G9 加权需求均衡（年龄权重 2）")
