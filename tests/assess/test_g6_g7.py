"""G6 (primary care belongs to the grid it lies in) and G7 (maternal-child, public-health,
rehabilitation and nursing institutions keep a home grid and may serve others) pass or fail in
``check`` where the data holds such facilities, and say "no content" otherwise (issue 15)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plan_fixtures import make_layers, make_plan

from grid_planning.assess.checks import all_passed, check_policy
from grid_planning.assess.roster import rehome


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def plan():
    return make_plan()


def rule(results, rid):
    found = [r for r in results if r.rule == rid]
    assert len(found) == 1, found
    return found[0]


def test_the_hand_plan_keeps_g6_and_g7(city, plan):
    res = check_policy(city, plan)
    g6, g7 = rule(res, "G6"), rule(res, "G7")
    assert (g6.status, g6.code, g6.params["count"], g6.params["grids"]) == ("pass", "g6_ok", 2, 2)
    # F4 (rehabilitation) and F8 (maternal-child) both serve G1 besides their home G2
    assert (g7.status, g7.code, g7.params["count"], g7.params["serving"]) == ("pass", "g7_ok", 2, 2)
    assert "2 primary-care facilities" in g6.message("en") and "跨网格" in g7.message("zh")
    assert all_passed(res)


def test_primary_care_in_another_grid_fails_g6(city, plan):
    roles = plan.roles.copy()
    roles.loc["F5", "grid_id"] = "G2"  # F5 lies in U11, a unit of G1
    g6 = rule(check_policy(city, replace(plan, roles=roles)), "G6")
    assert g6.status == "fail" and g6.params["ids"] == ["F5"] and "社区中心甲" in g6.message("en")


def test_units_moved_without_the_roles_fail_g6_until_rehomed(city, plan):
    a = plan.assignment.copy()
    a["U11"] = "G2"  # F5's unit joins G2 (G1 stays in one piece), its role still says G1
    moved = plan.with_assignment(a)
    assert rule(check_policy(city, moved), "G6").status == "fail"
    assert rule(check_policy(city, rehome(city, moved)), "G6").status == "pass"


@pytest.mark.parametrize(
    ("fid", "column", "value"),
    [
        ("F4", "supports", "G2,G9"),  # a grid the plan does not have
        ("F4", "supports", "G1"),  # not its own home grid
        ("F8", "grid_id", "G1"),  # home is where it lies: G2
        ("F8", "role", "primary"),
    ],
)
def test_cross_grid_institutions_out_of_place_fail_g7(city, plan, fid, column, value):
    roles = plan.roles.copy()
    roles.loc[fid, column] = value
    res = check_policy(city, replace(plan, roles=roles))
    g7 = rule(res, "G7")
    assert g7.status == "fail" and g7.params["ids"] == [fid] and not all_passed(res)


def test_a_collaborator_by_the_planners_choice_is_not_a_g7_breach(city, plan):
    roles = plan.roles.copy()
    roles.loc["F4", ["grid_id", "role", "supports"]] = ["", "collaborator", "G2"]
    assert rule(check_policy(city, replace(plan, roles=roles)), "G7").status == "pass"


def test_no_content_without_such_facilities(city, plan):
    fac = city.facilities[~city.facilities["id"].isin(["F4", "F5", "F6", "F8"])]
    roles = plan.roles.drop(index=["F4", "F5", "F6", "F8"])
    res = check_policy(replace(city, facilities=fac), replace(plan, roles=roles))
    for rid in ("G6", "G7"):
        r = rule(res, rid)
        assert (r.status, r.code) == ("pass", f"{rid.lower()}_none")
        assert "no content" in r.message("en") and "无可检查内容" in r.message("zh")
