"""The plan page offers a hospital made eligible by a what-if edit in the designation picker (a G4
exception with a written reason), not under "fixed leads" (issue 15); designated there, the plan
carries the reason into ``check`` and the roster."""

from __future__ import annotations

import pytest

from grid_planning.assess.checks import check_policy
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import PlanRequest
from grid_planning.session import plan_page as pp
from grid_planning.session.workspace import Workspace

REASON = "区卫健委已批准该院按三级综合医院建设"


@pytest.fixture(scope="module")
def city():
    return synthetic_city(200, 40, 6, seed=3)


@pytest.fixture()
def upgraded(city):
    """A workspace where a secondary district hospital is made a municipal tertiary one."""
    fac = city.facilities
    sec = str(fac.loc[(fac["level"] == "secondary") & (fac["type"] == "general"), "id"].iloc[0])
    ws = Workspace(city, request=PlanRequest(k=2))
    ws.modify_facility(sec, level="tertiary", owner_level="municipal")
    return ws, sec


def test_without_edits_the_lists_are_the_rules_lists(city):
    assert pp.whatif_leads(city, city) == set()
    assert pp.fixed_choices(city, city, "zh") == pp.choices(city, "elig", "zh")
    assert pp.designation_choices(city, city, "en") == pp.choices(city, "designatable", "en")


def test_an_upgraded_hospital_is_offered_for_designation_not_as_fixed_lead(upgraded):
    ws, sec = upgraded
    layers = ws.effective_layers()
    assert pp.whatif_leads(ws.layers, layers) == {sec}
    # the rule's list alone offers it as eligible (what the page showed before)
    assert sec in pp.choices(layers, "elig", "en")
    assert sec not in pp.fixed_choices(ws.layers, layers, "en")
    labels = pp.designation_choices(ws.layers, layers, "en")
    assert sec in labels and "what-if edit" in labels[sec]
    assert "假设情景" in pp.designation_choices(ws.layers, layers, "zh")[sec]
    # every hospital eligible by the data is still a fixed-lead choice
    others = set(pp.choices(layers, "elig", "en")) - {sec}
    assert others == set(pp.fixed_choices(ws.layers, layers, "en"))


def test_designated_from_the_picker_it_leads_with_its_reason(upgraded):
    ws, sec = upgraded
    ws.set_request(designated_leads=pp.with_exception(ws.request.designated_leads, sec, REASON),
                   fixed_leads=(sec,))
    result = ws.run()
    assert result.ok, result.infeasible
    assert sec in set(ws.plan.leads.astype(str))
    g4 = [c for c in check_policy(ws.layers, ws.plan)
          if c.rule == "G4" and c.params.get("lead") == sec]
    assert [c.status for c in g4] == ["exception"] and REASON in g4[0].message("zh")
    rows = pp.exception_rows(ws.request, pp.designation_choices(ws.layers, ws.effective_layers(), "zh"))
    assert [(r.rule, r.facility_id, r.reason) for r in rows] == [("G4", sec, REASON)]
