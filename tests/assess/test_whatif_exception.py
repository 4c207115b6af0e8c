"""A what-if edit that makes a facility eligible to lead (owner, type or level) is a G4 exception
(issue 15 item 2): the planner takes it as a lead only when designated with a written reason,
``check`` shows it "passed by exception" with that reason and fails it without one, and the
roster's role change asks for the reason."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grid_planning.assess.checks import check_policy, whatif_eligible_ids
from grid_planning.assess.roster import RoleChangeError, change_role, roster_table
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.plan import FacilityEdit, apply_facility_edits
from grid_planning.domain.request import PlanRequest
from grid_planning.planning.planner import plan_city

REASON = "区政府已批准升级为三级医院"


@pytest.fixture(scope="module")
def city():
    return synthetic_city(200, 40, 6, seed=3)


@pytest.fixture(scope="module")
def upgraded(city):
    fac = city.facilities
    sec = str(fac.loc[(fac["level"] == "secondary") & (fac["type"] == "general"), "id"].iloc[0])
    edit = FacilityEdit("modify", sec, (("level", "tertiary"), ("owner_level", "municipal")))
    return sec, edit


def test_the_edit_is_what_makes_it_eligible(city, upgraded):
    sec, edit = upgraded
    edited = apply_facility_edits(city.facilities, (edit,))
    assert whatif_eligible_ids(city, edited) == {sec}
    assert whatif_eligible_ids(city, city.facilities) == set()


def test_planner_takes_it_only_designated_and_check_shows_the_reason(city, upgraded):
    sec, edit = upgraded
    plain = plan_city(city, PlanRequest(k=2, fixed_leads=(sec,), edits=(edit,)))
    assert not plain.ok and plain.infeasible.code == "fixed_not_eligible"
    free = plan_city(city, PlanRequest(k=3, edits=(edit,)))  # never chosen on its own
    assert not free.ok or sec not in set(free.plan.leads.astype(str))
    res = plan_city(city, PlanRequest(k=2, designated_leads=((sec, REASON),), edits=(edit,)))
    assert res.ok and sec in set(res.plan.leads.astype(str))
    g4 = [c for c in check_policy(city, res.plan) if c.rule == "G4" and c.params.get("lead") == sec]
    assert [c.status for c in g4] == ["exception"] and g4[0].code == "g4_exception_whatif"
    assert REASON in g4[0].message("zh") and "what-if" in g4[0].message("en")
    # the same plan without its recorded reason fails G4, naming the lead
    bare = replace(res.plan, exceptions=tuple(e for e in res.plan.exceptions if e.rule != "G4"))
    g4 = [c for c in check_policy(city, bare) if c.rule == "G4" and c.params.get("lead") == sec]
    assert [c.status for c in g4] == ["fail"] and g4[0].code == "g4_whatif_no_reason"
    assert sec in g4[0].message("en")


def test_roster_role_change_asks_the_reason(city, upgraded):
    sec, edit = upgraded
    base = plan_city(city, PlanRequest(k=2))
    assert base.ok
    plan = replace(base.plan, edits=(edit,))
    with pytest.raises(RoleChangeError):
        change_role(city, plan, sec, "lead")
    led = change_role(city, plan, sec, "lead", reason=REASON)
    assert led.exception_for("G4", sec).reason == REASON
    g4 = [c for c in check_policy(city, led) if c.rule == "G4" and c.params.get("lead") == sec]
    assert g4 and g4[0].status == "exception"
    row = roster_table(city, led, lang="en").set_index("id").loc[sec]
    assert row["role"] == "lead" and row["exception_text"] == f"G4 passed by exception: {REASON}"
