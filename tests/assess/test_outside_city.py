"""Facilities outside the city (issue 15 item 4): listed as outside, never members or primary
care of a grid and never counted for G5 unless the planner assigns them; the outside tolerance is
a setting, and a lead outside the city's units is reported with its distance."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from grid_planning.assess.checks import check_policy
from grid_planning.assess.roster import RoleChangeError, change_role, grid_roster, roster_table
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain import rules
from grid_planning.domain.request import PlanRequest
from grid_planning.planning.planner import plan_city


def _east_of_city(city, metres: float):
    """A point ``metres`` east of the easternmost unit (square cells: that far from every unit)."""
    units = city.units.to_crs(city.metric_crs)
    b = units.geometry.bounds
    i = int(b["maxx"].to_numpy().argmax())
    x, y = float(b["maxx"].iloc[i]) + metres, float(units.geometry.iloc[i].centroid.y)
    return gpd.GeoSeries(gpd.points_from_xy([x], [y]), crs=city.metric_crs).to_crs(4326).iloc[0]


def _with(city, rows):
    """``city`` with extra facilities: (id, name, level, type, owner_level, beds, metres east)."""
    extra = gpd.GeoDataFrame(
        [
            {"id": fid, "name": name, "level": level, "type": type_, "owner_level": owner,
             "beds": beds, "source": "illustrative", "level_source": "data"}
            for fid, name, level, type_, owner, beds, _m in rows
        ],
        geometry=[_east_of_city(city, m) for *_r, m in rows],
        crs=4326,
    )
    extra["lon"], extra["lat"] = extra.geometry.x, extra.geometry.y
    fac = pd.concat([city.facilities, extra[city.facilities.columns]], ignore_index=True)
    return city.with_facilities(gpd.GeoDataFrame(fac, geometry="geometry", crs=4326))


@pytest.fixture(scope="module")
def city():
    base = synthetic_city(200, 40, 6, seed=3)
    return _with(
        base,
        [
            ("X_HOSP", "邻市二级医院", "secondary", "general", "municipal", 300.0, 3000.0),
            ("X_CHC", "邻市社区卫生服务中心", "primary", "community_health_center", "district", 20.0, 2500.0),
            ("X_LEAD", "边界三级医院", "tertiary", "general", "municipal", 900.0, 300.0),
        ],
    )


@pytest.fixture(scope="module")
def planned(city):
    res = plan_city(city, PlanRequest(k=2, fixed_leads=("X_LEAD",)))
    assert res.ok, res.infeasible
    return res.plan


def test_outside_facilities_are_listed_as_outside(city, planned):
    roles = planned.roles
    for fid in ("X_HOSP", "X_CHC"):
        assert roles.at[fid, "role"] == "outside" and roles.at[fid, "grid_id"] == ""
    for ros in grid_roster(city, planned).values():
        listed = {r["id"] for recs in ros["members"].values() for r in recs}
        listed |= {r["id"] for r in ros["primary"] + ros["cross_grid"] + ros["collaborators"]}
        assert not listed & {"X_HOSP", "X_CHC"}
    table = roster_table(city, planned, lang="en").set_index("id")
    assert table.at["X_HOSP", "role_text"] == "outside the city"
    assert roster_table(city, planned, lang="zh").set_index("id").at["X_CHC", "role_text"] == "城市范围外"
    # the lead within the tolerance leads, inside the city for the rules
    assert roles.at["X_LEAD", "role"] == "lead"


def test_assigned_by_the_planner_it_joins_the_nearest_grid_but_not_g5(city, planned):
    home = str(planned.roles.at["X_HOSP", "home_grid"])
    g5_before = [c for c in check_policy(city, planned) if c.rule == "G5" and c.grid_id == home]
    assigned = change_role(city, planned, "X_HOSP", "member")
    assert assigned.roles.at["X_HOSP", "grid_id"] == home
    member_ids = {r["id"] for recs in grid_roster(city, assigned)[home]["members"].values() for r in recs}
    assert "X_HOSP" in member_ids
    g5_after = [c for c in check_policy(city, assigned) if c.rule == "G5" and c.grid_id == home]
    assert [(c.status, c.params.get("count")) for c in g5_after] == [
        (c.status, c.params.get("count")) for c in g5_before
    ]
    back = change_role(city, assigned, "X_HOSP", "outside")
    assert back.roles.at["X_HOSP", "role"] == "outside"
    inside = str(city.facilities.loc[city.facilities["type"] == "general", "id"].iloc[-4])
    with pytest.raises(RoleChangeError) as err:
        change_role(city, planned, inside, "outside")
    assert err.value.key in ("plan.role_error.not_outside", "plan.role_error.lead_steps_down")


def test_a_lead_just_outside_is_reported_with_its_distance(city, planned):
    g4 = [c for c in check_policy(city, planned) if c.rule == "G4" and c.params["lead"] == "X_LEAD"]
    assert [(c.status, c.code) for c in g4] == [("warning", "g4_near_boundary")]
    assert "300 m outside the city" in g4[0].message("en") and "500 m" in g4[0].message("en")
    assert "300 米" in g4[0].message("zh")
    # the other lead lies inside: a plain pass
    others = [c for c in check_policy(city, planned) if c.rule == "G4" and c.params["lead"] != "X_LEAD"]
    assert [c.code for c in others] == ["g4_ok"]


def test_the_tolerance_is_a_setting(city, planned, monkeypatch):
    assert rules.outside_city_m() == rules.OUTSIDE_CITY_M == 500.0
    monkeypatch.setenv("GRID_PLANNER_OUTSIDE_CITY_M", "200")
    assert rules.outside_city_m() == 200.0
    g4 = [c for c in check_policy(city, planned) if c.rule == "G4" and c.params["lead"] == "X_LEAD"]
    assert [c.status for c in g4] == ["fail"]
    assert "lies 300 m outside the city (tolerance 200 m)" in g4[0].message("en")
    monkeypatch.setenv("GRID_PLANNER_OUTSIDE_CITY_M", "-5")
    with pytest.raises(ValueError, match="outside_city_m"):
        rules.outside_city_m()


def test_the_nearest_grids_roster_lists_them_as_outside(city, planned):
    home = str(planned.roles.at["X_HOSP", "home_grid"])
    assert {r["id"] for r in grid_roster(city, planned)[home]["outside"]} == {"X_HOSP", "X_CHC"}
