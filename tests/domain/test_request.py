"""One plan request: one versioned save (PlanRequest.to_dict) and one load (from_dict /
request_from_plan), reading what older versions wrote: plan files and scenario stores."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from grid_planning.domain.plan import FacilityEdit, Plan, PolicyException
from grid_planning.domain.request import (
    REQUEST_PARAM,
    REQUEST_VERSION,
    CostParams,
    Infeasible,
    PlanRequest,
    balance_band,
    balance_deviation,
    max_balance_deviation,
    request_from_plan,
    with_request,
)

FULL = PlanRequest(
    k=3,
    fixed_leads=("F0001",),
    excluded_leads=("F0004", "F0009"),
    designated_leads=(("F0016", "全市唯一胸痛中心"),),
    g5_waivers=(("F0001", "新建院区"), ("F0003", "康复院区在建")),
    g2_reason=None,
    balance=0.25,
    min_beds_per_1000=2.5,
    locks=(("U1", "F0001"),),
    cost=CostParams(mode="straight", detour=1.5, speed_kmh=25.0, road_speeds=(("primary", 40.0),),
                    snap_m=5.0),
    edits=(FacilityEdit("close", "F0009"),),
    method="exact",
    age_weight=1.5,
    burden_column="慢病患者",
    burden_weight=0.5,
)


def _plan(params: dict, exceptions=()) -> Plan:
    return Plan(
        assignment=pd.Series({"U1": "G1", "U2": "G2"}, dtype=object),
        leads=pd.Series({"G1": "F0001", "G2": "F0003"}, dtype=object),
        roles=pd.DataFrame(columns=["grid_id", "role", "home_grid", "supports"]),
        exceptions=tuple(exceptions),
        params=tuple(params.items()),
    )


def test_round_trip_through_json_keeps_every_field_but_the_edits():
    data = json.loads(json.dumps(FULL.to_dict(), ensure_ascii=False))
    assert data["version"] == REQUEST_VERSION
    # one shape for pairs, everywhere
    assert data["designated_leads"] == [["F0016", "全市唯一胸痛中心"]]
    assert data["locks"] == [["U1", "F0001"]]
    back = PlanRequest.from_dict(data)
    assert back == replace(FULL, edits=())  # edits travel with the plan
    assert PlanRequest.from_dict(data, base=PlanRequest(k=9, edits=FULL.edits)) == FULL


def test_g9_weights_saved_and_a_file_without_them_reads_as_residents_only():
    data = FULL.to_dict()
    assert (data["age_weight"], data["burden_column"], data["burden_weight"]) == (1.5, "慢病患者", 0.5)
    # a request saved before G9 (no weights) plans by residents
    old = {k: v for k, v in data.items() if k not in ("age_weight", "burden_column", "burden_weight")}
    back = PlanRequest.from_dict(old)
    assert (back.age_weight, back.burden_column, back.burden_weight) == (0.0, None, 0.0)
    with pytest.raises(ValueError):
        PlanRequest.from_dict(data | {"age_weight": "heavy"})


def test_a_newer_version_or_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="newer"):
        PlanRequest.from_dict(FULL.to_dict() | {"version": REQUEST_VERSION + 1})
    with pytest.raises(ValueError, match="pairs"):
        PlanRequest.from_dict(FULL.to_dict() | {"g5_waivers": ["F0001"]})
    with pytest.raises(ValueError):
        PlanRequest.from_dict(FULL.to_dict() | {"balance": "a lot"})
    with pytest.raises(ValueError):
        CostParams.from_dict({"detour": -1})


def test_cost_params_read_both_shapes():
    cost = FULL.cost
    assert CostParams.from_dict(cost.to_dict()) == cost
    # the summary the planner keeps in params["cost"] (road speeds as a mapping, mode_used)
    legacy = cost.as_dict() | {"mode_used": "straight"}
    # as_dict lacks snap_m and the default road speed: they take their defaults
    assert CostParams.from_dict(legacy) == replace(cost, snap_m=3.0)


def test_with_request_is_the_one_save_and_replaces_the_old_key():
    plan = _plan({"k": 2, "workspace_request": {"k": 5}})
    saved = with_request(plan, FULL)
    assert "workspace_request" not in saved.param_map
    assert saved.param_map[REQUEST_PARAM] == FULL.to_dict()
    assert request_from_plan(saved) == replace(FULL, edits=())


def test_old_workspace_request_loads():
    # what Workspace.save wrote before the request had a version
    legacy = {"k": 3, "balance": 0.3, "min_beds_per_1000": None, "fixed_leads": ["F0001"],
              "excluded_leads": [], "designated_leads": [["F0016", "理由"]], "g5_waivers": [],
              "g2_reason": None, "cost_mode": "straight"}
    plan = _plan({"k": 3, "cost": CostParams().as_dict() | {"mode_used": "roads"},
                  "workspace_request": legacy, "designated_leads": ["F0016"]},
                 [PolicyException("G5", "F0003", "记录的豁免")])
    req = request_from_plan(plan)
    assert (req.k, req.balance, req.fixed_leads) == (3, 0.3, ("F0001",))
    assert req.designated_leads == (("F0016", "理由"),)
    assert req.g5_waivers == ()  # the saved request said none, whatever the plan recorded
    assert req.cost.mode == "straight"


def test_old_planner_parameters_load_with_reasons_from_the_exceptions():
    # what the planner wrote before: designations as bare ids, the reasons on the plan
    params = {"k": 2, "balance": None, "cost_mode": "straight",
              "cost": CostParams(mode="auto").as_dict() | {"mode_used": "straight"},
              "method": "exact-mip", "fixed_leads": ["F0001"], "excluded_leads": ["F0004"],
              "designated_leads": ["F0016"], "g2_reason": None}
    plan = _plan(params, [PolicyException("G4", "F0016", "胸痛中心"),
                          PolicyException("G5", "F0003", "在建")])
    req = request_from_plan(plan, PlanRequest(k=7, method="heuristic"))
    assert req.k == 2 and req.fixed_leads == ("F0001",) and req.excluded_leads == ("F0004",)
    assert req.designated_leads == (("F0016", "胸痛中心"),)
    assert req.g5_waivers == (("F0003", "在建"),)
    assert req.cost.mode == "auto" and req.method == "heuristic"  # "exact-mip" is no request method


def test_balance_band_and_deviation():
    assert balance_band(100.0, 0.25) == (75.0, 125.0)
    assert balance_band(100.0, None) == (-np.inf, np.inf)
    pops = np.array([80.0, 120.0, 100.0])
    assert balance_deviation(pops, 100.0).tolist() == pytest.approx([-0.2, 0.2, 0.0])
    assert balance_deviation(150.0, 100.0) == pytest.approx(0.5)
    assert max_balance_deviation(pops, 100.0) == pytest.approx(0.2)
    assert max_balance_deviation(pops, 0.0) == 0.0


# ---- refusals ------------------------------------------------------------------------------------
def test_a_proven_refusal_says_how_when_its_sentence_does_not():
    """The line ``plan`` and the plan page say under a proven refusal: a planar or cross-section
    proof, or an exact one, that the analysis worded as the rules that conflict; never twice, never
    for a refusal not proven."""
    conflict = Infeasible("constraints_conflict", {"proof": "planar"}, proven=True)
    assert conflict.proven_note("zh") == "（依据上述原因，已在地图上证明不存在满足全部要求的方案。）"
    assert conflict.proven_note("en") == "(Proven on the map, for the reason above: no plan meets every requirement.)"
    sections = Infeasible("balance_impossible", {"proof": "sections"}, proven=True)
    assert sections.proven_note("zh") == "（依据上述原因，已按地图的截面证明不存在满足全部要求的方案。）"
    exact = Infeasible("g5_unsatisfiable", {}, proven=True)
    assert exact.proven_note("zh") == "（城市足够小，已用精确求解证明不存在满足全部要求的方案。）"
    # the sentence says it already: no_plan (exact search), its planar wording, counting
    for said in (Infeasible("no_plan", {}, proven=True), Infeasible("no_plan", {"proof": "planar"}, proven=True),
                 Infeasible("g5_too_few", {}, proven=True), Infeasible("balance_unit_too_big", {}, proven=True)):
        assert said.proven_note("zh") is None, said.code
    assert replace(conflict, proven=False).proven_note("zh") is None
    assert Infeasible("not_found", {"seconds": 20}).proven_note("en") is None


def test_named_lists_in_a_refusal_are_labelled_in_the_readers_language():
    """(name, id) pairs in a refusal's values read as 名称（ID）, joined with 、 in Chinese; a
    district with its population the same way."""
    inf = Infeasible("too_few_eligible_outside",
                     {"count": 1, "k": 2, "outside": [("市外医院", "X1"), ("郊县医院", "X2")]})
    assert "（市外医院（X1）、郊县医院（X2））" in inf.message("zh")
    assert "(市外医院 (X1), 郊县医院 (X2))" in inf.message("en")
    big = Infeasible("whole_districts_oversized",
                     {"districts": [("洪山区", "1,200,000")], "cap": "900,000", "balance": "10%"})
    assert "洪山区（1,200,000）的常住人口" in big.message("zh")
    # plain lists stay plain, and one empty list is an empty text
    assert Infeasible("no_plan", {"k": 2, "x": []}).message("zh")
