"""G9 demand read from a city's units (city.demand) by the one definition (rules.g9_demand)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from g9_city import g9_layers

from grid_planning.city.demand import DemandError, demand_figures, find_column, unit_demand
from grid_planning.domain import rules
from grid_planning.domain.request import PlanRequest


def test_the_definition():
    pop, old, burden = np.array([1000.0, 500.0]), np.array([400.0, 50.0]), np.array([10.0, 0.0])
    assert rules.g9_demand(pop).tolist() == [1000.0, 500.0]
    assert rules.g9_demand(pop, old, age_weight=1.0).tolist() == [1400.0, 550.0]
    assert rules.g9_demand(pop, old, burden, age_weight=0.5, burden_weight=2.0).tolist() == [1220.0, 525.0]
    with pytest.raises(ValueError, match="age_weight"):
        rules.g9_demand(pop, age_weight=1.0)
    assert rules.RULES["G9"].predicates == (rules.g9_demand,)


def test_unit_demand_on_the_strip_city():
    city = g9_layers()
    assert unit_demand(city, PlanRequest(k=2)) is city.index.population
    d = unit_demand(city, PlanRequest(k=2, age_weight=1.0))
    ids = list(city.index.unit_ids)
    assert d[ids.index("U000")] == 1400.0 and d[ids.index("U110")] == 1100.0
    d = unit_demand(city, PlanRequest(k=2, burden_column="Chronic", burden_weight=2.0))
    assert d[ids.index("U000")] == 1300.0  # the column found whatever its case
    assert find_column(city.units, " CHRONIC ") == "chronic"


def test_bad_burden_values_are_named():
    city = g9_layers()
    units = city.units.copy()
    units["chronic"] = units["chronic"].astype(object)
    units.loc[units["id"] == "U071", "chronic"] = "n/a"
    units.loc[units["id"] == "U072", "chronic"] = -3
    with pytest.raises(DemandError) as err:
        demand_figures(replace(city, units=units), burden_column="chronic")
    assert err.value.code == "burden_bad_units"
    text = err.value.message("zh")
    assert "U071" in text and "U072" in text and "units.geojson" in text and "chronic" in text


def test_missing_column_message_is_bounded():
    city = g9_layers()
    units = city.units.assign(**{f"extra{i}": 1.0 for i in range(40)})
    with pytest.raises(DemandError) as err:
        demand_figures(replace(city, units=units), burden_column="x" * 500)
    text = err.value.message("en")
    assert "x" * 80 in text and "x" * 81 not in text
    assert "(+25)" in text  # 45 columns: the first 20 listed
